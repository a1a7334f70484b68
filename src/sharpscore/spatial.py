"""Geometry in physical units: pixel spacing, landmark frames and local bone frames (a leaf module).

Conventions, owned here and nowhere else:

- images are indexed ``[row, col]``; points (landmarks) are ``(x, y)`` = ``(col, row)`` pixels;
- :class:`Spacing` is ``(row, col)`` millimetres per pixel, as DICOM ``PixelSpacing``;
- millimetre points are ``(x_mm, y_mm)`` = ``(x * spacing.col, y * spacing.row)``;
- a :class:`BoneFrame` is the local frame of one joint: origin on the landmark, ``t`` along the bone
  axis (positive towards the distal bone), ``s`` across it (positive to the image right of the axis
  when the axis points up). All frame coordinates are millimetres.

Imports only numpy and :mod:`sharpscore.schema`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["Spacing", "SpacingSource", "as_spacing", "to_mm", "to_px", "distance_mm", "BoneFrame", "distal_direction", "bone_frame",
           "SITE_AXES"]


class SpacingSource(enum.StrEnum):
    """Where a radiograph's pixel spacing came from (``Radiograph.spacing_source``)."""

    IMAGER_PIXEL_SPACING = "ImagerPixelSpacing"  # DICOM (0018,1164): at the detector
    IMAGER_PIXEL_SPACING_ERMF = "ImagerPixelSpacing/ERMF"  # ... divided by the magnification factor
    PIXEL_SPACING = "PixelSpacing"  # DICOM (0028,0030)
    HEADER = "header"  # a MetaImage ElementSpacing
    USER = "user"  # given by the caller (load_radiograph(..., spacing_mm=...))
    DATASET = "dataset"  # a training source's configured spacing
    ESTIMATED = "estimated from anatomy"  # from the joint distances of an adult hand or foot
    PHANTOM = "phantom"  # a rendered phantom (exact)
    CACHE = "cache"  # a training crop cached at a known spacing


class Spacing(NamedTuple):
    """Pixel size in millimetres: ``row`` (vertical) and ``col`` (horizontal)."""

    row: float
    col: float

    def scaled(self, row_factor: float, col_factor: float) -> Spacing:
        """The spacing of the image resampled by these factors (a factor 2 halves the pixel count)."""
        return Spacing(self.row * row_factor, self.col * col_factor)

    @property
    def iso(self) -> float:
        """The finer of the two (the scale a resampled isotropic image would have)."""
        return min(self.row, self.col)


def as_spacing(spacing) -> Spacing:
    """A :class:`Spacing` from a ``(row, col)`` pair, a scalar (isotropic) or a Spacing."""
    if isinstance(spacing, Spacing):
        return spacing
    if np.isscalar(spacing):
        return Spacing(float(spacing), float(spacing))
    r, c = spacing
    return Spacing(float(r), float(c))


def to_mm(points_px, spacing) -> np.ndarray:
    """``(..., 2)`` pixel points ``(x, y)`` to millimetres."""
    sp = as_spacing(spacing)
    p = np.asarray(points_px, float)[..., :2]
    return p * np.array([sp.col, sp.row])


def to_px(points_mm, spacing) -> np.ndarray:
    """``(..., 2)`` millimetre points to pixel points ``(x, y)``."""
    sp = as_spacing(spacing)
    return np.asarray(points_mm, float) / np.array([sp.col, sp.row])


def distance_mm(a, b, spacing) -> float:
    """Distance in millimetres between two pixel points."""
    return float(np.linalg.norm(to_mm(b, spacing) - to_mm(a, spacing)))


def _unit(v: np.ndarray) -> np.ndarray | None:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-6 else None


_UP = np.array([0.0, -1.0])  # image "up": digits point up on a standard PA hand / DP foot film

# For each site: (from, to) landmark pairs tried in order; the first pair present gives the
# distal direction. Sites without pairs use the region's long axis.
SITE_AXES: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("hand", "ip"): (("mcp1", "ip"),),
    ("hand", "mcp1"): (("mcp1", "ip"), ("mc1", "mcp1")),
    ("hand", "mc1"): (("mc1", "mcp1"),),
    **{("hand", f"pip{d}"): ((f"mcp{d}", f"dip{d}"), (f"mcp{d}", f"pip{d}"), (f"pip{d}", f"dip{d}"))
       for d in range(2, 6)},
    **{("hand", f"mcp{d}"): ((f"mcp{d}", f"pip{d}"),) for d in range(2, 6)},
    ("foot", "ip"): (("mtp1", "ip"),),
    ("foot", "mtp1"): (("mtp1", "ip"),),
}

# Plausible adult distances (mm) between the landmarks of a pair; a pair outside its range (a
# misplaced neighbour) is not trusted for the axis. Generous: RA deformity and size vary.
_PAIR_MM: dict[tuple[str, str], tuple[float, float]] = {
    ("mcp", "dip"): (35.0, 110.0), ("mcp", "pip"): (20.0, 70.0), ("pip", "dip"): (12.0, 45.0),
    ("mcp1", "ip"): (15.0, 55.0), ("mc1", "mcp1"): (25.0, 70.0), ("mtp1", "ip"): (15.0, 55.0),
}
_MIN_CONFIDENCE = 0.3


