"""Scoring crops in physical units, oriented along the local bone axis, left mirrored to right.

Every crop is ``size`` x ``size`` pixels covering ``fov_mm`` (per site family) centred on the site's
landmark. Its vertical axis follows the bone (distal end at the top) as given by neighbouring
landmarks; crops of left hands and feet are mirrored so that every crop looks like a right one.
"""

from __future__ import annotations

import numpy as np

from .. import schema

__all__ = ["distal_direction", "site_crop_matrix", "SITE_AXES"]

_UP = np.array([0.0, -1.0])  # image "up": digits point up on a standard PA hand / DP foot film

# For each site: (from, to) landmark pairs tried in order; the first pair present gives the
# distal direction. "*hand_axis" and "*foot_axis" are derived axes (see distal_direction).
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


def _mm(p, spacing: tuple[float, float]) -> np.ndarray:
    return np.array([p[0] * spacing[1], p[1] * spacing[0]], float)


def _unit(v: np.ndarray) -> np.ndarray | None:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-6 else None


def _hand_axis(lm: dict, spacing) -> np.ndarray | None:
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
    return _unit(_mm(tip, spacing) - _mm(base, spacing))


def _foot_axis(lm: dict, spacing) -> np.ndarray | None:
    """Perpendicular to the MTP row, pointing to the toes (the side the hallux IP is on)."""
    if "mtp1" not in lm or "mtp5" not in lm:
        return None
    across = _mm(lm["mtp5"], spacing) - _mm(lm["mtp1"], spacing)
    n = _unit(np.array([across[1], -across[0]]))
    if n is None:
        return None
    if "ip" in lm:
        if float(n @ (_mm(lm["ip"], spacing) - _mm(lm["mtp1"], spacing))) < 0:
            n = -n
    elif n @ _UP < 0:
        n = -n
    return n


def distal_direction(kind: str, site: str, landmarks: dict, spacing_mm: tuple[float, float]) -> np.ndarray:
    """Unit vector (x, y in millimetre space) from the proximal to the distal bone at ``site``.

    Falls back from the site's own neighbours to the long axis of the hand (or the foot's MTP row),
    and finally to image "up"."""
    lm = {k: tuple(v[:2]) for k, v in landmarks.items() if len(v) < 3 or v[2] >= _MIN_CONFIDENCE}
    region_axis = _hand_axis(lm, spacing_mm) if kind == "hand" else _foot_axis(lm, spacing_mm)
    for a, b in SITE_AXES.get((kind, site), ()):
        if a in lm and b in lm:
            v = _mm(lm[b], spacing_mm) - _mm(lm[a], spacing_mm)
            lo, hi = _pair_range(a, b)
            d = _unit(v)
            # a neighbour at an implausible distance, or pointing backwards, is misplaced
            if d is None or not lo <= float(np.linalg.norm(v)) <= hi:
                continue
            if region_axis is not None and float(d @ region_axis) < -0.2:
                continue
            return d
    return region_axis if region_axis is not None else _UP.copy()


def site_crop_matrix(centre_px: tuple[float, float], distal: np.ndarray, spacing_mm: tuple[float, float],
                     fov_mm: float, size: int, *, mirror: bool = False, rotate_deg: float = 0.0,
                     scale: float = 1.0, shift_mm: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """3x3 matrix mapping crop pixels (x, y, 1) to source pixels.

    The crop is centred on ``centre_px`` (shifted by ``shift_mm`` in the crop's own frame), covers
    ``fov_mm / scale`` millimetres, has ``distal`` pointing up (rotated by ``rotate_deg``), and is
    mirrored left-right when ``mirror`` is set."""
    d = np.asarray(distal, float)
    t = np.deg2rad(rotate_deg)
    c, s = np.cos(t), np.sin(t)
    d = np.array([c * d[0] - s * d[1], s * d[0] + c * d[1]])
    right = np.array([-d[1], d[0]])  # the crop's +x direction in mm space
    if mirror:
        right = -right
    down = -d  # the crop's +y direction
    step = fov_mm / scale / size  # mm per crop pixel
    sr, sc = spacing_mm
    to_px = np.diag([1.0 / sc, 1.0 / sr])
    half = (size - 1) / 2.0
    a = to_px @ np.column_stack([right * step, down * step])
    centre = np.asarray(centre_px, float) + to_px @ (right * shift_mm[0] + down * shift_mm[1])
    m = np.eye(3)
    m[:2, :2] = a
    m[:2, 2] = centre - a @ np.array([half, half])
    return m


def family_of(kind: str, site: str) -> str:
    return schema.site(kind, site).family
