"""Out-of-distribution scores of joint crops from the scorer's own features.

A crop whose backbone features lie far from those of the calibration crops of its site family (the
kind of films the scorer was trained and calibrated on) is out of distribution: a chest or a blank
region where a joint should be, an implant, an unfamiliar detector or processing. The distance is a
Mahalanobis distance in a PCA subspace of the features (diagonal per family) plus the residual
outside it, normalised by the number of dimensions; the threshold is a high quantile of the
calibration crops' own distances.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["FeatureDistance"]


class FeatureDistance:
    """``fit(features (N, D), families)``; ``score(features, families) -> (N,)``;
    ``flag(...)`` is ``score > threshold``."""

    def __init__(self, n_components: int = 24, quantile: float = 0.995, mean=None, components=None,
                 family_stats: dict | None = None, threshold: float | None = None):
        self.n_components = n_components
        self.quantile = quantile
        self.mean = None if mean is None else np.asarray(mean, float)
        self.components = None if components is None else np.asarray(components, float)
        self.family_stats = {k: {n: np.asarray(v, float) if isinstance(v, list) else v for n, v in s.items()}
                             for k, s in (family_stats or {}).items()}
        self.threshold = threshold

    def _project(self, f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = f - self.mean
        z = c @ self.components.T
        resid = np.sum((c - z @ self.components) ** 2, axis=1)
        return z, resid

    def fit(self, features: np.ndarray, families: Sequence[str]) -> FeatureDistance:
        f = np.asarray(features, float)
        fam = np.asarray(list(families))
        if len(f) < 10:
            raise ValueError("FeatureDistance needs at least 10 crops")
        self.mean = f.mean(0)
        k = int(min(self.n_components, f.shape[1], len(f) - 1))
        _, _, vt = np.linalg.svd(f - self.mean, full_matrices=False)
        self.components = vt[:k]
        z, resid = self._project(f)
        self.family_stats = {}
        for name in sorted(set(fam.tolist())):
            m = fam == name
            self.family_stats[name] = {"mean": z[m].mean(0), "var": z[m].var(0) + 1e-6,
                                       "resid": float(resid[m].mean() + 1e-6)}
        self.family_stats["*"] = {"mean": z.mean(0), "var": z.var(0) + 1e-6, "resid": float(resid.mean() + 1e-6)}
        self.threshold = float(np.quantile(self.score(f, fam), self.quantile))
        return self

    def score(self, features: np.ndarray, families: Sequence[str]) -> np.ndarray:
        f = np.atleast_2d(np.asarray(features, float))
        z, resid = self._project(f)
        out = np.empty(len(f))
        for i, name in enumerate(families):
            st = self.family_stats.get(name, self.family_stats["*"])
            d2 = np.sum((z[i] - st["mean"]) ** 2 / st["var"]) + resid[i] / st["resid"]
            out[i] = np.sqrt(d2 / (len(z[i]) + 1))
        return out

    def flag(self, features: np.ndarray, families: Sequence[str]) -> np.ndarray:
        return self.score(features, families) > (self.threshold if self.threshold is not None else np.inf)

    def to_dict(self) -> dict:
        def r(a):
            return np.round(np.asarray(a, float), 5).tolist()

        return {"type": "ood", "n_components": self.n_components, "quantile": self.quantile,
                "mean": r(self.mean), "components": r(self.components), "threshold": self.threshold,
                "family_stats": {k: {"mean": r(s["mean"]), "var": r(s["var"]), "resid": float(s["resid"])}
                                 for k, s in self.family_stats.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureDistance:
        return cls(n_components=d["n_components"], quantile=d["quantile"], mean=d["mean"],
                   components=d["components"], family_stats=d["family_stats"], threshold=d["threshold"])
