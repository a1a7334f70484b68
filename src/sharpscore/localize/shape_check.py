"""Real-anatomy plausibility of located joints: the shape model of real RA hands and feet.

The localiser's heatmaps find each joint on its own. On real films a ring, an overlapping toe or a
missing digit can pull one joint onto the wrong spot while the others are right. The shape model
fitted to 827 hands and 736 feet of real RA patients (:mod:`sharpscore.synth.shape_model`) says
where a joint should be given the others: :func:`check_shape` fits it robustly (leaving each point
out in turn, dropping the worst while it is beyond the model's limit) in both orientations, which
also decides left from right from the whole configuration (thumb or hallux side) rather than from
two or three joints.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..shape_model import ShapeModel, load_shape_model

__all__ = ["ShapeCheck", "check_shape", "MIN_POINTS"]

MIN_POINTS = 5  # fewer observed joints cannot say which one is wrong


@dataclass(frozen=True)
class ShapeCheck:
    """Outcome of :func:`check_shape`.

    ``side``: ``'R'`` or ``'L'`` (the orientation the joints fit best); ``side_margin``: how much worse
    the other orientation fits (ratio of their normalised residuals, >= 1; above ~2 the side is
    clear); ``outliers``: observed joints beyond the model's limit given the others; ``predicted``:
    every model joint where the model, fitted to the plausible joints, puts it (same units as the
    input); ``ratio``: each observed joint's leave-one-out distance over its limit; ``scale``: input
    units per model mm; ``limit``: each joint's plausibility limit in input units."""

    side: str
    side_margin: float
    outliers: list[str]
    predicted: dict[str, np.ndarray]
    ratio: dict[str, float] = field(default_factory=dict)
    scale: float = 1.0
    limit: dict[str, float] = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        """Whether the joints left after dropping the outliers all fit: only then does the model's
        prediction say where a dropped joint belongs (two or more wrong joints can make a right
        one look like the outlier)."""
        rest = [n for n in self.ratio if n not in self.outliers]
        return bool(rest) and all(self.ratio[n] <= 1.0 for n in rest)

    def plausible(self, name: str, xy) -> bool:
        """Whether ``xy`` lies within ``name``'s limit of where the model puts it."""
        return float(np.linalg.norm(np.asarray(xy[:2], float) - self.predicted[name])) <= self.limit[name]


def _robust(model: ShapeModel, points: dict[str, np.ndarray], mirrored: bool, max_out: int) \
        -> tuple[list[str], dict[str, float], float]:
    """Drop the least plausible joint while it is beyond its limit; returns (outliers, ratios, score)."""
    limit = {n: float(model.limit[model.names.index(n)]) for n in points}
    keep = dict(points)
    outliers: list[str] = []
    ratio: dict[str, float] = {}
    while True:
        loo = model.leave_one_out(keep, mirrored=mirrored) if len(keep) >= MIN_POINTS else {}
        ratio = {n: d / limit[n] for n, d in loo.items()}
        worst = max(ratio, key=ratio.get) if ratio else None
        if worst is None or ratio[worst] <= 1.0 or len(outliers) >= max_out or len(keep) <= MIN_POINTS - 1:
            break
        outliers.append(worst)
        del keep[worst]
    # Goodness of the orientation: each dropped joint counts as far beyond its limit.
    score = float(np.sqrt(np.mean([min(r, 3.0) ** 2 for r in ratio.values()] + [9.0] * len(outliers))))
    return outliers, ratio, score


def check_shape(points_mm: dict[str, tuple[float, float]], kind: str, *, max_outliers: int | None = None,
                model: ShapeModel | None = None) -> ShapeCheck | None:
    """Check joint positions (``{name: (x, y)}`` in mm, y down) against the real-anatomy model of
    ``kind`` (``'hand'`` or ``'foot'``; ``model`` replaces the shipped one); None when fewer than
    :data:`MIN_POINTS` model joints are given."""
    model = model or load_shape_model(kind)
    if model.limit is None:
        raise RuntimeError("the shipped shape model has no plausibility limits; regenerate it")
    pts = {n: np.asarray(points_mm[n][:2], float) for n in model.names if n in points_mm}
    if len(pts) < MIN_POINTS:
        return None
    max_out = max_outliers if max_outliers is not None else max(1, (len(pts) - 2) // 3)
    fits = {m: _robust(model, pts, m, max_out) for m in (False, True)}
    best = min(fits, key=lambda m: fits[m][2])
    other = fits[not best][2]
    outliers, ratio, score = fits[best]
    final = model.fit({n: p for n, p in pts.items() if n not in outliers}, mirrored=best)
    return ShapeCheck(side="L" if best else "R", side_margin=float(other / max(score, 1e-6)), outliers=outliers,
                      predicted=final.predicted, ratio=ratio, scale=final.scale,
                      limit={n: final.scale * float(model.limit[i]) for i, n in enumerate(model.names)})
