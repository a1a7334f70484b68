"""Statistical shape models of real adult RA hands and feet: the shipped model and its fit.

A point distribution model (mean shape + principal modes) of the joint positions of real RA
radiographs (the RA2-DREAM landmark files; :mod:`sharpscore.synth.shape_model` fits it). Only the
derived numbers ship, in ``models/shape_models.json``. Used by the phantoms (anatomy), the
localiser (plausibility of located joints, spacing from anatomy) and nothing else; a leaf module
(numpy only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["ShapeModel", "ShapeFit", "load_shape_model", "similarity_fit", "HAND_POINTS", "FOOT_POINTS",
           "SHAPE_MODELS_JSON"]

# Points of the RA2-DREAM landmark files, renamed to sharpscore's names (w1-w3: wrist points,
# w1 radial, w3 ulnar).
HAND_POINTS = ("ip", "pip2", "pip3", "pip4", "pip5", "mcp1", "mcp2", "mcp3", "mcp4", "mcp5", "w1", "w2", "w3")
FOOT_POINTS = ("ip", "mtp1", "mtp2", "mtp3", "mtp4", "mtp5")
SHAPE_MODELS_JSON = Path(__file__).with_name("models") / "shape_models.json"


@dataclass(frozen=True)
class ShapeFit:
    """A shape model placed on observed points (see :meth:`ShapeModel.fit`).

    ``predicted``: every model point in the observed frame (mm); ``residual``: each observed point's
    distance from its fitted position in the model's mm (the fit's scale divided out, so the figure
    does not depend on the size of the patient or on a wrong spacing); ``mirrored``: the points were
    matched as a left region (the model is a right one); ``scale``: observed mm per model mm."""

    predicted: dict[str, np.ndarray]
    residual: dict[str, float]
    mirrored: bool
    scale: float


@dataclass(frozen=True)
class ShapeModel:
    """Point distribution model: ``mean`` (n, 2) in mm, ``modes`` (k, n, 2) unit vectors, ``std`` (k,) mm.

    ``residual_sd``: the per-coordinate spread the retained modes leave unexplained (mm);
    ``limit``: per point, the 99.5th percentile over the fitting shapes of its distance from where
    the model fitted to the other points puts it (model mm): beyond it a point is implausible."""

    kind: str
    names: tuple[str, ...]
    mean: np.ndarray
    modes: np.ndarray
    std: np.ndarray
    n_shapes: int
    residual_sd: float = 1.0
    limit: np.ndarray | None = None

    def fit(self, points: dict[str, tuple[float, float]], *, mirrored: bool = False, iters: int = 8) -> ShapeFit:
        """Fit the model to ``points`` (``{name: (x, y)}`` in mm, any pose; y down): a similarity
        transform (no reflection; ``mirrored`` matches a left region) and mode weights regularised
        by their spread. At least three points are needed."""
        use = [n for n in self.names if n in points]
        if len(use) < 3:
            raise ValueError(f"a shape fit needs >= 3 points, got {len(use)}")
        idx = np.array([self.names.index(n) for n in use])
        flip = np.array([-1.0 if mirrored else 1.0, 1.0])
        obs = np.array([points[n][:2] for n in use], float) * flip
        modes = self.modes[:, idx, :].reshape(len(self.std), -1).T  # (2m, k)
        ridge = np.diag(self.residual_sd ** 2 / self.std ** 2)
        b = np.zeros(len(self.std))
        for _ in range(iters):
            shape = self.mean + np.tensordot(b, self.modes, axes=1)
            s, r, t = similarity_fit(shape[idx], obs, allow_reflection=False)
            local = (obs - t) @ r / s  # observed points in the model frame
            b = np.linalg.solve(modes.T @ modes + ridge, modes.T @ (local - self.mean[idx]).ravel())
            b = np.clip(b, -3 * self.std, 3 * self.std)
        shape = self.mean + np.tensordot(b, self.modes, axes=1)
        s, r, t = similarity_fit(shape[idx], obs, allow_reflection=False)
        placed = (s * shape @ r.T + t) * flip
        residual = {n: float(np.linalg.norm(placed[i] - obs[j] * flip)) / s
                    for j, (n, i) in enumerate(zip(use, idx))}
        return ShapeFit(predicted={n: placed[i] for i, n in enumerate(self.names)}, residual=residual,
                        mirrored=mirrored, scale=float(s))

    def leave_one_out(self, points: dict[str, tuple[float, float]], *, mirrored: bool = False) -> dict[str, float]:
        """Each point's distance (model mm) from where the model fitted to the others puts it."""
        out = {}
        for n in points:
            if n not in self.names:
                continue
            rest = {k: v for k, v in points.items() if k != n}
            if len(rest) < 4:
                break
            fit = self.fit(rest, mirrored=mirrored)
            out[n] = float(np.linalg.norm(np.asarray(points[n][:2], float) - fit.predicted[n])) / fit.scale
        return out

    def sample(self, rng: np.random.Generator, spread: float = 1.0) -> dict[str, np.ndarray]:
        """A random plausible shape (mm, right-region frame) as ``{name: (x, y)}``.

        Mode weights are drawn from N(0, std) and clipped to +-3 std."""
        b = np.clip(rng.standard_normal(len(self.std)), -3, 3) * self.std * spread
        pts = self.mean + np.tensordot(b, self.modes, axes=1)
        return {n: pts[i].copy() for i, n in enumerate(self.names)}

    def to_json(self) -> dict:
        out = {"kind": self.kind, "names": list(self.names), "n_shapes": self.n_shapes,
               "mean_mm": np.round(self.mean, 3).tolist(), "std_mm": np.round(self.std, 4).tolist(),
               "modes": np.round(self.modes, 5).tolist(), "residual_sd_mm": round(float(self.residual_sd), 4)}
        if self.limit is not None:
            out["loo_limit_mm"] = np.round(self.limit, 3).tolist()
        return out


def similarity_fit(src: np.ndarray, dst: np.ndarray, allow_reflection: bool = True) \
        -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares ``dst ~ s * src @ R.T + t`` (Umeyama); returns (s, R, t). Without
    ``allow_reflection`` R is a proper rotation (a left shape never matches a right one)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a)
    d = np.eye(2)
    if not allow_reflection and np.linalg.det(u @ vt) < 0:
        d[1, 1] = -1
    r = u @ d @ vt
    s = float(np.trace(np.diag(sig) @ d) / max((a ** 2).sum(), 1e-12))
    return s, r, mu_d - s * mu_s @ r.T


@lru_cache(maxsize=None)
def load_shape_model(kind: str) -> ShapeModel:
    """The shipped hand or foot shape model."""
    data = json.loads(SHAPE_MODELS_JSON.read_text())[kind]
    limit = data.get("loo_limit_mm")
    return ShapeModel(kind=kind, names=tuple(data["names"]), mean=np.array(data["mean_mm"]),
                      modes=np.array(data["modes"]), std=np.array(data["std_mm"]), n_shapes=data["n_shapes"],
                      residual_sd=float(data.get("residual_sd_mm", 1.0)),
                      limit=None if limit is None else np.array(limit))
