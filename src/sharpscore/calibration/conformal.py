"""Split-conformal prediction sets (APS) for joint grades and intervals for totals.

Both take a calibration split that the model never trained on (patient-level) and guarantee, for
exchangeable data, coverage of at least the nominal level on average over calibration splits.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["APSConformal", "ConformalInterval", "conformal_quantile"]


def conformal_quantile(scores: np.ndarray, coverage: float) -> float:
    """The ceil((n + 1) * coverage) / n empirical quantile of calibration scores."""
    scores = np.sort(np.asarray(scores, float))
    n = len(scores)
    if n == 0:
        raise ValueError("conformal calibration needs at least one score")
    k = math.ceil((n + 1) * coverage)
    return float("inf") if k > n else float(scores[k - 1])


class APSConformal:
    """Adaptive prediction sets (Romano et al., 2020) over grades.

    Classes are added in order of decreasing probability until their cumulative mass reaches the
    calibrated threshold. With ``randomized=True`` the last class is kept with a probability that
    makes coverage exact rather than conservative; the randomness comes from ``seed`` so the same
    inputs always give the same sets.
    """

    def __init__(self, coverage: float = 0.9, randomized: bool = True, seed: int = 0, qhat: float | None = None):
        if not 0 < coverage < 1:
            raise ValueError("coverage must be between 0 and 1")
        self.coverage, self.randomized, self.seed, self.qhat = float(coverage), bool(randomized), int(seed), qhat

    def _u(self, n: int, salt: int) -> np.ndarray:
        if not self.randomized:
            return np.ones(n)
        return np.random.default_rng([self.seed, salt, n]).random(n)

    def _scores(self, probs: np.ndarray, labels: np.ndarray, u: np.ndarray) -> np.ndarray:
        order = np.argsort(-probs, axis=1, kind="stable")
        sorted_p = np.take_along_axis(probs, order, axis=1)
        cum = np.cumsum(sorted_p, axis=1)
        rank = np.argmax(order == labels[:, None], axis=1)
        idx = np.arange(len(labels))
        return cum[idx, rank] - (1.0 - u) * sorted_p[idx, rank]

    def fit(self, probs, labels) -> "APSConformal":
        probs, labels = np.asarray(probs, float), np.asarray(labels, int)
        self.qhat = conformal_quantile(self._scores(probs, labels, self._u(len(labels), 1)), self.coverage)
        return self

    def predict(self, probs) -> np.ndarray:
        """Boolean (N, K) set membership."""
        if self.qhat is None:
            raise RuntimeError("APSConformal.fit must be called before predict")
        probs = np.asarray(probs, float)
        order = np.argsort(-probs, axis=1, kind="stable")
        sorted_p = np.take_along_axis(probs, order, axis=1)
        cum = np.cumsum(sorted_p, axis=1)
        u = self._u(len(probs), 2)
        # Keep class j if its (randomised) score is <= qhat: cum_before + u * p_j <= qhat.
        keep_sorted = (cum - (1.0 - u[:, None]) * sorted_p) <= self.qhat
        keep_sorted[:, 0] = True  # never an empty set
        sets = np.zeros_like(keep_sorted)
        np.put_along_axis(sets, order, keep_sorted, axis=1)
        return sets

    def to_dict(self) -> dict:
        return {"type": "aps", "coverage": self.coverage, "randomized": self.randomized, "seed": self.seed,
                "qhat": self.qhat}

    @classmethod
    def from_dict(cls, d: dict) -> "APSConformal":
        return cls(d["coverage"], d.get("randomized", True), d.get("seed", 0), d.get("qhat"))


class ConformalInterval:
    """Intervals ``pred +- q * scale`` for continuous totals; ``scale`` (e.g. the predicted standard
    deviation of the sum) makes them adaptive, without it they have constant width."""

    def __init__(self, coverage: float = 0.9, q: float | None = None, low: float = 0.0, high: float | None = None):
        self.coverage, self.q, self.low, self.high = float(coverage), q, low, high

    def fit(self, pred, truth, scale=None) -> "ConformalInterval":
        pred, truth = np.asarray(pred, float), np.asarray(truth, float)
        s = np.ones_like(pred) if scale is None else np.maximum(np.asarray(scale, float), 1e-6)
        self.q = conformal_quantile(np.abs(truth - pred) / s, self.coverage)
        return self

    def predict(self, pred, scale=None) -> tuple[np.ndarray, np.ndarray]:
        if self.q is None:
            raise RuntimeError("ConformalInterval.fit must be called before predict")
        pred = np.asarray(pred, float)
        s = np.ones_like(pred) if scale is None else np.maximum(np.asarray(scale, float), 1e-6)
        lo, hi = pred - self.q * s, pred + self.q * s
        lo = np.maximum(lo, self.low)
        if self.high is not None:
            hi = np.minimum(hi, self.high)
        return lo, hi

    def to_dict(self) -> dict:
        return {"type": "interval", "coverage": self.coverage, "q": self.q, "low": self.low, "high": self.high}

    @classmethod
    def from_dict(cls, d: dict) -> "ConformalInterval":
        return cls(d["coverage"], d.get("q"), d.get("low", 0.0), d.get("high"))
