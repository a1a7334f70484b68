"""Renamed public names keep working for a while, with a DeprecationWarning."""

import pytest


def test_joint_scorer_is_now_joint_model():
    import sharpscore.scoring as scoring

    with pytest.warns(DeprecationWarning, match="JointModel"):
        assert scoring.JointScorer is scoring.JointModel


def test_scorer_joint_scorer_attribute_is_now_joint_model():
    from sharpscore.api import Scorer

    s = Scorer.__new__(Scorer)  # no models loaded: only the attribute is under test
    s.joint_model = object()
    with pytest.warns(DeprecationWarning, match="joint_model"):
        assert s.joint_scorer is s.joint_model
