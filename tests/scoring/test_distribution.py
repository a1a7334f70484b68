"""Totals of grade distributions, defined once for every result type; a radiograph's result is its region's scores."""

import numpy as np
import pytest

from sharpscore import PatientScore, RadiographScore
from sharpscore.scoring import JointScore, RegionScores
from sharpscore.scoring.distribution import ExpectedTotals


def test_one_definition_of_expected_totals_and_joint_lookup():
    assert all(issubclass(c, ExpectedTotals) for c in (RegionScores, RadiographScore, PatientScore))
    for c in (RegionScores, RadiographScore, PatientScore):
        assert "total" not in vars(c) and "erosion" not in vars(c)  # inherited, not rewritten
    d = {"erosion": np.array([0.5, 0.5]), "jsn": np.array([0.0, 0.0, 1.0]), "total": np.array([0, 0.5, 0, 0.5])}
    j = JointScore(site="mcp3", family="finger", erosion=0.5, jsn=2.0)
    rs = RegionScores(region="RH", joints=[j], distributions=d)
    rad = RadiographScore.from_region_scores(rs, landmarks={}, source="x.png")
    assert isinstance(rad, RegionScores) and rad.region_scores is rad  # one result type per region
    assert (rs.erosion, rs.jsn, rs.total) == (rad.erosion, rad.jsn, rad.total) == (0.5, 2.0, 2.0)
    assert rs.joint("mcp3") is rad.joint("mcp3") is j
    with pytest.raises(KeyError, match="not a scored site of this hand"):
        rs.joint("mtp1")
