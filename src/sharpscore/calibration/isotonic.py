"""Isotonic recalibration of expected scores (scikit-learn ``IsotonicRegression``)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from sklearn.isotonic import IsotonicRegression

__all__ = ["IsotonicCalibrator"]


class IsotonicCalibrator:
    """Monotone map from predicted expected score to calibrated expected score, per group."""

    def __init__(self, maps: dict[str, tuple[list[float], list[float]]] | None = None):
        self.maps = {k: (list(x), list(y)) for k, (x, y) in (maps or {}).items()}

    def fit(self, pred, truth, groups: Sequence[Hashable] | None = None, min_count: int = 20) -> "IsotonicCalibrator":
        pred, truth = np.asarray(pred, float), np.asarray(truth, float)
        keys = np.array(["*"] * len(pred)) if groups is None else np.asarray([str(g) for g in groups])
        self.maps = {}
        for key in ["*", *np.unique(keys)]:
            mask = np.ones(len(pred), bool) if key == "*" else keys == key
            if mask.sum() < (2 if key == "*" else min_count):
                continue
            iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(pred[mask], truth[mask])
            self.maps[str(key)] = (iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist())
        return self

    def apply(self, pred, groups: Sequence[Hashable] | None = None) -> np.ndarray:
        pred = np.asarray(pred, float)
        out = pred.copy()
        keys = ["*"] * len(pred) if groups is None else [str(g) for g in groups]
        for i, key in enumerate(keys):
            xy = self.maps.get(key) or self.maps.get("*")
            if xy:
                out[i] = np.interp(pred[i], xy[0], xy[1])
        return out

    def to_dict(self) -> dict:
        return {"type": "isotonic", "maps": self.maps}

    @classmethod
    def from_dict(cls, d: dict) -> "IsotonicCalibrator":
        return cls({k: tuple(v) for k, v in d.get("maps", {}).items()})
