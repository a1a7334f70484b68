"""Partial views for localiser training: a film that shows only part of a hand or foot.

Real films are often cut short: collimated to a few digits (the shared DX films show two and a half
fingers and half the wrist), cropped by the detector, or cropped by whoever exported them. A
localiser that only ever saw whole hands latches the hidden joints' channels onto visible anatomy.
:func:`random_view` draws such a view of a training film: a crop of the film and, independently, a
collimation edge (a straight line at any angle, outside it a flat level). Joints outside the view
are to be silent; joints within :data:`EDGE_MM` of its border are left unsupervised (a reader cannot
say whether a joint cut by the edge is in view either).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PartialView", "random_view", "EDGE_MM"]

EDGE_MM = 2.0  # joints this close to the view's border are neither in nor out
MIN_VISIBLE = 4  # a view keeps at least this many joints well inside it


@dataclass(frozen=True)
class PartialView:
    """Crop ``box`` = (x0, y0, x1, y1) in film pixels, then flat ``fill`` beyond the line
    ``normal . (x, y) > offset`` (in cropped pixels) when ``normal`` is not None."""

    box: tuple[int, int, int, int]
    normal: tuple[float, float] | None = None
    offset: float = 0.0
    fill: float = 0.0

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.box
        out = np.array(pixels[y0:y1, x0:x1], dtype=np.float32, copy=True)
        if self.normal is not None:
            out[self._beyond(out.shape)] = self.fill
        return out

    def _beyond(self, shape: tuple[int, int]) -> np.ndarray:
        yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
        return self.normal[0] * xx + self.normal[1] * yy > self.offset

    def depth_px(self, pts: np.ndarray) -> np.ndarray:
        """How far each (x, y) in cropped pixels lies inside the view (negative: outside)."""
        x0, y0, x1, y1 = self.box
        d = np.minimum.reduce([pts[:, 0] + 0.5, pts[:, 1] + 0.5, (x1 - x0) - 0.5 - pts[:, 0],
                               (y1 - y0) - 0.5 - pts[:, 1]])
        if self.normal is not None:
            d = np.minimum(d, self.offset - (self.normal[0] * pts[:, 0] + self.normal[1] * pts[:, 1]))
        return d


def random_view(shape: tuple[int, int], landmarks: dict[str, tuple[float, float]], mm_per_px: float,
                rng: np.random.Generator, *, crop: float = 0.6, collimate: float = 0.6) -> PartialView | None:
    """A random partial view of a film of ``shape`` whose joints are ``landmarks`` (film pixels):
    with probability ``crop`` one to three sides cut in to 30-75% of the joints' extent, with
    probability ``collimate`` a straight edge at any angle cutting off 15-60% of the joints (flat
    black, or a low grey). None when the draw hides almost everything (the caller uses the film whole)."""
    h, w = shape
    pts = np.array(list(landmarks.values()), float)
    if len(pts) < MIN_VISIBLE + 2:
        return None
    lo, hi = pts.min(0), pts.max(0)
    ext = hi - lo
    x0, y0, x1, y1 = 0, 0, w, h
    if rng.random() < crop:
        sides = rng.permutation(4)[: int(rng.integers(1, 4))]
        for s in sides:
            keep = float(rng.uniform(0.3, 0.75))
            if s == 0:
                x0 = int(max(x0, lo[0] + (1 - keep) * ext[0]))
            elif s == 1:
                x1 = int(min(x1, hi[0] - (1 - keep) * ext[0]))
            elif s == 2:
                y0 = int(max(y0, lo[1] + (1 - keep) * ext[1]))
            else:
                y1 = int(min(y1, hi[1] - (1 - keep) * ext[1]))
    if x1 - x0 < 32 or y1 - y0 < 32:
        return None
    view = PartialView((x0, y0, x1, y1))
    if rng.random() < collimate:
        t = float(rng.uniform(0, 2 * np.pi))
        n = (float(np.cos(t)), float(np.sin(t)))
        local = pts - [x0, y0]
        proj = np.sort(local @ np.array(n))
        k = int(round(rng.uniform(0.15, 0.6) * len(proj)))
        offset = float(proj[len(proj) - 1 - k]) + float(rng.uniform(0.2, 0.8)) * 4.0 / mm_per_px
        fill = 0.0 if rng.random() < 0.7 else float(rng.uniform(0.0, 0.35))
        view = PartialView((x0, y0, x1, y1), n, offset, fill)
    depth = view.depth_px(pts - [x0, y0])
    return view if int((depth > EDGE_MM / mm_per_px).sum()) >= MIN_VISIBLE else None
