"""Temperature scaling (Guo et al., 2017), one temperature per group (e.g. head x site family)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

__all__ = ["TemperatureScaler"]


class TemperatureScaler:
    """Divide logits by a fitted temperature so that probabilities are calibrated.

    ``fit(logits, labels, groups=None)``: ``logits`` (N, K) (or log-probabilities), integer
    ``labels`` (N,), optional ``groups`` (N,) of hashable keys fitted separately. ``apply(logits,
    groups=None)`` returns calibrated probabilities; unseen groups use the pooled temperature.
    """

    def __init__(self, temperatures: dict[str, float] | None = None, default: float = 1.0):
        self.temperatures = dict(temperatures or {})
        self.default = float(default)

    @staticmethod
    def _fit_one(logits: np.ndarray, labels: np.ndarray) -> float:
        def nll(log_t: float) -> float:
            lp = log_softmax(logits / np.exp(log_t), axis=1)
            return float(-lp[np.arange(len(labels)), labels].mean())

        res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
        return float(np.exp(res.x))

    def fit(self, logits, labels, groups: Sequence[Hashable] | None = None, min_count: int = 20) -> "TemperatureScaler":
        logits = np.asarray(logits, dtype=float)
        labels = np.asarray(labels, dtype=int)
        self.default = self._fit_one(logits, labels)
        self.temperatures = {}
        if groups is not None:
            groups = np.asarray([str(g) for g in groups])
            for g in np.unique(groups):
                mask = groups == g
                if mask.sum() >= min_count:
                    self.temperatures[str(g)] = self._fit_one(logits[mask], labels[mask])
        return self

    def temperature(self, group: Hashable | None = None) -> float:
        return self.temperatures.get(str(group), self.default) if group is not None else self.default

    def apply(self, logits, groups: Sequence[Hashable] | None = None) -> np.ndarray:
        logits = np.asarray(logits, dtype=float)
        if groups is None:
            t = np.full(len(logits), self.default)
        else:
            t = np.array([self.temperature(g) for g in groups])
        return np.exp(log_softmax(logits / t[:, None], axis=1))

    def to_dict(self) -> dict:
        return {"type": "temperature", "default": self.default, "temperatures": self.temperatures}

    @classmethod
    def from_dict(cls, d: dict) -> "TemperatureScaler":
        return cls(d.get("temperatures"), d.get("default", 1.0))
