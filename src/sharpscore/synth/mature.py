"""Skeletal maturation on real films: the open growth plates of a child's hand closed, as in an adult.

The real films that teach the scorer real bone (the USC Digital Hand Atlas) are children's and
adolescents' hands: at nearly every finger joint the base of the phalanx is a separate epiphysis, a
thin bright disc followed by a dark line (the physis), and the metacarpal heads and the distal
radius and ulna have one too (:mod:`sharpscore.api.growth_plates` finds them; 84% of the atlas
films show them at a median of 12 joints, no adult film does). A scorer that saw a physis beside
every healthy real joint meets adult RA films, where the bone runs on solid, as something it never
saw. :func:`close_growth_plates` fuses each physis it finds: across the bone, column by column in
the joint's local bone frame (mm), the dark band between its two bright shoulders is raised to the
line joining them, with the film's own texture kept. Nothing outside a found physis changes, and
the joint spaces (at ``t`` near 0) are never searched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from .. import schema
from ..jsw import sample_in_frame
from ..spatial import BoneFrame, as_spacing, bone_frame

__all__ = ["Physis", "PHYSES", "MaturationResult", "close_physis", "close_growth_plates"]

_STEP_MM = 0.1
_SHOULDER_MM = 2.0


@dataclass(frozen=True)
class Physis:
    """Where a growth plate is searched for: beside ``site``, between ``t_range`` mm along its bone
    axis (positive: into the distal bone), across at most ``half_width_mm`` of bone. ``axis_of``:
    the site whose axis to use when the site's own is not the bone's (the ulna follows the radius)."""

    site: str
    t_range: tuple[float, float]
    half_width_mm: float
    axis_of: str | None = None

    @property
    def name(self) -> str:
        return f"{self.site}{'+' if self.t_range[0] > 0 else '-'}"


_FINGERS = ("ip", "mcp1", "mcp2", "mcp3", "mcp4", "mcp5", "pip2", "pip3", "pip4", "pip5", "dip2", "dip3", "dip4",
            "dip5")
# Every phalanx's basal physis (distal to its joint), the metacarpal heads' (proximal to MCP2-5: the
# thumb's metacarpal grows at its base instead), the distal radius's and ulna's.
PHYSES: tuple[Physis, ...] = (
    *(Physis(s, (1.5, 6.5), 6.0) for s in _FINGERS),
    *(Physis(f"mcp{i}", (-10.0, -2.5), 6.5) for i in range(2, 6)),
    Physis("radcar", (-18.0, -3.0), 14.0),
    Physis("ulna", (-12.0, 2.0), 7.0, axis_of="radcar"),
)


@dataclass
class MaturationResult:
    """The film with its growth plates closed (``pixels``) and, per physis closed, its depth before
    (intensity units) and the width of bone (mm) it spanned."""

    pixels: np.ndarray
    closed: dict[str, tuple[float, float]]


def _trough(v: np.ndarray, lo: int, hi: int, sh: int) -> tuple[int, float]:
    """Deepest local minimum of ``v`` in ``[lo, hi)`` below the lower of its shoulders (maxima within
    ``sh`` samples on either side): ``(index, depth)``, depth 0 when none."""
    best, depth = -1, 0.0
    for i in range(max(lo, 1), min(hi, len(v) - 1)):
        if v[i] <= v[i - 1] and v[i] <= v[i + 1]:
            d = min(v[max(0, i - sh):i].max(), v[i + 1:i + 1 + sh].max()) - v[i]
            if d > depth:
                best, depth = i, float(d)
    return best, depth


def close_physis(pixels: np.ndarray, frame: BoneFrame, physis: Physis, *, min_depth: float = 0.1,
                 completeness: float = 1.0) -> tuple[np.ndarray, float, float]:
    """Close one growth plate: ``(pixels, depth, width_mm)``; the film unchanged and depth 0 when no
    physis is found (a central trough shallower than ``min_depth`` of the profile's range, as
    :func:`sharpscore.api.growth_plates.physis_depth` measures it). ``completeness`` < 1 leaves a
    faint physeal scar."""
    t0, t1 = physis.t_range
    t = np.arange(t0 - _SHOULDER_MM, t1 + _SHOULDER_MM + 1e-9, _STEP_MM)
    s = np.arange(-physis.half_width_mm, physis.half_width_mm + 1e-9, _STEP_MM)
    raw = sample_in_frame(pixels, frame, t[:, None], s[None, :])
    sm = gaussian_filter(raw, (1.0, 3.0))
    sh = int(round(_SHOULDER_MM / _STEP_MM))
    lo, hi = int(round(_SHOULDER_MM / _STEP_MM)), len(t) - sh
    mid = len(s) // 2
    centre = sm[:, np.abs(s) <= 1.5].mean(1)
    i0, depth0 = _trough(centre, lo, hi, sh)
    if i0 < 0 or depth0 < min_depth * (float(centre.max() - centre.min()) + 1e-6):
        return pixels, 0.0, 0.0
    delta = np.zeros_like(sm)
    span = [mid, mid]
    for direction in (1, -1):
        i = i0
        for j in range(mid, len(s) if direction > 0 else -1, direction):
            col = sm[:, j]
            k, d = _trough(col, max(lo, i - 2), min(hi, i + 3), sh)
            if k < 0 or d < 0.25 * depth0:
                break  # the bone's edge: the physis ends here
            i = k
            left = max(0, k - sh) + int(np.argmax(col[max(0, k - sh):k]))
            right = k + 1 + int(np.argmax(col[k + 1:k + 1 + sh]))
            line = np.interp(np.arange(left, right + 1), [left, right], [col[left], col[right]])
            delta[left:right + 1, j] = np.maximum(delta[left:right + 1, j], line - col[left:right + 1])
            span[0 if direction < 0 else 1] = j
    if span[1] - span[0] < 2:
        return pixels, 0.0, 0.0
    delta = completeness * gaussian_filter(delta, (0.5, 1.5))
    reach = float(np.hypot(max(abs(t0), abs(t1)) + _SHOULDER_MM, physis.half_width_mm))
    box = frame.bounding_box(reach, pixels.shape)
    if box is None:
        return pixels, 0.0, 0.0
    ys, xs = np.mgrid[box[0], box[1]]
    tp, sp = frame.from_px(xs, ys)
    add = map_coordinates(delta, [(tp - t[0]) / _STEP_MM, (sp - s[0]) / _STEP_MM], order=1, mode="constant",
                          cval=0.0)
    out = pixels.copy()
    out[box] = np.clip(out[box] + add.astype(out.dtype), 0.0, 1.0)
    return out, depth0, float((span[1] - span[0]) * _STEP_MM)


def close_growth_plates(pixels: np.ndarray, landmarks: Mapping[str, tuple[float, ...]], spacing, region: str, *,
                        seed: int | np.random.Generator = 0, scar: tuple[float, float] = (0.85, 1.0),
                        physes: tuple[Physis, ...] = PHYSES) -> MaturationResult:
    """Close every open growth plate found beside the landmarks of a hand film (:data:`PHYSES`);
    each is closed by a fraction drawn from ``scar`` (1: no trace left). Feet and films without
    growth plates come back unchanged."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    out = np.asarray(pixels, np.float32)
    closed: dict[str, tuple[float, float]] = {}
    if schema.region_kind(region) != "hand":
        return MaturationResult(out, closed)
    sp = as_spacing(spacing)
    lm = {k: tuple(float(c) for c in v) for k, v in landmarks.items()}
    for ph in physes:
        if ph.site not in lm or (ph.axis_of and ph.axis_of not in lm):
            continue
        frame = bone_frame("hand", ph.site, lm, sp)
        if ph.axis_of:
            frame = BoneFrame(frame.origin, bone_frame("hand", ph.axis_of, lm, sp).axis, sp)
        out, depth, width = close_physis(out, frame, ph, completeness=float(rng.uniform(*scar)))
        if depth > 0:
            closed[ph.name] = (round(depth, 4), round(width, 2))
    return MaturationResult(out, closed)
