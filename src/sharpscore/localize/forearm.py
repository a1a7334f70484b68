"""The distal ulna found on the film itself.

The real-wrist template (:mod:`.wrist_template`) places the ``ulna`` site from the metacarpals as the
Digital Hand Atlas adolescents have it; an adult's wider distal radius and radio-ulnar joint put the
real ulnar head 10-20 mm farther out, inside what the template calls radius (the adult hand DICOM).
:func:`find_ulna` reads the forearm across its axis just proximal to the radiocarpal joint: the
radius (bright, under ``radcar``), the dark distal radio-ulnar gap on the ulnar side (towards
``mcp5``), then the ulna; the site is the middle of that band, a few millimetres proximal to where
the ulna ends along its own line. Nothing is returned when the profile does not show that pattern.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..jsw import sample_in_frame
from ..spatial import as_spacing, bone_frame, to_mm

__all__ = ["find_ulna", "HEAD_DEPTH_MM"]

_STEP = 0.1  # mm
HEAD_DEPTH_MM = 5.0  # the site lies this far proximal to the ulna's distal end
_LEVELS_MM = (-12.0, -4.0)  # where across the forearm is read: proximal to radcar


def _band_edges(v: np.ndarray, start: int, level: float, above: bool) -> int | None:
    """First index from ``start`` where ``v`` crosses ``level`` (going below it when ``above``)."""
    idx = np.flatnonzero(v[start:] < level) if above else np.flatnonzero(v[start:] >= level)
    return start + int(idx[0]) if len(idx) else None


def find_ulna(pixels: np.ndarray, landmarks: Mapping[str, tuple[float, ...]], spacing) \
        -> tuple[float, float] | None:
    """``(x, y)`` pixels of the distal ulna's head, or None when the film does not show it clearly
    (needs ``radcar``, ``mcp2`` and ``mcp5``)."""
    if not all(k in landmarks for k in ("radcar", "mcp2", "mcp5")):
        return None
    sp = as_spacing(spacing)
    frame = bone_frame("hand", "radcar", landmarks, sp)
    ulnar = float(np.sign(frame.normal @ (to_mm(landmarks["mcp5"][:2], sp) - to_mm(landmarks["mcp2"][:2], sp))))
    if ulnar == 0:
        return None
    s = np.arange(0.0, 50.0 + 1e-9, _STEP)
    t = np.linspace(*_LEVELS_MM, 9)
    v = gaussian_filter1d(sample_in_frame(pixels, frame, t[:, None], ulnar * s[None, :]).mean(0), 0.5 / _STEP)
    radius = float(np.median(v[s <= 3.0]))
    floor = float(v[s <= 40.0].min())
    contrast = radius - floor
    if contrast < 0.04:
        return None
    # the distal radio-ulnar gap: the deepest valley (below the brighter of the bone on either side)
    # between 2 and 35 mm out that is followed by a band at least 4 mm wide
    best = None
    for i in np.flatnonzero((s >= 2.0) & (s <= 35.0)):
        if not (v[i] <= v[i - 1] and v[i] <= v[i + 1]):
            continue
        left = float(v[:i].max())
        right_part = v[i:min(len(s), i + int(20.0 / _STEP))]
        peak = i + int(np.argmax(right_part))
        depth = min(left, float(v[peak])) - float(v[i])
        if depth < 0.06 * contrast:
            continue
        half = float(v[i]) + 0.5 * (float(v[peak]) - float(v[i]))
        lo = _band_edges(v, i, half, above=False)
        hi = _band_edges(v, peak, half, above=True)
        if lo is None or hi is None or not 4.0 <= s[hi] - s[lo] <= 25.0:
            continue
        if best is None or depth > best[0]:
            best = (depth, i, lo, hi)
    if best is None:
        return None
    _, gap, lo, hi = best
    centre = ulnar * 0.5 * (s[lo] + s[hi])
    # along the ulna's own line: its distal end, walking distally from the levels read above
    tt = np.arange(_LEVELS_MM[0], 20.0 + 1e-9, _STEP)
    w = gaussian_filter1d(sample_in_frame(pixels, frame, tt[:, None], centre + np.linspace(-1.5, 1.5, 7)[None, :])
                          .mean(1), 0.5 / _STEP)
    bone = float(np.median(w[tt <= _LEVELS_MM[1]]))
    end = _band_edges(w, int((_LEVELS_MM[1] - _LEVELS_MM[0]) / _STEP), float(v[gap]) + 0.5 * (bone - float(v[gap])),
                      above=True)
    if end is None:
        return None
    x, y = frame.to_px(tt[end] - HEAD_DEPTH_MM, centre)
    return float(x), float(y)
