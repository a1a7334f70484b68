import math

import pytest

from sharpscore import schema
from sharpscore.errors import SchemaError
from sharpscore.evaluation import patient_weight, ra2_scores


def test_patient_weights():
    table = {0: 1, 1: 2, 2: 2.143547, 3: 2.143547, 4: 3.863745, 7: 3.863745, 8: 8, 20: 8, 21: 16, 55: 16,
             56: 32, 148: 32, 149: 64, 448: 64}
    for total, w in table.items():
        assert patient_weight(total) == w


def _row(pid, values):
    recs = [schema.JointRecord(r, s, e, j) for (r, s), (e, j) in values.items()]
    return schema.records_to_ra2_row(pid, recs)


def _full(pid, override=None):
    values = {(r, s.name): (0 if s.scores_erosion else None, 0 if s.scores_jsn else None)
              for r in schema.REGIONS for s in schema.sites(r)}
    values.update(override or {})
    return _row(pid, values)


def test_worked_example_by_hand():
    truth = [_full("A", {("LH", "mcp2"): (3, 1)}), _full("B")]  # totals 4 and 0
    pred = [_full("A", {("LH", "mcp2"): (1, 1)}), _full("B", {("RF", "mtp1"): (0, 1)})]  # totals 2 and 1
    s = ra2_scores(pred, truth)
    w = {"A": 3.863745, "B": 1.0}
    sc1 = (w["A"] * abs(math.log2(3) - math.log2(5)) + w["B"] * abs(math.log2(2) - math.log2(1))) / (w["A"] + w["B"])
    n_jsn, n_ero = 42, 44
    sc2 = (w["A"] * 0 + w["B"] * math.sqrt(1 / n_jsn)) / (w["A"] + w["B"])
    sc3 = (w["A"] * math.sqrt((math.log2(2) - math.log2(4)) ** 2 / n_ero) + 0) / (w["A"] + w["B"])
    assert s["sc1"] == pytest.approx(sc1) and s["sc2"] == pytest.approx(sc2) and s["sc3"] == pytest.approx(sc3)


def test_perfect_and_clipped():
    truth = [_full("A", {("RH", "pip3"): (2, 2)}), _full("B")]
    assert ra2_scores(truth, truth) == {"sc1": 0.0, "sc2": 0.0, "sc3": 0.0}
    neg = [dict(r) for r in truth]
    neg[1]["Overall_Tol"] = -5.0
    neg[1]["LH_mcp_J__2"] = -1.0
    assert ra2_scores(neg, truth) == {"sc1": 0.0, "sc2": 0.0, "sc3": 0.0}  # negatives clip to 0


def test_mismatched_patients():
    with pytest.raises(SchemaError, match="missing.*'B'"):
        ra2_scores([_full("A")], [_full("A"), _full("B")])