def _pair_range(a: str, b: str) -> tuple[float, float]:
    if (a, b) in _PAIR_MM:
        return _PAIR_MM[(a, b)]
    return _PAIR_MM.get((a.rstrip("2345"), b.rstrip("2345")), (5.0, 150.0))


def _hand_axis(lm: Mapping, spacing: Spacing) -> np.ndarray | None:
    """Wrist to third metacarpal head: the long axis of the hand."""
    base = next((lm[n] for n in ("radcar", "capnlun", "lunate") if n in lm), None)
    if base is None:
        wrist = [lm[n] for n in ("cmc3", "cmc4", "mna", "nav", "radius", "ulna") if n in lm]
        base = tuple(np.mean(wrist, 0)) if wrist else None
    tip = lm.get("mcp3")
    if tip is None:
        mcps = [lm[n] for n in ("mcp2", "mcp4", "mcp5") if n in lm]
        tip = tuple(np.mean(mcps, 0)) if mcps else None
    if base is None or tip is None:
        return None
    return _unit(to_mm(tip, spacing) - to_mm(base, spacing))


def _foot_axis(lm: Mapping, spacing: Spacing) -> np.ndarray | None:
    """Perpendicular to the MTP row, pointing to the toes (the side the hallux IP is on)."""
    if "mtp1" not in lm or "mtp5" not in lm:
        return None
    across = to_mm(lm["mtp5"], spacing) - to_mm(lm["mtp1"], spacing)
    n = _unit(np.array([across[1], -across[0]]))
    if n is None:
        return None
    if "ip" in lm:
        if float(n @ (to_mm(lm["ip"], spacing) - to_mm(lm["mtp1"], spacing))) < 0:
            n = -n
    elif n @ _UP < 0:
        n = -n
    return n


def distal_direction(kind: str, site: str, landmarks: Mapping, spacing) -> np.ndarray:
    """Unit vector (x, y in millimetre space) from the proximal to the distal bone at ``site``.

    Falls back from the site's own neighbours to the long axis of the hand (or the foot's MTP row),
    and finally to image "up". Landmarks with a confidence below 0.3 are not used."""
    sp = as_spacing(spacing)
    lm = {k: tuple(v[:2]) for k, v in landmarks.items() if len(v) < 3 or v[2] >= _MIN_CONFIDENCE}
    region_axis = _hand_axis(lm, sp) if kind == "hand" else _foot_axis(lm, sp)
    for a, b in SITE_AXES.get((kind, site), ()):
        if a in lm and b in lm:
            v = to_mm(lm[b], sp) - to_mm(lm[a], sp)
            lo, hi = _pair_range(a, b)
            d = _unit(v)
            # a neighbour at an implausible distance, or pointing backwards, is misplaced
            if d is None or not lo <= float(np.linalg.norm(v)) <= hi:
                continue
            if region_axis is not None and float(d @ region_axis) < -0.2:
                continue
            return d
    return region_axis if region_axis is not None else _UP.copy()


@dataclass(frozen=True)
class BoneFrame:
    """The local frame of one joint: ``origin`` (x, y pixels), ``axis`` (unit, mm space, towards the
    distal bone) and the image's :class:`Spacing`. Frame coordinates ``(t, s)`` are millimetres."""

    origin: tuple[float, float]
    axis: tuple[float, float]
    spacing: Spacing

    @property
    def normal(self) -> np.ndarray:
        a = np.asarray(self.axis, float)
        return np.array([-a[1], a[0]])

    def to_px(self, t, s) -> tuple[np.ndarray, np.ndarray]:
        """Pixel ``(x, y)`` arrays of frame points ``(t, s)`` (broadcast)."""
        t, s = np.asarray(t, float), np.asarray(s, float)
        a, n = np.asarray(self.axis, float), self.normal
        x_mm = t * a[0] + s * n[0]
        y_mm = t * a[1] + s * n[1]
        return self.origin[0] + x_mm / self.spacing.col, self.origin[1] + y_mm / self.spacing.row

    def from_px(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``(t, s)`` of pixel points ``(x, y)`` (broadcast)."""
        dx = (np.asarray(x, float) - self.origin[0]) * self.spacing.col
        dy = (np.asarray(y, float) - self.origin[1]) * self.spacing.row
        a, n = np.asarray(self.axis, float), self.normal
        return dx * a[0] + dy * a[1], dx * n[0] + dy * n[1]

    def bounding_box(self, radius_mm: float, shape: tuple[int, int]) -> tuple[slice, slice] | None:
        """Row and column slices of the pixels within ``radius_mm`` of the origin (None if outside)."""
        h, w = shape
        rx, ry = radius_mm / self.spacing.col, radius_mm / self.spacing.row
        x0, x1 = int(max(0, np.floor(self.origin[0] - rx))), int(min(w, np.ceil(self.origin[0] + rx) + 1))
        y0, y1 = int(max(0, np.floor(self.origin[1] - ry))), int(min(h, np.ceil(self.origin[1] + ry) + 1))
        if x1 <= x0 or y1 <= y0:
            return None
        return slice(y0, y1), slice(x0, x1)


def bone_frame(kind: str, site: str, landmarks: Mapping, spacing) -> BoneFrame:
    """The :class:`BoneFrame` of ``site`` from its landmark and the distal direction."""
    p = landmarks[site]
    d = distal_direction(kind, site, landmarks, spacing)
    return BoneFrame((float(p[0]), float(p[1])), (float(d[0]), float(d[1])), as_spacing(spacing))
