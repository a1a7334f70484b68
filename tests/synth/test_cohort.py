import json

import numpy as np
import pytest

import sharpscore
from sharpscore import schema
from sharpscore.cli import main
from sharpscore.config import resolve_config
from sharpscore.errors import InputError
from sharpscore.io.labelme import read_labelme
from sharpscore.synth import SynthConfig, generate_cohort, render
from sharpscore.synth.cohort import patient_seeds
from sharpscore.synth.disease import DiseaseModel, patient_total, sample_patient_grades

FAST = ["acquisition.spacing_mm=[0.16, 0.2]"]


def test_cohort_layout_and_csv(tmp_path):
    cfg = resolve_config(SynthConfig, None, ["n=2", "seed=5", "workers=1", *FAST])
    csv_path = generate_cohort(cfg, tmp_path, progress=False)
    rows = schema.read_ra2_csv(csv_path)  # validates every column and range
    assert [r["Patient_ID"] for r in rows] == ["SYN00000", "SYN00001"]
    for row in rows:
        pid = row["Patient_ID"]
        for region in schema.REGIONS:
            image = tmp_path / f"{pid}-{region}.jpg"
            points, size = read_labelme(tmp_path / f"{pid}-{region}.json")
            assert set(points) == set(schema.landmarks(region))
            rg = sharpscore.load_radiograph(image)
            assert size == rg.shape
    assert (tmp_path / "synth_config.yaml").exists()
    # The CSV grades are the grades the images were rendered with.
    seeds = patient_seeds(5, 1)
    grades = sample_patient_grades(np.random.default_rng(seeds["disease"]), cfg.disease)
    _, records = schema.ra2_row_to_records(rows[1])
    for rec in records:
        assert grades[rec.region][rec.site] == {"erosion": rec.erosion, "jsn": rec.jsn}


def test_same_seed_byte_identical(tmp_path):
    for sub in ("a", "b"):
        cfg = resolve_config(SynthConfig, None, ["n=2", "seed=9", "regions=[RH, LF]", *FAST])
        generate_cohort(cfg, tmp_path / sub, progress=False)
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_dicom_round_trip(tmp_path):
    cfg = resolve_config(SynthConfig, None, ["n=1", "seed=2", "format=dicom", "workers=1", *FAST])
    generate_cohort(cfg, tmp_path, progress=False)
    seeds = patient_seeds(2, 0)
    grades = sample_patient_grades(np.random.default_rng(seeds["disease"]), cfg.disease)
    photometrics = set()
    for region in schema.REGIONS:
        rg = sharpscore.load_radiograph(tmp_path / f"SYN00000-{region}.dcm")
        ref = render(region, grades[region], seed=seeds[region], person_seed=seeds[schema.region_kind(region)],
                     acquisition=cfg.acquisition).radiograph
        assert rg.spacing_mm == pytest.approx(ref.spacing_mm, abs=1e-5)
        assert rg.laterality == region[0] and rg.body_part == schema.region_kind(region)
        assert np.abs(rg.pixels - ref.pixels).max() < 1.5 / 4095  # 12-bit, bone bright either photometric
        photometrics.add(rg.metadata["photometric"])
        assert rg.metadata["bits_stored"] == 12 and "PatientID" not in rg.metadata
    assert photometrics <= {"MONOCHROME1", "MONOCHROME2"}


def test_never_overwrites_a_cohort(tmp_path):
    cfg = resolve_config(SynthConfig, None, ["n=1", "regions=[RF]", *FAST])
    generate_cohort(cfg, tmp_path, progress=False)
    before = (tmp_path / "training.csv").read_bytes()
    with pytest.raises(InputError, match="already holds a cohort"):
        generate_cohort(cfg.model_copy(update={"seed": 1}), tmp_path, progress=False)
    assert (tmp_path / "training.csv").read_bytes() == before


def test_cli_synth(tmp_path, capsys):
    assert main(["synth", "--config", "configs/synth.yaml", "--out", str(tmp_path / "c"), "n=1",
                 "regions=[LH]", "--quiet", *FAST]) == 0
    assert "wrote 1 patients" in capsys.readouterr().out
    assert main(["synth", "--out", str(tmp_path / "d"), "n=0"]) == 2
    assert main(["synth", "--out", str(tmp_path / "d"), "bogus=1"]) == 2


def test_disease_mix_like_real_cohorts():
    rng = np.random.default_rng(0)
    patients = [sample_patient_grades(rng, DiseaseModel()) for _ in range(1500)]
    totals = np.array([patient_total(p) for p in patients])
    assert 2 <= np.median(totals) < 10  # RA2-DREAM: median total SvdH in the single digits
    assert 0.01 < np.mean(totals > 100) < 0.10  # a few severe patients
    joints = [g for p in patients for r in p.values() for s in r.values() for g in s.values() if g is not None]
    assert np.mean(np.array(joints) == 0) > 0.8  # most joints are 0
    left = [sum(v or 0 for s in p["LH"].values() for v in s.values()) for p in patients]
    right = [sum(v or 0 for s in p["RH"].values() for v in s.values()) for p in patients]
    assert np.corrcoef(left, right)[0, 1] > 0.7  # symmetric disease


def test_shape_model_matches_shared_landmarks():
    from shared_data import shared_path
    from sharpscore.synth.shape_model import fit_shape_model, load_shape_model

    folder = shared_path("ra2-landmarks")
    for kind, sub in (("hand", "hands"), ("foot", "feet")):
        fitted, shipped = fit_shape_model(folder / sub, kind), load_shape_model(kind)
        assert fitted.n_shapes == shipped.n_shapes
        assert np.abs(fitted.mean - shipped.mean).max() < 0.01
        assert np.allclose(fitted.std, shipped.std, atol=1e-3)


def test_shipped_shape_model_is_small_and_has_provenance():
    from sharpscore.synth import shape_model

    path = shape_model._JSON
    assert path.stat().st_size < 20_000
    assert "RA2_alpine_lads" in json.loads(path.read_text())["provenance"]
