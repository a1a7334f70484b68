"""Calibrated probabilities, prediction sets and intervals, stored beside model weights as JSON.

>>> import numpy as np
>>> from sharpscore.calibration import APSConformal
>>> probs = np.array([[0.7, 0.2, 0.1]] * 50); labels = np.array([0] * 40 + [1] * 8 + [2] * 2)
>>> APSConformal(coverage=0.9, randomized=False).fit(probs, labels).predict(probs[:1]).tolist()
[[True, True, False]]
"""

from __future__ import annotations

import json
from pathlib import Path

from .conformal import APSConformal, ConformalInterval, conformal_quantile
from .isotonic import IsotonicCalibrator
from .ood import FeatureDistance
from .temperature import TemperatureScaler

__all__ = ["TemperatureScaler", "IsotonicCalibrator", "FeatureDistance", "APSConformal", "ConformalInterval", "conformal_quantile",
           "CalibrationSet", "load_calibration", "save_calibration", "calibration_meta"]

_TYPES = {"temperature": TemperatureScaler, "isotonic": IsotonicCalibrator, "aps": APSConformal,
          "interval": ConformalInterval, "ood": FeatureDistance}

CalibrationSet = dict  # name -> calibrator, e.g. {"erosion/temperature": TemperatureScaler, ...}


def save_calibration(calibrators: CalibrationSet, path: str | Path, *, meta: dict | None = None) -> Path:
    """Write named calibrators as one JSON file (kept beside the model weights); ``meta``: what
    they were fitted on (e.g. ``{"fit_patients": 53}``), read back by :func:`calibration_meta`."""
    from .._fsutil import atomic_write_text

    doc = {"format": "sharpscore-calibration/1", "calibrators": {k: c.to_dict() for k, c in calibrators.items()}}
    if meta:
        doc["meta"] = dict(meta)
    return atomic_write_text(path, json.dumps(doc, indent=1) + "\n")


def calibration_meta(path: str | Path) -> dict:
    """What a calibration file says it was fitted on (``{}`` for files written before it said)."""
    try:
        meta = json.loads(Path(path).read_text()).get("meta")
    except (OSError, json.JSONDecodeError, AttributeError):
        return {}
    return dict(meta) if isinstance(meta, dict) else {}


def load_calibration(path: str | Path) -> CalibrationSet:
    from ..errors import ConfigError

    try:
        doc = json.loads(Path(path).read_text())
        return {k: _TYPES[d["type"]].from_dict(d) for k, d in doc["calibrators"].items()}
    except (OSError, KeyError, json.JSONDecodeError, TypeError) as exc:
        raise ConfigError(f"{path}: not a sharpscore calibration file ({exc})") from None
