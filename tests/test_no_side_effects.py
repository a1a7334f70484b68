"""Importing sharpscore and drawing its figures leaves a notebook user's matplotlib backend alone."""

import subprocess
import sys


def test_matplotlib_backend_untouched():
    code = (
        "import matplotlib; matplotlib.use('svg'); "
        "import sharpscore.evaluation.plots, sharpscore.api.overlay, sharpscore.localize.overlay, "
        "sharpscore.api.explain, sharpscore.api.progression_report; "
        "import numpy as np, tempfile, pathlib; "
        "from sharpscore.evaluation.plots import bland_altman_plot; "
        "bland_altman_plot([1, 2, 3], [1, 2, 4], pathlib.Path(tempfile.mkdtemp()) / 'b.png'); "
        "print(matplotlib.get_backend())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "svg"
