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


def test_export_writes_a_half_precision_bundle_its_checksums_and_one_registry_entry(tmp_path):
    """`python -m sharpscore.models.export` (into a scratch models folder): float16 weights whose
    sha256 the registry records, the calibration beside them with its own, loadable by path; a
    second export of the same name replaces the entry, and one without a calibration removes the
    stale calibration file rather than leave it to be loaded with other weights."""
    import hashlib
    import json

    import torch

    from sharpscore.models.export import export

    m = models.info("scorer", "default")
    best = tmp_path / "run" / "best.pt"
    best.parent.mkdir()
    ck = torch.load(m.weights, map_location="cpu", weights_only=True)
    torch.save({"model": {k: v.float() if v.is_floating_point() else v for k, v in ck["model"].items()},
                "meta": ck["meta"]}, best)
    shutil.copy(models.calibration_path(m.weights), best.with_name("best.calibration.json"))
    out = export(best, "scorer", "mine", None, "a test export", models_dir=tmp_path / "models")
    registry = json.loads((tmp_path / "models" / "registry.json").read_text())["models"]
    assert [(e["task"], e["name"]) for e in registry] == [("scorer", "mine")]
    assert registry[0]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    cal = out.with_name("scorer-mine.calibration.json")
    assert registry[0]["calibration_sha256"] == hashlib.sha256(cal.read_bytes()).hexdigest()
    weights = torch.load(out, weights_only=True)["model"]
    assert all(v.dtype == torch.float16 for v in weights.values() if v.is_floating_point())
    assert models.load_scorer(out).calibration  # loads by path, with its calibration
    best.with_name("best.calibration.json").unlink()
    export(best, "scorer", "mine", None, "again", models_dir=tmp_path / "models")
    registry = json.loads((tmp_path / "models" / "registry.json").read_text())["models"]
    assert len(registry) == 1 and registry[0]["summary"] == "again" and registry[0]["calibration_sha256"] is None
    assert not cal.exists()
