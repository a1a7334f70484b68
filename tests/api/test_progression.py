"""Progression between visits: change, SDC, review images, mismatches refused."""

import csv
import json

import numpy as np
import pytest

import sharpscore
from sharpscore.cli import main
from sharpscore.errors import VisitMismatchError
from sharpscore.io.dicom_write import write_dicom
from sharpscore.synth import render

BASE = {"mcp2": (1, 0), "mcp3": (0, 1)}
FOLLOW = {"mcp2": (3, 1), "mcp3": (1, 2), "pip3": (2, 0)}  # +7 units


@pytest.fixture(scope="module")
def visits():
    return {"base": render("RH", BASE, seed=1, person_seed=42, spacing_mm=0.12).radiograph,
            "same": render("RH", BASE, seed=2, person_seed=42, spacing_mm=0.13).radiograph,
            "follow": render("RH", FOLLOW, seed=3, person_seed=42, spacing_mm=0.12).radiograph}


def test_progression_found_with_its_joints_and_report(scorer, visits, tmp_path):
    prog = sharpscore.score_progression(visits["base"], visits["follow"], scorer=scorer)
    assert prog.progressed and prog.p_progression > 0.95
    assert prog.total_change == pytest.approx(7, abs=1.5)
    lo, hi = prog.interval
    assert lo < prog.total_change < hi and prog.sdc > 0
    mcp2 = prog.joint("RH", "mcp2")
    assert mcp2.erosion_change == pytest.approx(2, abs=0.7) and mcp2.jsn_change == pytest.approx(1, abs=0.6)
    assert mcp2.jsw_change_mm is not None and mcp2.jsw_change_mm < -0.2  # the gap narrowed
    assert sum(mcp2.erosion_change_probs.values()) == pytest.approx(1, abs=1e-6)
    assert abs(prog.joint("RH", "pip5").total_change) < 0.5
    out = prog.save_report(tmp_path / "rep")
    doc = json.loads((out / "progression.json").read_text())
    assert doc["progressed"] is True and len(doc["joints"]) == 22
    rows = list(csv.DictReader((out / "joint_changes.csv").open()))
    assert {r["site"] for r in rows} >= {"mcp2", "radcar"}
    assert (out / "change_map.png").exists() and (out / "review_RH_mcp2.png").exists()
    assert not (out / "review_RH_pip5.png").exists()


def test_unchanged_disease_is_not_progression(scorer, visits):
    prog = sharpscore.score_progression(visits["base"], visits["same"], scorer=scorer)
    assert abs(prog.total_change) < 1.0 and not prog.progressed and prog.p_progression < 0.5


def test_mismatched_visits_are_refused(scorer, visits, tmp_path):
    left = render("LH", BASE, seed=4, person_seed=42, spacing_mm=0.12).radiograph
    with pytest.raises(VisitMismatchError, match="not the same region"):
        sharpscore.score_progression(visits["base"], left, scorer=scorer)
    with pytest.raises(VisitMismatchError, match="given as LF"):
        sharpscore.score_progression({"LF": visits["base"]}, {"RH": visits["follow"]}, scorer=scorer)
    paths = []
    for i, (key, pid) in enumerate((("base", "P1"), ("follow", "P2"))):
        px = (visits[key].pixels * 4095).astype(np.uint16)
        paths.append(write_dicom(tmp_path / f"{i}.dcm", px, spacing_mm=visits[key].spacing_mm, patient_id=pid))
    with pytest.raises(VisitMismatchError, match="different patients"):
        sharpscore.score_progression(paths[0], paths[1], scorer=scorer)


