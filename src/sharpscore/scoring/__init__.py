"""Per-joint erosion and joint-space-narrowing scoring (one network for every SvdH site).

Crops in millimetres around each localised joint, oriented along the bone and mirrored to the
right side, go through a MONAI ResNet with a site embedding and ordinal (CORN) heads; each joint
gets a probability for every grade, and region and patient totals get the distribution of the sum.
"""

from __future__ import annotations

from .distribution import credible_interval, expected_value, sum_distribution
from .model import HEADS, SITE_LIST, ScorerNet, ScorerSpec
from .predict import JointScore, RegionScores, JointScorer

__all__ = ["ScorerNet", "ScorerSpec", "JointScorer", "JointScore", "RegionScores", "HEADS", "SITE_LIST",
           "sum_distribution", "expected_value", "credible_interval"]
