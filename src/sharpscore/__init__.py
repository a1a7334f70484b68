"""sharpscore: Sharp/van der Heijde scoring of rheumatoid-arthritis hand and foot radiographs.

Research-use decision support: outputs are not a diagnosis and must be reviewed by a reader.

>>> import sharpscore
>>> sharpscore.schema.MAX_TOTAL
448
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from . import errors, schema
from .io import Radiograph, load_radiograph

__version__ = "0.1.0"

__all__ = ["__version__", "errors", "schema", "Radiograph", "load_radiograph", "locate_joints", "synth",
           "evaluation", "calibration", "training", "models", "localize", "scoring", "api", "finetune",
           "score_radiograph", "score_patient", "Scorer", "RadiographScore", "PatientScore", "measure_joint_space",
           "jsw", "score_progression", "Progression"]

logging.getLogger(__name__).addHandler(logging.NullHandler())

# Heavy parts (torch, MONAI) load on first use, so `import sharpscore` stays quick.
_LAZY = {"locate_joints": ("sharpscore.api", "locate_joints"),
         "finetune": ("sharpscore.training.finetune", "finetune"),
         "score_radiograph": ("sharpscore.api", "score_radiograph"),
         "score_patient": ("sharpscore.api", "score_patient"),
         "Scorer": ("sharpscore.api", "Scorer"),
         "RadiographScore": ("sharpscore.api", "RadiographScore"),
         "PatientScore": ("sharpscore.api", "PatientScore"),
         "measure_joint_space": ("sharpscore.api", "measure_joint_space"),
         "score_progression": ("sharpscore.api", "score_progression"),
         "Progression": ("sharpscore.api", "Progression")}
_SUBMODULES = {"synth", "evaluation", "calibration", "training", "models", "localize", "scoring", "api", "jsw"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module 'sharpscore' has no attribute {name!r}")
    globals()[name] = value
    return value
