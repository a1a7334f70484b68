"""dciodvfy (dicom3tools, Debian package ``dicom3tools``): the standard's IOD checker, used by the
tests when installed (skipped otherwise)."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def dciodvfy_errors(path) -> list[str]:
    """The ``Error`` lines dciodvfy reports for a DICOM file; skips the test without dciodvfy."""
    tool = shutil.which("dciodvfy")
    if tool is None:
        pytest.skip("dciodvfy (dicom3tools) not installed")
    run = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")]
