import json
import subprocess
import sys

import numpy as np
from PIL import Image

from sharpscore.cli import main
from sharpscore.io.dicom_write import write_dicom


def test_info_prints_what_was_understood(tmp_path, capsys):
    path = write_dicom(tmp_path / "h.dcm", np.full((40, 30), 0.5, np.float32), spacing_mm=0.1,
                       body_part="hand", laterality="R", photometric="MONOCHROME1")
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "dicom" and info["spacing_mm"] == [0.1, 0.1]
    assert info["body_part"] == "hand" and info["laterality"] == "R"
    assert info["photometric"] == "MONOCHROME1" and info["transfer_syntax"] == "Explicit VR Little Endian"
    assert main(["info", str(path)]) == 0
    assert "spacing_mm" in capsys.readouterr().out


def test_info_bad_input_is_one_line_and_nonzero(tmp_path):
    bad = tmp_path / "x.txt"
    bad.write_text("hello")
    proc = subprocess.run([sys.executable, "-m", "sharpscore.cli", "info", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("sharpscore: error:") and "unknown format" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_info_png(tmp_path, capsys):
    Image.fromarray(np.zeros((20, 10), np.uint8)).save(tmp_path / "a.png")
    assert main(["info", str(tmp_path / "a.png")]) == 0
    assert "unknown" in capsys.readouterr().out  # spacing unknown for PNG
