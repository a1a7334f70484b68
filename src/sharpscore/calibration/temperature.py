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
    groups=None)`` returns calibrated probabilities; unseen groups use the pooled fit.

    ``class_bias=True`` also fits one additive bias per class (the first fixed at 0), which corrects
    a shift of class priors -- e.g. a model trained with re-weighted rare grades or on a more
    severe cohort than the one it scores. A small ridge penalty keeps biases of rare classes finite.
    """

    def __init__(self, temperatures: dict[str, float] | None = None, default: float = 1.0,
                 biases: dict[str, list[float]] | None = None, default_bias: list[float] | None = None,
                 class_bias: bool = False, ridge: float = 1e-3):
        self.temperatures = dict(temperatures or {})
        self.default = float(default)
        self.biases = {k: list(v) for k, v in (biases or {}).items()}
        self.default_bias = list(default_bias) if default_bias is not None else None
        self.class_bias = class_bias
        self.ridge = ridge

    def _fit_one(self, logits: np.ndarray, labels: np.ndarray) -> tuple[float, list[float] | None]:
        n, k = logits.shape
        if not self.class_bias:
            def nll(log_t: float) -> float:
                lp = log_softmax(logits / np.exp(log_t), axis=1)
                return float(-lp[np.arange(n), labels].mean())

            res = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
            return float(np.exp(res.x)), None
        from scipy.optimize import minimize

        onehot = np.eye(k)[labels]

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            t = np.exp(theta[0])
            b = np.concatenate([[0.0], theta[1:]])
            z = logits / t + b
            lp = log_softmax(z, axis=1)
            p = np.exp(lp)
            loss = -lp[np.arange(n), labels].mean() + self.ridge * float(theta[1:] @ theta[1:])
            dz = (p - onehot) / n  # d loss / d z
            g_b = dz.sum(0)[1:] + 2 * self.ridge * theta[1:]
            g_t = float(np.sum(dz * (-logits / t)))  # d z / d log t = -logits / t
            return float(loss), np.concatenate([[g_t], g_b])

        theta0 = np.zeros(k)
        res = minimize(objective, theta0, jac=True, method="L-BFGS-B",
                       bounds=[(np.log(0.05), np.log(20.0))] + [(-20, 20)] * (k - 1))
        return float(np.exp(res.x[0])), [0.0] + [float(v) for v in res.x[1:]]

    def fit(self, logits, labels, groups: Sequence[Hashable] | None = None, min_count: int = 20) -> "TemperatureScaler":
        logits = np.asarray(logits, dtype=float)
        labels = np.asarray(labels, dtype=int)
        self.default, self.default_bias = self._fit_one(logits, labels)
        self.temperatures, self.biases = {}, {}
        if groups is not None:
            groups = np.asarray([str(g) for g in groups])
            for g in np.unique(groups):
                mask = groups == g
                if mask.sum() >= min_count:
                    t, b = self._fit_one(logits[mask], labels[mask])
                    self.temperatures[str(g)] = t
                    if b is not None:
                        self.biases[str(g)] = b
        return self

    def temperature(self, group: Hashable | None = None) -> float:
        return self.temperatures.get(str(group), self.default) if group is not None else self.default

    def bias(self, group: Hashable | None = None) -> list[float] | None:
        if group is not None and str(group) in self.temperatures:
            return self.biases.get(str(group))
        return self.default_bias

    def apply(self, logits, groups: Sequence[Hashable] | None = None) -> np.ndarray:
        logits = np.asarray(logits, dtype=float)
        keys = [None] * len(logits) if groups is None else list(groups)
        t = np.array([self.temperature(g) for g in keys]).reshape(-1, 1)
        z = logits / t
        for i, g in enumerate(keys):
            b = self.bias(g)
            if b is not None:
                z[i] = z[i] + np.asarray(b[: z.shape[1]])
        return np.exp(log_softmax(z, axis=1))

    def to_dict(self) -> dict:
        return {"type": "temperature", "default": self.default, "temperatures": self.temperatures,
                "class_bias": self.class_bias, "default_bias": self.default_bias, "biases": self.biases}

    @classmethod
    def from_dict(cls, d: dict) -> "TemperatureScaler":
        return cls(d.get("temperatures"), d.get("default", 1.0), d.get("biases"), d.get("default_bias"),
                   d.get("class_bias", False))