def test_cli_progress_with_visit_folders(visits, tmp_path, capsys):
    from PIL import Image

    for name, key in (("v1", "base"), ("v2", "follow")):
        (tmp_path / name).mkdir()
        Image.fromarray((visits[key].pixels * 65535).astype(np.uint16)).save(tmp_path / name / "P7-RH.png")
    # PNG carries no spacing: it is estimated from the anatomy
    assert main(["progress", str(tmp_path / "v1"), str(tmp_path / "v2"), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "SvdH change +" in out and "progressed" in out
    assert (tmp_path / "o" / "progression.json").exists()
    # an earlier report is never replaced silently
    assert main(["progress", str(tmp_path / "v1"), str(tmp_path / "v2"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "earlier progression report" in err and len(err.strip().splitlines()) == 1


def test_longitudinal_dicom_folder_ordered_by_study_date(tmp_path, capsys):
    """`sharpscore synth --longitudinal` writes two visits; one patient's DICOMs of both visits in one
    folder are told apart and ordered by StudyDate."""
    import shutil

    assert main(["synth", "--longitudinal", "--out", str(tmp_path / "c"), "n=1", "seed=3", "regions=[RH]",
                 "format=dicom", "mean_steps=6", "p_stable=0", "--quiet"]) == 0
    change = int((tmp_path / "c" / "changes.csv").read_text().splitlines()[1].split(",")[-1])
    assert change >= 1
    both = tmp_path / "both"
    both.mkdir()
    for v in (1, 2):
        shutil.copy(tmp_path / "c" / f"visit{v}" / "L00000-RH.dcm", both / f"v{v}.dcm")
    assert main(["progress", str(both), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "baseline 20200101 (1 films), follow-up 20210101 (1 films)" in out
    doc = json.loads((tmp_path / "o" / "progression.json").read_text())
    assert doc["total_change"] == pytest.approx(change, abs=2.0)


def test_cohort_folder_one_report_per_patient_under_pseudonyms(tmp_path, capsys):
    import csv
    import shutil

    assert main(["synth", "--longitudinal", "--out", str(tmp_path / "c"), "n=2", "seed=4", "regions=[RH]",
                 "format=dicom", "--quiet"]) == 0
    both = tmp_path / "archive"
    both.mkdir()
    for v in (1, 2):
        for p in (tmp_path / "c" / f"visit{v}").glob("*.dcm"):
            shutil.copy(p, both / f"v{v}-{p.name}")
    assert main(["progress", str(both), "--out", str(tmp_path / "o")]) == 0
    assert "2 patients compared" in capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "o" / "progression.csv").open()))
    assert len(rows) == 2 and all(r["patient"].startswith("anon-") and r["error"] == "" for r in rows)
    assert all((tmp_path / "o" / r["patient"] / "progression.json").exists() for r in rows)
    for f in (tmp_path / "o").rglob("*"):
        if f.is_file() and f.name != ".pseudonym-salt":
            assert b"L00000" not in f.read_bytes() and b"L00001" not in f.read_bytes(), f


def test_rescore_reads_the_same_film_at_moved_landmarks(scorer, visits):
    res = scorer.score(visits["base"])
    same = scorer.rescore(res, {})
    assert same.total == pytest.approx(res.total, abs=1e-6) and same.flags == res.flags
    x, y, c = res.landmarks["mcp2"]
    off = 6.0 / res.spacing_mm[0]  # 6 mm along the row: the crop leaves the joint
    moved = scorer.rescore(res, {"mcp2": (x + off, y, c)})
    assert moved.landmarks["mcp2"][:2] == (x + off, y) and moved.landmarks["mcp3"] == res.landmarks["mcp3"]
    assert abs(moved.joint("mcp2").erosion - res.joint("mcp2").erosion) > 0.05
    assert moved.joint("pip5").erosion == pytest.approx(res.joint("pip5").erosion, abs=1e-6)
    assert scorer.rescore(res, {"mcp2": (x + off, y)}).landmarks["mcp2"] == (x + off, y, 1.0)  # a reader's point
    with pytest.raises(sharpscore.errors.InputError, match="not landmarks"):
        scorer.rescore(res, {"mtp1": (1.0, 1.0, 1.0)})
    with pytest.raises(sharpscore.errors.InputError, match="must be finite"):
        scorer.rescore(res, {"mcp2": (float("nan"), 1.0)})
    res.location = None  # e.g. read back from JSON: no film, no localisation
    with pytest.raises(sharpscore.errors.InputError, match="scored in this session"):
        scorer.rescore(res, {})


def test_paired_landmarks_put_both_visits_on_one_position(scorer, visits):
    from sharpscore.api.progression import paired_landmarks

    base = scorer.score(visits["base"])
    follow = scorer.score(visits["same"])
    # the follow-up's localiser went wrong at pip3 (7 mm off) and is unsure there
    x, y, _ = follow.landmarks["pip3"]
    follow.landmarks["pip3"] = (x + 7.0 / follow.spacing_mm[0], y, 0.4)
    lb, lf, apart = paired_landmarks(base, follow)
    assert list(apart) == ["pip3"] and apart["pip3"] == pytest.approx(7.0, abs=1.0)
    # both visits are read where the surer visit (the baseline) put it
    assert np.allclose(lb["pip3"][:2], base.landmarks["pip3"][:2], atol=1e-6)
    assert np.hypot(*np.subtract(lf["pip3"][:2], follow.landmarks["pip3"][:2])) * follow.spacing_mm[0] \
        == pytest.approx(7.0, abs=1.0)
    # a joint both found close together is read where the baseline found it, in both visits
    for site in ("mcp2", "pip4"):
        assert lb[site] == base.landmarks[site]
        assert np.hypot(*np.subtract(lf[site][:2], follow.landmarks[site][:2])) * follow.spacing_mm[0] < 2.0
    # where the baseline is the less sure one, both take the follow-up's position
    base.landmarks["pip3"] = (*base.landmarks["pip3"][:2], 0.2)
    lb2, lf2, _ = paired_landmarks(base, follow)
    assert np.allclose(lf2["pip3"][:2], follow.landmarks["pip3"][:2], atol=1e-6) and lb2["pip3"][2] == 0.4


def test_a_localisation_that_differs_between_visits_is_not_change(scorer, visits):
    base = scorer.score(visits["base"])
    follow = scorer.score(visits["same"])
    # move the follow-up's radius site 12 mm into the shaft: read as it is, its crop changes
    x, y, c = follow.landmarks["radius"]
    follow_off = scorer.rescore(follow, {"radius": (x, y + 12.0 / follow.spacing_mm[0], 0.3)})
    unpaired = sharpscore.api.progression.compare_visits({"RH": base}, {"RH": follow_off},
                                                          retest=sharpscore.api.progression.retest_model("default"))
    prog = sharpscore.score_progression(base, follow_off, scorer=scorer)
    assert any(f.startswith("paired_landmark:radius") for f in prog.flags)
    change = prog.joint("RH", "radius").erosion_change
    assert abs(change) < 0.2 and abs(change) <= abs(unpaired.joint("RH", "radius").erosion_change) + 1e-9
    assert abs(prog.total_change) < 1.0
    # results that cannot be read again are compared as they are
    base.location = None
    kept = sharpscore.score_progression(base, follow_off, scorer=scorer)
    assert not any(f.startswith("paired_landmark") for f in kept.flags)
    assert "read_unpaired:RH" in kept.flags and kept.needs_review  # its SDC was measured on paired readings
    assert kept.total_change == pytest.approx(unpaired.total_change, abs=1e-9)
    asked = sharpscore.score_progression(visits["base"], visits["same"], scorer=scorer, paired=False)
    assert "read_unpaired:RH" in asked.flags


def test_a_joint_scored_at_one_visit_only_adds_no_change(scorer, visits):
    base = scorer.score(visits["base"])
    follow = scorer.score(visits["same"])
    # the follow-up did not score its ulna (e.g. cut off by the collimation)
    follow.joints = [j for j in follow.joints if j.site != "ulna"]
    prog = sharpscore.api.progression.compare_visits({"RH": base}, {"RH": follow},
                                                      retest=sharpscore.api.progression.retest_model("default"))
    ulna = prog.joint("RH", "ulna")
    assert ulna.erosion_change is None and "unsure_at_followup" in ulna.flags
    common = sum(j.total_change for j in prog.joints)
    assert prog.total_change == pytest.approx(common, abs=1e-9)
    assert abs(prog.total_change) < 1.0
