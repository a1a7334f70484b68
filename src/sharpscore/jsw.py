"""Joint-space width (JSW) in millimetres, measured on the film.

For each joint where SvdH scores narrowing on a digit (finger MCP and PIP, hallux IP and MTP) the
joint is read in its bone frame (:class:`sharpscore.spatial.BoneFrame`: ``t`` along the bone axis,
``s`` across it, both mm). Several parallel intensity profiles along the axis over the central part
of the joint each give a width: the trough between the two bone ends, its edges where the
intensity is back half-way to each bone's level (sub-sample interpolated). The JSW is their median,
``sd_mm`` the robust spread of the profiles divided by the square root of their number, and
``measurable`` is false (with the reason) when the joint cannot be read: too few profiles show a
joint space (overlap, ankylosis, luxation), the profiles disagree, or the landmark is unsure.

The wrist sites are not measured: their joint spaces are curved and overlap on a PA film.

Limits: the edges are the conventional half-way points, so a space narrower than the film's blur
(about 0.3-0.4 mm on typical films) reads wider than it is; phantom accuracy and repeatability are
in ``bench/results/jsw.json`` (``python bench/jsw.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, map_coordinates

from . import schema
from .spatial import BoneFrame, bone_frame

__all__ = ["JointSpace", "measure_jsw", "sample_in_frame", "MEASURED_FAMILIES", "NORMAL_ADULT_JSW_MM",
           "normal_jsw_mm"]

# Typical healthy adult joint-space widths (mm) by joint type, as computerised JSW studies report
# them (MCP about 1.5-2, PIP about 1, MTP like the MCP, hallux IP like a PIP); the phantoms use the same.
NORMAL_ADULT_JSW_MM = {"mcp": 1.7, "pip": 1.1, "mtp": 1.7, "ip": 1.0}


def normal_jsw_mm(site: str) -> float | None:
    """The typical healthy adult width of a measured site, or None for sites not measured."""
    return NORMAL_ADULT_JSW_MM.get("ip" if site == "ip" else site[:3])

MEASURED_FAMILIES = ("finger", "foot")
_STEP_MM = 0.02  # profile sampling step
_HALF_LEN_MM = 4.0  # profile half-length along the axis
_SEARCH_MM = 2.5  # the joint space lies this close to the landmark
_PROFILES = 9
_SPAN = {"finger": 2.0, "foot": 2.6}  # half-width (mm) of the central part read, across the axis
_BAND_MM = 0.25  # each profile averages over |s - s_i| <= this
_MIN_PROFILES = 5
_MAX_SPREAD_MM = 0.35
_MIN_CONFIDENCE = 0.3


@dataclass(frozen=True)
class JointSpace:
    """The joint-space width of one joint: ``width_mm`` (None when not measurable), ``sd_mm`` (its
    standard error), ``measurable`` and, when not, ``reason``; ``profiles`` read / ``used``."""

    site: str
    width_mm: float | None
    sd_mm: float | None
    measurable: bool
    reason: str | None = None
    profiles: int = 0
    used: int = 0

    def to_dict(self) -> dict:
        out = asdict(self)
        for k in ("width_mm", "sd_mm"):
            out[k] = None if out[k] is None else round(out[k], 3)
        return out


def sample_in_frame(pixels: np.ndarray, frame: BoneFrame, t, s, order: int = 1) -> np.ndarray:
    """Film intensity at frame coordinates ``(t, s)`` (mm; broadcast arrays), bilinear by default."""
    x, y = frame.to_px(t, s)
    return map_coordinates(pixels, [np.ravel(y), np.ravel(x)], order=order, mode="nearest").reshape(np.shape(x))


def _crossing(t: np.ndarray, v: np.ndarray, i: int, level: float, step: int) -> float | None:
    """Where the profile, walking from index ``i`` in direction ``step``, first rises to ``level``
    (linear interpolation between samples)."""
    j = i
    while 0 <= j + step < len(v):
        if v[j + step] >= level:
            a, b = v[j], v[j + step]
            f = (level - a) / (b - a) if b != a else 0.0
            return float(t[j] + f * (t[j + step] - t[j]))
        j += step
    return None


EDGE_FRACTION = 0.5  # half-way from the joint space to the bone: the conventional edge


def _profile_width(t: np.ndarray, v: np.ndarray) -> tuple[float, float] | None:
    """(width, centre) of the joint space on one axis profile, or None when there is no clear trough."""
    rng = float(v.max() - v.min())
    if rng <= 0:
        return None
    best = None
    for i in range(1, len(v) - 1):
        if abs(t[i]) > _SEARCH_MM or not (v[i] <= v[i - 1] and v[i] <= v[i + 1]):
            continue
        depth = min(v[: i + 1].max(), v[i:].max()) - v[i]
        if depth > 0.15 * rng and (best is None or depth > best[1]):
            best = (i, depth)
    if best is None:
        return None
    i = best[0]
    # Each bone's level: the maximum within 3 mm of the trough on its side (the subchondral plate;
    # wider than any joint space, so a flat-bottomed space still reaches bone on both sides).
    near = np.abs(t - t[i]) <= 3.0
    left = v[: i + 1][near[: i + 1]].max()
    right = v[i:][near[i:]].max()
    lo = _crossing(t, v, i, v[i] + EDGE_FRACTION * (left - v[i]), -1)
    hi = _crossing(t, v, i, v[i] + EDGE_FRACTION * (right - v[i]), +1)
    if lo is None or hi is None:
        return None
    return hi - lo, 0.5 * (lo + hi)


def measure_jsw(pixels: np.ndarray, landmarks: Mapping, spacing, region: str,
                sites: list[str] | None = None) -> dict[str, JointSpace]:
    """JSW of every narrowing site of ``region`` (or ``sites``) from ``landmarks`` (``{site: (x, y[,
    confidence])}`` in pixels) on ``pixels`` (bone bright) at ``spacing`` (mm)."""
    kind = schema.region_kind(region)
    out: dict[str, JointSpace] = {}
    t = np.arange(-_HALF_LEN_MM, _HALF_LEN_MM + 1e-9, _STEP_MM)
    band = np.linspace(-_BAND_MM, _BAND_MM, 5)
    for site in schema.sites(region):
        if site.jsn_max == 0 or (sites is not None and site.name not in sites):
            continue
        name = site.name
        if site.family not in MEASURED_FAMILIES:
            out[name] = JointSpace(name, None, None, False, "wrist_not_measured")
            continue
        if name not in landmarks:
            out[name] = JointSpace(name, None, None, False, "not_located")
            continue
        p = landmarks[name]
        if len(p) > 2 and p[2] is not None and p[2] < _MIN_CONFIDENCE:
            out[name] = JointSpace(name, None, None, False, "low_confidence")
            continue
        frame = bone_frame(kind, name, landmarks, spacing)
        span = _SPAN[site.family]
        offsets = np.linspace(-span, span, _PROFILES)
        vals = sample_in_frame(pixels, frame, t[:, None, None], offsets[None, :, None] + band[None, None, :]).mean(2)
        found = []
        for k in range(_PROFILES):
            v = gaussian_filter1d(vals[:, k], 0.06 / _STEP_MM)
            r = _profile_width(t, v)
            if r is not None:
                found.append((k, r))
        if len(found) < _MIN_PROFILES:
            out[name] = JointSpace(name, None, None, False, "no_joint_space", _PROFILES, len(found))
            continue
        s_at = np.array([offsets[k] for k, _ in found])
        widths = np.array([w for _, (w, _) in found])
        centres = np.array([c for _, (_, c) in found])
        # profiles that found another trough (a neighbouring structure) are dropped
        keep = np.abs(centres - np.median(centres)) <= 0.6
        s_at, widths = s_at[keep], widths[keep]
        if len(widths) < _MIN_PROFILES:
            out[name] = JointSpace(name, None, None, False, "inconsistent_profiles", _PROFILES, len(widths))
            continue
        # The width across the joint as a smooth curve (articular surfaces are curved and the space
        # may be wedge-shaped); the JSW is its value under the landmark, the joint's centre.
        coef = np.polyfit(s_at, widths, 2)
        fitted = np.polyval(coef, s_at)
        width = float(np.polyval(coef, 0.0))
        resid = widths - fitted
        spread = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
        if spread > _MAX_SPREAD_MM or width <= 0:
            out[name] = JointSpace(name, None, None, False, "inconsistent_profiles", _PROFILES, len(widths))
            continue
        sd = max(spread, 0.02) * np.sqrt(3.0 / len(widths))  # a 3-parameter fit's standard error
        out[name] = JointSpace(name, width, float(sd), True, None, _PROFILES, len(widths))
    return out
