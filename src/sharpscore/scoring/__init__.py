"""Per-joint erosion and joint-space-narrowing scoring (one network for every SvdH site).

Crops in millimetres around each localised joint, oriented along the bone and mirrored to the
right side, go through a MONAI ResNet with a site embedding and ordinal (CORN) heads; each joint
gets a probability for every grade, and region and patient totals get the distribution of the sum.
"""

from __future__ import annotations

import warnings
from typing import Any

from .distribution import credible_interval, expected_value, sum_distribution
from .model import HEADS, SITE_LIST, ScorerNet, ScorerSpec
from .predict import JointModel, JointScore, RegionScores

__all__ = ["ScorerNet", "ScorerSpec", "JointModel", "JointScore", "RegionScores", "HEADS", "SITE_LIST",
           "sum_distribution", "expected_value", "credible_interval"]


def __getattr__(name: str) -> Any:
    if name == "JointScorer":  # its earlier name: one name, one meaning (the public Scorer is the pipeline)
        warnings.warn("sharpscore.scoring.JointScorer is now JointModel", DeprecationWarning, stacklevel=2)
        return JointModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
