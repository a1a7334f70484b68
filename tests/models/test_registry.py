"""The shipped model registry: every bundle verifies, a tampered file is refused, `models --verify`."""

import shutil

import pytest

from sharpscore import models
from sharpscore.cli import main
from sharpscore.errors import ModelError


def test_every_shipped_bundle_verifies_and_has_a_card():
    shipped = models.available()
    assert {f"{m.task}/{m.name}" for m in shipped} >= {"scorer/default", "localizer/default", "scorer/phantom"}
    total = 0
    for m in shipped:
        models.verify(m.weights, m.sha256)
        if m.calibration_sha256:
            models.verify(models.calibration_path(m.weights), m.calibration_sha256)
        assert m.card is not None and m.card.exists() and "never" in m.card.read_text().lower()
        total += m.weights.stat().st_size
    assert total < 30e6  # bundled weights stay under ~30 MB


def test_a_tampered_file_is_refused(tmp_path):
    m = models.info("localizer")
    copy = tmp_path / m.weights.name
    shutil.copy(m.weights, copy)
    with copy.open("r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelError, match="checksum mismatch"):
        models.verify(copy, m.sha256)


def test_cli_models_verify(capsys):
    assert main(["models", "--verify"]) == 0
    out = capsys.readouterr().out
    assert out.count("[sha256 ok]") == len(models.available())
