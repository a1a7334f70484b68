import json

import numpy as np
import pytest

from sharpscore import schema
from sharpscore.cli import main
from sharpscore.errors import SchemaError
from sharpscore.evaluation import evaluate_files
from sharpscore.synth.disease import DiseaseModel, sample_patient_grades


def _cohort(n, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        g = sample_patient_grades(rng, DiseaseModel(median_severity=0.15))
        recs = [schema.JointRecord(r, s, v["erosion"], v["jsn"]) for r, sites in g.items() for s, v in sites.items()]
        rows.append(schema.records_to_ra2_row(f"P{i:03d}", recs))
    return rows


def _noisy(rows, seed=1):
    rng = np.random.default_rng(seed)
    out = []
    for row in rows:
        p = dict(row)
        for c in schema.RA2_JOINT_COLUMNS:
            region, name, measure = schema.parse_ra2_column(c)
            top = schema.site(region, name).max_for(measure)
            p[c] = float(np.clip(row[c] + rng.normal(0, 0.4), 0, top))
        ero = sum(p[c] for c in schema.RA2_JOINT_COLUMNS if schema.parse_ra2_column(c)[2] == "erosion")
        jsn = sum(p[c] for c in schema.RA2_JOINT_COLUMNS if schema.parse_ra2_column(c)[2] == "jsn")
        p.update(Overall_erosion=ero, Overall_narrowing=jsn, Overall_Tol=ero + jsn,
                 Overall_Tol_lo=max(0.0, ero + jsn - 15), Overall_Tol_hi=ero + jsn + 15)
        out.append(p)
    return out


def test_evaluate_files_writes_report(tmp_path):
    truth = _cohort(40)
    for i, row in enumerate(truth):
        row["sex"] = "F" if i % 3 else "M"
    schema.write_ra2_csv(tmp_path / "truth.csv", truth, extra_columns=["sex"])
    schema.write_ra2_csv(tmp_path / "pred.csv", _noisy(truth), extra_columns=["Overall_Tol_lo", "Overall_Tol_hi"])
    m = evaluate_files(tmp_path / "pred.csv", tmp_path / "truth.csv", tmp_path / "out", by=["sex"])
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    for key in ("sc1", "sc2", "sc3"):
        assert 0 < saved["ra2"][key] < 1
    assert 0.9 < saved["total"]["icc2_1"] <= 1
    assert saved["total"]["interval_coverage"] > 0.5
    assert set(saved["subgroups"]["sex"]) == {"F", "M"}
    assert set(m["joints"]) >= {"finger_jsn", "finger_erosion", "wrist_jsn", "wrist_erosion", "foot_jsn", "foot_erosion"}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "SC1" in report and "ICC(2,1)" in report and "Subgroups by `sex`" in report
    for png in ("bland_altman_total.png", "confusion_matrices.png"):
        assert (tmp_path / "out" / png).stat().st_size > 5000


def test_what_is_missing_is_listed_and_the_rest_scored(tmp_path):
    """A patient without a prediction, or whose prediction lacks a region the reference scores (a
    failed film), is left out and listed; the others are scored. Nothing present: an error."""
    truth = _cohort(5)
    schema.write_ra2_csv(tmp_path / "truth.csv", truth)
    pred = _noisy(truth[:4])
    pred[3] = {k: v for k, v in pred[3].items() if not k.startswith("LF_")}
    schema.write_ra2_csv(tmp_path / "pred.csv", pred, extra_columns=["Overall_Tol_lo", "Overall_Tol_hi"])
    m = evaluate_files(tmp_path / "pred.csv", tmp_path / "truth.csv", tmp_path / "out")
    assert m["n_patients"] == 3
    assert m["excluded_patients"]["P004"] == "no prediction"
    assert "LF" in m["excluded_patients"]["P003"]
    partial = [{k: v for k, v in r.items() if not k.startswith("LF_")} for r in _noisy(truth)]
    schema.write_ra2_csv(tmp_path / "p2.csv", partial)
    with pytest.raises(SchemaError, match="no patient has a prediction for every joint"):
        evaluate_files(tmp_path / "p2.csv", tmp_path / "truth.csv", tmp_path / "out")


def test_cli_evaluate(tmp_path, capsys):
    truth = _cohort(12)
    schema.write_ra2_csv(tmp_path / "truth.csv", truth)
    schema.write_ra2_csv(tmp_path / "pred.csv", _noisy(truth), extra_columns=["Overall_Tol_lo", "Overall_Tol_hi"])
    assert main(["evaluate", "--pred", str(tmp_path / "pred.csv"), "--truth", str(tmp_path / "truth.csv"),
                 "--out", str(tmp_path / "ev")]) == 0
    assert "SC1" in capsys.readouterr().out
    assert main(["evaluate", "--pred", str(tmp_path / "nope.csv"), "--truth", str(tmp_path / "truth.csv"),
                 "--out", str(tmp_path / "ev")]) == 2


def test_landmark_folders_in_mm_from_dicom_headers(tmp_path):
    from sharpscore.evaluation.report import evaluate_landmark_folders
    from sharpscore.io.dicom_write import write_dicom
    from sharpscore.io.labelme import write_labelme

    (tmp_path / "truth").mkdir()
    (tmp_path / "pred").mkdir()
    write_dicom(tmp_path / "truth" / "a.dcm", np.zeros((50, 40), np.float32), spacing_mm=0.2)
    write_labelme(tmp_path / "truth" / "a.json", {"mcp2": (10, 10), "pip2": (20, 5)}, image_path="a.dcm",
                  image_height=50, image_width=40)
    write_labelme(tmp_path / "pred" / "a.json", {"mcp2": (13, 14), "pip2": (20, 5)}, image_path="a.dcm",
                  image_height=50, image_width=40)
    write_labelme(tmp_path / "truth" / "b.json", {"mcp2": (1, 1)}, image_path="b.png", image_height=5, image_width=5)
    s = evaluate_landmark_folders(tmp_path / "pred", tmp_path / "truth")
    assert s["unit"] == "mm" and s["per_landmark"]["mcp2"]["median"] == pytest.approx(1.0)
    assert s["all"]["within_2mm"] == 1.0 and s["unmatched"] == ["b.json"]


def test_a_single_patient_is_a_one_line_error():
    """Found by `python bench/fuzz.py --target tables`: one patient crashed the ICC."""
    from sharpscore import schema
    from sharpscore.errors import SchemaError
    from sharpscore.evaluation.report import evaluate_rows

    row = schema.records_to_ra2_row("P1", [schema.JointRecord("LH", "mcp2", 1, 1)])
    with pytest.raises(SchemaError, match="at least 2"):
        evaluate_rows([row], [row])
