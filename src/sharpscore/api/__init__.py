"""Public entry points (``sharpscore.score_radiograph``, ``score_patient``, ``Scorer``) and result types."""

from __future__ import annotations

from .joint_space import measure_joint_space
from .locate import locate_joints
from .progression import Progression, score_progression
from .results import PatientScore, RadiographScore
from .review import ReviewPolicy
from .scorer import Scorer, score_patient, score_radiograph

__all__ = ["locate_joints", "Scorer", "score_radiograph", "score_patient", "RadiographScore", "PatientScore", "ReviewPolicy",
           "measure_joint_space", "score_progression", "Progression"]
