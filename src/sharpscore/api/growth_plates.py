"""Open growth plates: the sign of a child's or adolescent's hand.

Until the skeleton matures, the base of every phalanx is a separate epiphysis: along the finger,
just distal to the joint space comes a thin bright disc and then a second dark line, the physis
(growth plate), about 1.5-6.5 mm beyond the joint. An adult phalanx base continues as solid bone.
:func:`physis_depths` reads that second trough from an intensity profile along each finger's axis;
a hand with several clear troughs has open growth plates, and the models (trained for adult RA
hands) must not be trusted there.

Checked with ``python bench/growth_plates.py``: real Digital Hand Atlas children against phantom
adult hands (healthy and diseased) and the real adult hand DICOM.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d, map_coordinates

from ..spatial import distal_direction, to_px

__all__ = ["PHYSIS_JOINTS", "physis_profile", "physis_depth", "physis_depths", "open_growth_plates"]

# Joints whose distal bone has a basal epiphysis: every phalanx (MCP -> proximal phalanx,
# PIP -> middle, DIP and thumb IP -> distal).
PHYSIS_JOINTS = ("ip", "mcp1", "mcp2", "mcp3", "mcp4", "mcp5", "pip2", "pip3", "pip4", "pip5",
                 "dip2", "dip3", "dip4", "dip5")
MIN_CONFIDENCE = 0.3


def physis_profile(pixels: np.ndarray, landmarks: dict, site: str, spacing_mm: tuple[float, float], *,
                   half_width_mm: float = 1.5, start_mm: float = -2.0, stop_mm: float = 8.0,
                   step_mm: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Mean intensity across the central ``2 * half_width_mm`` of the bone along the finger axis
    through ``site``: ``(t_mm, values)``, ``t`` measured from the joint towards the distal bone."""
    d = distal_direction("hand", site, landmarks, spacing_mm)
    normal = np.array([-d[1], d[0]])
    x0, y0 = landmarks[site][:2]
    t = np.arange(start_mm, stop_mm + 1e-9, step_mm)
    s = np.linspace(-half_width_mm, half_width_mm, 13)
    mm = t[:, None, None] * d + s[None, :, None] * normal  # (T, S, 2) offsets in mm (x, y)
    off = to_px(mm, spacing_mm)
    xs, ys = x0 + off[..., 0], y0 + off[..., 1]
    v = map_coordinates(pixels, [ys, xs], order=1, mode="nearest").mean(1)
    return t, gaussian_filter1d(v, 1.0)


def physis_depth(t: np.ndarray, v: np.ndarray, lo_mm: float = 1.5, hi_mm: float = 6.5,
                 shoulder_mm: float = 2.0) -> float:
    """Depth of the deepest local minimum between ``lo_mm`` and ``hi_mm`` beyond the joint, below
    the lower of the brightest points within ``shoulder_mm`` on either side, as a fraction of the
    profile's range (0: no second trough)."""
    span = float(v.max() - v.min()) + 1e-6
    best = 0.0
    for i in np.flatnonzero((t >= lo_mm) & (t <= hi_mm)):
        if 0 < i < len(v) - 1 and v[i] <= v[i - 1] and v[i] <= v[i + 1]:
            left = v[(t >= t[i] - shoulder_mm) & (t < t[i])].max()
            right = v[(t > t[i]) & (t <= t[i] + shoulder_mm)].max()
            best = max(best, float(min(left, right) - v[i]) / span)
    return best


def physis_depths(pixels: np.ndarray, landmarks: dict, spacing_mm: tuple[float, float]) -> dict[str, float]:
    """Second-trough depth of every confidently located phalangeal joint of a hand."""
    pixels = np.asarray(pixels, np.float32)  # once, not per joint
    out = {}
    for site in PHYSIS_JOINTS:
        p = landmarks.get(site)
        if p is None or (len(p) > 2 and p[2] < MIN_CONFIDENCE):
            continue
        out[site] = physis_depth(*physis_profile(pixels, landmarks, site, spacing_mm))
    return out


def open_growth_plates(pixels: np.ndarray, landmarks: dict, spacing_mm: tuple[float, float], *,
                       depth: float = 0.15, min_joints: int = 4) -> tuple[bool, int, int]:
    """``(suspected, joints_with_a_physis, joints_checked)``: suspected when at least
    ``min_joints`` joints show a second trough deeper than ``depth``."""
    depths = physis_depths(pixels, landmarks, spacing_mm)
    n = sum(v > depth for v in depths.values())
    return n >= min_joints, n, len(depths)
