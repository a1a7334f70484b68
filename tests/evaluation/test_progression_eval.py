"""`sharpscore evaluate --baseline`: progression metrics from two visits' predictions and references."""

import json

import numpy as np

from sharpscore import schema
from sharpscore.cli import main
from sharpscore.synth.longitudinal import longitudinal_patient


def _row(pid, grades, rng=None):
    recs = []
    for region, sites in grades.items():
        for site, g in sites.items():
            e, j = g["erosion"], g["jsn"]
            if rng is not None:  # a prediction: the truth give or take a little
                e = None if e is None else float(np.clip(e + rng.normal(0, 0.1), 0, schema.site(region, site).erosion_max))
                j = None if j is None else float(np.clip(j + rng.normal(0, 0.1), 0, 4))
            recs.append(schema.JointRecord(region, site, e, j))
    return schema.records_to_ra2_row(pid, recs)


def test_evaluate_progression(tmp_path, capsys):
    rng = np.random.default_rng(0)
    files = {k: [] for k in ("bt", "ft", "bp", "fp")}
    for i in range(30):
        lp = longitudinal_patient(100 + i, ("LH", "RH"))
        pid = f"P{i}"
        files["bt"].append(_row(pid, lp.visits[0]))
        files["ft"].append(_row(pid, lp.visits[1]))
        files["bp"].append(_row(pid, lp.visits[0], rng))
        files["fp"].append(_row(pid, lp.visits[1], rng))
    for k, rows in files.items():
        schema.write_ra2_csv(tmp_path / f"{k}.csv", rows)
    rc = main(["evaluate", "--pred", str(tmp_path / "fp.csv"), "--truth", str(tmp_path / "ft.csv"),
               "--baseline", str(tmp_path / "bp.csv"), str(tmp_path / "bt.csv"), "--out", str(tmp_path / "o")])
    assert rc == 0
    assert "progression, 30 patients" in capsys.readouterr().out
    prog = json.loads((tmp_path / "o" / "metrics.json").read_text())["progression"]
    assert prog["stable_patients"] >= 3 and 0 < prog["sdc_total"] < 3
    assert prog["sensitivity"] >= 0.8 and prog["specificity"] >= 0.8 and prog["joint_change_qwk"] > 0.8
