"""What part of a film is exposed: the field of view, for sites a partial film does not show.

A film may show only part of a hand or foot: the detector or whoever exported the film cut it
short, or the X-ray field was collimated to a few digits (outside it the film is flat black, or a
flat grey). :class:`FieldOfView` marks the exposed part: inside the image and not in a flat band
touching the image's border. A site whose place, predicted from the joints that are in view, lies
outside it is ``not_in_view``: not guessed, not scored, and not a reason to refuse the film.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import ndimage

__all__ = ["FieldOfView", "field_of_view"]

# A collimated band is flat: its intensity varies by less than this (share of the film's range)
# over 3 x 3 cells of the film's coarse view (about 250-300 cells a side). Detector noise averaged
# over a cell stays above it on the exposed film; air beside a hand can be as flat, and is told
# apart by the band's shape (MIN_ALONG, MIN_SOLIDITY).
FLAT_RANGE = 0.004
MIN_BAND = 0.01  # a flat region at the border smaller than this share of the film is not a band
MIN_ALONG = 0.5  # a band covers at least this share of one side of the film
MIN_SOLIDITY = 0.85  # the field left exposed by a collimated band fills this share of its convex hull


def _solidity(mask: np.ndarray) -> float:
    """Area of ``mask`` over the area of its convex hull (1 for a convex region)."""
    from scipy.spatial import ConvexHull, QhullError

    ys, xs = np.nonzero(mask)
    if len(xs) < 3:
        return 0.0
    # the cells' corners, so that a one-cell-wide region still has an area
    pts = np.concatenate([np.column_stack([xs + dx, ys + dy]) for dx in (0, 1) for dy in (0, 1)])
    try:
        return float(mask.sum() / ConvexHull(pts).volume)
    except QhullError:
        return 0.0


@dataclass(frozen=True)
class FieldOfView:
    """The exposed part of a film. ``exposed``: boolean cells of ``step`` x ``step`` film pixels;
    ``shape``: the film's (rows, columns)."""

    exposed: np.ndarray
    step: float
    shape: tuple[int, int]

    @property
    def fraction(self) -> float:
        """Share of the film that is exposed."""
        return float(self.exposed.mean())

    def depth_px(self, xy) -> float:
        """How far (film pixels) the point ``(x, y)`` lies inside the exposed field; negative outside
        it (beyond the image or in a collimated band), by the distance to the nearest exposed cell."""
        x, y = float(xy[0]), float(xy[1])
        h, w = self.shape
        inside = 0 <= x < w and 0 <= y < h
        if inside:
            cy, cx = min(int(y // self.step), self.exposed.shape[0] - 1), min(int(x // self.step), self.exposed.shape[1] - 1)
            inside = bool(self.exposed[cy, cx])
        d = self._dist_in if inside else self._dist_out
        gy, gx = np.clip(y / self.step, 0, self.exposed.shape[0] - 1), np.clip(x / self.step, 0, self.exposed.shape[1] - 1)
        cell = float(d[int(gy), int(gx)]) * self.step
        if inside:
            return min(cell, x + 0.5, y + 0.5, w - 0.5 - x, h - 0.5 - y)
        beyond = float(np.hypot(max(0.0, -x, x - (w - 1)), max(0.0, -y, y - (h - 1))))
        return -max(cell, beyond)

    @cached_property
    def _dist_in(self) -> np.ndarray:
        return ndimage.distance_transform_edt(np.pad(self.exposed, 1))[1:-1, 1:-1]

    @cached_property
    def _dist_out(self) -> np.ndarray:
        return ndimage.distance_transform_edt(~self.exposed)


def field_of_view(pixels, factor: float | None = None) -> FieldOfView:
    """The exposed part of a film (a 2-D array, any range, or its
    :class:`~sharpscore.resample.ImagePyramid` with the ``factor`` of a level already made, e.g. the
    localiser's coarse view): flat bands that touch the image's border are left out."""
    from ..resample import ImagePyramid

    if isinstance(pixels, ImagePyramid):
        h, w = pixels.full.shape[-2:]
        cells = pixels.shrunk(factor or max(1.0, min(h, w) / 256)).numpy().astype(np.float32, copy=False)
        hh, ww = cells.shape
        step = h / hh  # film pixels per cell (the level covers the whole film)
    else:
        a = np.asarray(pixels, np.float32)
        h, w = a.shape[:2]
        step = max(1, int(min(h, w) // 256))
        hh, ww = h // step, w // step
        cells = a[: hh * step, : ww * step].reshape(hh, step, ww, step).mean((1, 3))
    lo, hi = np.percentile(cells, [0.5, 99.5])
    span = float(max(hi - lo, 1e-6))
    rng = ndimage.maximum_filter(cells, 3) - ndimage.minimum_filter(cells, 3)
    raw = rng < FLAT_RANGE * span
    # an opening that does not erode a band from the film's border (beyond it counts as flat)
    flat = ndimage.binary_dilation(ndimage.binary_erosion(raw, iterations=3, border_value=1), iterations=3) & raw
    labels, n = ndimage.label(flat)
    band = np.zeros_like(flat)
    if n:
        edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        sizes = ndimage.sum_labels(flat, labels, np.arange(1, n + 1))
        for lab in sorted(edge[edge > 0], key=lambda k: -sizes[k - 1]):
            comp = labels == lab
            # a collimated band runs along a side of the film (a shutter edge crosses it)
            along = max(comp[0].mean(), comp[-1].mean(), comp[:, 0].mean(), comp[:, -1].mean())
            if sizes[lab - 1] < MIN_BAND * flat.size or along < MIN_ALONG:
                continue
            # A collimator leaves a convex field with straight edges; flat air around a hand leaves
            # the hand's outline, far from convex: that is film in view.
            if _solidity(~(band | comp)) >= MIN_SOLIDITY:
                band |= comp
    exposed = ~band
    rows, cols = int(np.ceil(h / step - 1e-6)), int(np.ceil(w / step - 1e-6))
    exposed = np.pad(exposed, ((0, max(0, rows - hh)), (0, max(0, cols - ww))), mode="edge")[:rows, :cols]
    return FieldOfView(exposed=exposed, step=step, shape=(h, w))
