"""Disease on real radiographs: joint-space narrowing and erosions drawn into a real film.

Every edit works in the joint's local bone frame in millimetres (:class:`sharpscore.spatial.BoneFrame`:
``t`` along the bone axis towards the distal bone, ``s`` across it), so it means the same at any pixel
spacing. What is edited is measured on the film itself:

- **JSN** (:func:`narrow_joint`): the joint space is found on the intensity profile along the axis
  (:func:`measure_gap`) and closed by the grade's fraction (the phantoms' ``JSN_GAP_FACTOR``) by a
  smooth, invertible displacement of the distal bone towards the proximal one; the displacement fades
  out over the distal bone and across the joint, so soft tissue and neighbours follow and nothing
  tears. Grade 1 is focal (one side of the joint), 2-3 generalised, 3-4 optionally with subluxation
  (a sideways shift), 4 optionally with bony bridging (ankylosis). A narrowing the film does not show
  (:func:`narrowing_visible`: the joint space measured again kept >= 90% of its width) is recorded as
  unknown (``None``), not as the grade asked for.
- **Erosion** (:func:`erode_joint`): marginal cortical defects at the bone ends next to the joint
  (or, at the carpal and distal forearm sites, around the bone under the landmark). Along a ray from
  the bone centre the cortical edge is found; there bone attenuation is replaced by the level without
  bone just beside it (the darkest within 1.5 mm beyond the edge) with a soft edge and a little
  texture kept, breaking the cortical line. The eroded share of the surface follows the phantoms'
  ``EROSION_FRACTION`` rule, of the bone end's outline next to a finger or foot joint and of the whole
  outline of a carpal bone or the distal radius or ulna; feet (0-10) split the grade between the two
  bones of the joint.
- **Nuisances** (:func:`periarticular_osteopenia`, :func:`soft_tissue_swelling`): optional,
  independent of the grades, so that a scorer learns they are not damage.

:func:`edit_radiograph` applies per-joint grades (e.g. from
:func:`sharpscore.synth.real_prior.sample_real_grades`) to a whole film and returns the edited pixels
and the landmarks moved with the bones. A grade-0 edit without nuisances returns the film unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter, gaussian_filter1d, map_coordinates

from .. import schema
from ..jsw import MEASURED_FAMILIES, measure_jsw, sample_in_frame
from ..spatial import BoneFrame, Spacing, as_spacing, bone_frame
from .anatomy import EROSION_FRACTION, JSN_GAP_FACTOR, normal_gap_mm

__all__ = ["Gap", "measure_gap", "bone_half_width", "to_adult_reference", "narrow_joint", "narrowing_visible",
           "erode_joint",
           "periarticular_osteopenia",
           "soft_tissue_swelling", "EditResult", "edit_radiograph", "EditNuisances"]

_N_LESIONS = {0: 0, 1: 1, 2: 2, 3: 2, 4: 3, 5: 4}
_BAND_MM = {"finger": 1.2, "wrist": 1.8, "foot": 1.8}  # half-width of the band a profile averages over
_DEFAULT_HALF_WIDTH = {"finger": 5.0, "wrist": 6.0, "foot": 7.0}
_STEP_MM = 0.05
_SOFT_SEARCH_MM = 1.5  # how far beyond a bone edge the level without bone is looked for
# The widest a wrist joint's displacement reaches across its axis (half-width, mm), the radiocarpal
# joint's excepted: a CMC or intercarpal joint is one bone wide, and its neighbours' joints lie beside
# it at the same level. The across profile there runs along a continuous row of carpal bones and finds
# no bone edge (up to the 11 mm clip), so the warp sheared the whole row: a sharp line across every
# neighbouring base, and their joint spaces narrowed too under a grade of 0.
_WRIST_JOINT_HALF_WIDTH_MM = 6.0


_sample = sample_in_frame  # film intensity at bone-frame coordinates (mm)


@dataclass(frozen=True)
class Gap:
    """A joint space on the axis profile: ``centre`` and edges ``proximal``/``distal`` (mm along the
    axis from the landmark), ``width`` (mm) and ``depth`` (trough depth in intensity units; 0 when no
    trough was found and the width is the normal adult value)."""

    centre: float
    proximal: float
    distal: float
    depth: float

    @property
    def width(self) -> float:
        return self.distal - self.proximal

    @property
    def found(self) -> bool:
        return self.depth > 0


def axis_profile(pixels: np.ndarray, frame: BoneFrame, half_len_mm: float = 6.0,
                 band_mm: float = 1.2) -> tuple[np.ndarray, np.ndarray]:
    """Mean intensity along the axis (``t`` in mm) over a band ``|s| <= band_mm``."""
    t = np.arange(-half_len_mm, half_len_mm + 1e-9, _STEP_MM)
    s = np.linspace(-band_mm, band_mm, 7)
    v = _sample(pixels, frame, t[:, None], s[None, :]).mean(1)
    return t, gaussian_filter1d(v, 0.08 / _STEP_MM)


def measure_gap(pixels: np.ndarray, frame: BoneFrame, *, site: str = "", family: str = "finger",
                search_mm: float = 3.0) -> Gap:
    """The joint space nearest the landmark: the deepest trough within ``search_mm`` whose flanks
    rise on both sides; its edges where the intensity is back half-way to the flanks' maxima."""
    t, v = axis_profile(pixels, frame, band_mm=_BAND_MM.get(family, 1.2))
    rng = float(v.max() - v.min())
    best = None
    for i in range(1, len(v) - 1):
        if abs(t[i]) > search_mm or not (v[i] <= v[i - 1] and v[i] <= v[i + 1]):
            continue
        left, right = v[: i + 1].max(), v[i:].max()
        depth = min(left, right) - v[i]
        if rng > 0 and depth > 0.08 * rng and (best is None or depth - 0.02 * abs(t[i]) > best[1]):
            best = (i, depth - 0.02 * abs(t[i]), depth)
    if best is None:
        w = normal_gap_mm(site) if site else 1.2
        return Gap(0.0, -w / 2, w / 2, 0.0)
    i, _, depth = best
    left_max, right_max = v[: i + 1].max(), v[i:].max()
    half_l = v[i] + 0.5 * (left_max - v[i])
    half_r = v[i] + 0.5 * (right_max - v[i])
    lo = i
    while lo > 0 and v[lo] < half_l:
        lo -= 1
    hi = i
    while hi < len(v) - 1 and v[hi] < half_r:
        hi += 1
    width = float(np.clip(t[hi] - t[lo], 0.3, 2.5))
    centre = float(t[i])
    return Gap(centre, centre - width / 2, centre + width / 2, float(depth))


def bone_half_width(pixels: np.ndarray, frame: BoneFrame, t_mm: float, *, family: str = "finger") -> float:
    """Half-width (mm) of the bone crossing the axis at ``t_mm``: where the across profile falls
    half-way from the bone level to the level outside it."""
    s = np.arange(-12.0, 12.0 + 1e-9, _STEP_MM)
    v = _sample(pixels, frame, np.linspace(t_mm - 0.5, t_mm + 0.5, 5)[:, None], s[None, :]).mean(0)
    v = gaussian_filter1d(v, 0.15 / _STEP_MM)
    centre = v[np.abs(s) <= 1.5].mean()
    outside = np.percentile(v, 10)
    if centre - outside < 0.02:
        return _DEFAULT_HALF_WIDTH[family]
    thr = outside + 0.5 * (centre - outside)
    mid = len(s) // 2
    right = mid + int(np.argmax(v[mid:] < thr)) if np.any(v[mid:] < thr) else len(s) - 1
    left = mid - int(np.argmax(v[mid::-1] < thr)) if np.any(v[mid::-1] < thr) else 0
    hw = 0.5 * (s[right] - s[left])
    return float(np.clip(hw, 2.5, 11.0))


def _joint_half_width(pixels: np.ndarray, frame: BoneFrame, gap: Gap, site: str, family: str) -> float:
    """Half-width (mm) over which a joint's narrowing displaces the bone: the proximal bone's just
    before the joint, at most ``_WRIST_JOINT_HALF_WIDTH_MM`` at a wrist joint other than the
    radiocarpal."""
    hw = bone_half_width(pixels, frame, gap.proximal - 1.5, family=family)
    if family == "wrist" and site != "radcar":
        hw = min(hw, _WRIST_JOINT_HALF_WIDTH_MM)
    return hw


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@dataclass
class _Warp:
    """A displacement in a joint's frame: output (t, s) samples input (t + du, s + ds)."""

    frame: BoneFrame
    a: float  # proximal edge of the joint space
    gap: float  # its width
    close: float  # how much it closes at s = 0 (mm)
    focal_side: float  # 0 = uniform; +-1 = the closure concentrated on that side
    half_width: float
    shift: float  # sideways shift of the distal bone (subluxation), mm
    hold_mm: float = 4.0
    fade_mm: float = 12.0
    margin_mm: float = 0.6  # bone ends beside the joint space share the compression: the map stays smooth

    def closure(self, s: np.ndarray) -> np.ndarray:
        if self.focal_side == 0:
            return np.full_like(s, self.close)
        return self.close * _smoothstep(0.5 + self.focal_side * s / self.half_width)

    def lateral(self, s: np.ndarray) -> np.ndarray:
        return 1.0 - _smoothstep((np.abs(s) - self.half_width) / 3.0)

    def displacement(self, t: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = self.closure(s)
        a = self.a - self.margin_mm
        inner = self.gap + 2 * self.margin_mm - d  # the compressed zone's width after closing (>= 2 margins)
        ramp = _smoothstep((t - a) / inner)
        end = a + inner
        fall = 1.0 - _smoothstep((t - end - self.hold_mm) / self.fade_mm)
        along = np.where(t < end, ramp, fall)
        lat = self.lateral(s)
        return d * along * lat, self.shift * along * lat

    @property
    def reach_mm(self) -> float:
        return abs(self.a) + self.gap + self.margin_mm + self.hold_mm + self.fade_mm + 1.0

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        box = self.frame.bounding_box(max(self.reach_mm, self.half_width + 4.0), pixels.shape)
        if box is None:
            return pixels
        ys, xs = np.mgrid[box[0], box[1]]
        t, s = self.frame.from_px(xs, ys)
        du, ds = self.displacement(t, s)
        moved = (np.abs(du) > 1e-4) | (np.abs(ds) > 1e-4)
        if not moved.any():
            return pixels
        sx, sy = self.frame.to_px(t + du, s + ds)
        # spline-sample from a margin-padded sub-image only (order 3 prefilters what it is given)
        pad = int(np.ceil(max(np.abs(sx - xs).max(), np.abs(sy - ys).max()))) + 4
        h, w = pixels.shape
        y0, y1 = max(0, box[0].start - pad), min(h, box[0].stop + pad)
        x0, x1 = max(0, box[1].start - pad), min(w, box[1].stop + pad)
        out = pixels.copy()
        patch = out[box]
        patch[moved] = map_coordinates(pixels[y0:y1, x0:x1], [sy[moved] - y0, sx[moved] - x0], order=3,
                                       mode="nearest")
        out[box] = np.clip(patch, 0.0, 1.0)
        return out

    def move_point(self, p: tuple[float, ...]) -> tuple[float, ...]:
        """Where content at ``p`` lands (the forward map, by fixed-point iteration)."""
        t_in, s_in = self.frame.from_px(p[0], p[1])
        t, s = float(t_in), float(s_in)
        du, ds = self.displacement(np.array(t), np.array(s))
        if abs(float(du)) < 1e-9 and abs(float(ds)) < 1e-9:
            return tuple(p)  # outside the displacement: exactly where it was
        for _ in range(8):
            du, ds = self.displacement(np.array(t), np.array(s))
            t, s = float(t_in - du), float(s_in - ds)
        x, y = self.frame.to_px(t, s)
        return (float(x), float(y), *p[2:])


# What narrowing is graded against (edit_radiograph's jsn_reference).
JSN_REFERENCES = ("film", "adult", "adult-digits")
ADULT_REFERENCE_RANGE = (0.75, 1.1)  # a healthy adult joint space, as a fraction of anatomy.normal_gap_mm


def to_adult_reference(pixels: np.ndarray, frame: BoneFrame, gap: Gap, rng: np.random.Generator, *,
                       site: str = "", width_mm: float | None = None, reference_mm: float | None = None,
                       family: str = "finger") -> tuple[np.ndarray, _Warp | None, Gap]:
    """A joint space wider than a healthy adult's closed to one (drawn in
    ``ADULT_REFERENCE_RANGE`` x the site's normal adult width), uniformly: the film's JSN grade is
    still 0, because SvdH grades narrowing against the normal adult joint. Children and adolescents
    have wider joint spaces (thicker cartilage); without this, a scorer that learned "healthy" from
    them reads every healthy adult joint as narrowed. Returns the pixels, the warp (None when the
    joint is already within the adult range or no space was found) and the joint space after it.
    ``width_mm``: the width as :func:`sharpscore.jsw.measure_jsw` reads it (the project's measured
    JSW, which the adult range refers to); ``gap.width`` otherwise. ``reference_mm``: close to this
    width instead of drawing one (a second pass)."""
    if not gap.found:
        return pixels, None, gap
    if reference_mm is None:
        reference = normal_gap_mm(site) * float(rng.uniform(*ADULT_REFERENCE_RANGE))
    else:  # a second pass towards the same reference
        reference = reference_mm
    width = gap.width if width_mm is None else float(width_mm)
    close = width - reference
    if close < 0.05:
        return pixels, None, gap
    hw = _joint_half_width(pixels, frame, gap, site, family)
    warp = _Warp(frame, gap.proximal, max(gap.width, close + 0.1), close, 0.0, hw, 0.0)
    after = Gap(gap.proximal + reference / 2, gap.proximal, gap.proximal + reference, gap.depth)
    return warp.apply(pixels), warp, after


def narrow_joint(pixels: np.ndarray, frame: BoneFrame, grade: int, rng: np.random.Generator, *,
                 site: str = "", family: str = "finger", gap: Gap | None = None
                 ) -> tuple[np.ndarray, _Warp | None]:
    """``pixels`` with the joint space at ``frame`` narrowed to JSN ``grade`` (and the displacement
    used, to move landmarks with it). Grade 0 returns the input."""
    if grade <= 0:
        return pixels, None
    gap = gap or measure_gap(pixels, frame, site=site, family=family)
    if not gap.found:  # no joint space visible on the film: nothing to narrow (recorded as grade 0)
        return pixels, None
    factor = JSN_GAP_FACTOR[int(grade)]
    keep = float(np.clip(factor + rng.normal(0, 0.06), 0.0, 0.9)) if grade < 4 else 0.0
    close = gap.width * (1.0 - keep)
    hw = _joint_half_width(pixels, frame, gap, site, family)
    focal = 0.0
    if grade == 1:  # focal narrowing: one side of the joint
        focal = float(rng.choice([-1.0, 1.0]))
        close = gap.width * float(rng.uniform(0.45, 0.75))
    shift = 0.0
    if grade >= 3 and rng.random() < 0.35:  # subluxation
        shift = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 1.2 if grade == 3 else 2.0) * hw / 5.0)
    warp = _Warp(frame, gap.proximal, gap.width, close, focal, hw, shift)
    out = warp.apply(pixels)
    if grade == 4 and rng.random() < 0.5:  # ankylosis: bone bridges the former joint space
        out = _bridge(out, frame, gap.proximal, hw)
    return out, warp


# A joint space whose measured width kept at least this fraction after a narrowing of grade >= 2
# was not visibly narrowed: the trough the edit closed was not the joint's (a faint carpal overlap),
# or the space is wider than the measurable range (young radiocarpal and midcarpal cartilage). On 10
# held-out DHA films, finger joints kept a median 0.62-0.70 of their width at grade 2 and 0.35-0.57
# at grade 4 (the half-maximum width of a closed joint is not 0); cmc5, radcar and cmc4 kept 1.0.
VISIBLE_NARROWING_MAX_KEPT = 0.9


def narrowing_visible(pixels: np.ndarray, frame: BoneFrame, before: Gap, grade: int, *, site: str = "",
                      family: str = "finger") -> bool:
    """Whether a narrowing of ``grade`` shows on the film: the joint space measured again at the moved
    joint (``frame``) lost more than ``1 - VISIBLE_NARROWING_MAX_KEPT`` of its width ``before``.
    Grade 1 (focal, one side) is not checked: the axis profile averages over both sides."""
    if grade < 2 or not before.found:
        return True
    after = measure_gap(pixels, frame, site=site, family=family)
    kept = after.width / before.width if after.found else 0.0
    return kept < VISIBLE_NARROWING_MAX_KEPT


def _bridge(pixels: np.ndarray, frame: BoneFrame, t0: float, hw: float) -> np.ndarray:
    box = frame.bounding_box(hw + 4.0, pixels.shape)
    if box is None:
        return pixels
    ys, xs = np.mgrid[box[0], box[1]]
    t, s = frame.from_px(xs, ys)
    m = np.exp(-(((t - t0) / 0.7) ** 2)) * (1.0 - _smoothstep((np.abs(s) - 0.8 * hw) / 1.5))
    if m.max() < 1e-3:
        return pixels
    above = _sample(pixels, frame, t0 + 1.2, s)
    below = _sample(pixels, frame, t0 - 1.2, s)
    out = pixels.copy()
    patch = out[box]
    patch[:] = (1 - 0.85 * m) * patch + 0.85 * m * np.maximum(patch, 0.5 * (above + below))
    return out


def _edge_along(pixels: np.ndarray, frame: BoneFrame, centre: np.ndarray, direction: np.ndarray,
                max_mm: float) -> tuple[float, float, float] | None:
    """Distance from ``centre`` (t, s) along ``direction`` to the bone edge, the level without bone
    beside it (the darkest within ``_SOFT_SEARCH_MM`` beyond the edge) and the bone's intensity
    inside; None when no edge is found."""
    r = np.arange(0.0, max_mm, _STEP_MM)
    perp = np.array([-direction[1], direction[0]])
    off = np.linspace(-0.3, 0.3, 3)
    t = centre[0] + r[:, None] * direction[0] + off[None, :] * perp[0]
    s = centre[1] + r[:, None] * direction[1] + off[None, :] * perp[1]
    v = gaussian_filter1d(_sample(pixels, frame, t, s).mean(1), 0.15 / _STEP_MM)
    inner = v[r < 1.0].mean()
    if inner - v.min() < 0.03:
        return None
    # the cortical edge: the first strong fall of intensity going out (the skin edge comes later)
    fall = -np.gradient(v, _STEP_MM)
    strong = 0.4 * fall.max()
    peaks = [i for i in range(1, len(r) - 1)
             if r[i] >= 0.6 and fall[i] >= strong and fall[i] >= fall[i - 1] and fall[i] >= fall[i + 1]]
    if not peaks:
        return None
    i = peaks[0]
    # the level without bone: the darkest point within _SOFT_SEARCH_MM beyond the edge (the joint space
    # between two carpal bones, or the soft tissue beside a bone end), not one fixed distance out: in
    # the carpus that distance often falls in the blur of the next bone, and a defect then took away
    # only part of the bone's contrast
    j = min(len(v), i + int(_SOFT_SEARCH_MM / _STEP_MM) + 1)
    return float(r[i]), float(v[i:j].min()), float(inner)


def _lesion(pixels: np.ndarray, frame: BoneFrame, centre: np.ndarray, direction: np.ndarray, radius: float,
            soft: float, rng: np.random.Generator, bone: float | None = None) -> tuple[np.ndarray, bool]:
    """A cortical defect of ``radius`` mm centred at frame point ``centre`` (on the bone edge), deepest
    along ``direction`` (pointing out of the bone): bone replaced by the soft-tissue level ``soft``.
    Also says whether it shows: in its core it must remove at least a third of the bone's contrast
    over the soft tissue (``bone - soft``); a defect falling mostly outside bone does not count."""
    gx, gy = frame.to_px(centre[0], centre[1])
    sub = BoneFrame((float(gx), float(gy)), frame.axis, frame.spacing)
    box = sub.bounding_box(radius * 2.0 + 1.0, pixels.shape)
    if box is None:
        return pixels, False
    ys, xs = np.mgrid[box[0], box[1]]
    t, s = frame.from_px(xs, ys)
    dt, ds = t - centre[0], s - centre[1]
    along = dt * direction[0] + ds * direction[1]  # >0: out of the bone
    across = -dt * direction[1] + ds * direction[0]
    depth = radius * rng.uniform(0.7, 1.1)
    width = radius * rng.uniform(0.9, 1.4)
    ell = (along / depth) ** 2 + (across / width) ** 2
    edge_mm = 0.25
    m = 1.0 - _smoothstep((np.sqrt(ell) - 1.0) * min(depth, width) / edge_mm + 0.5)
    px_mm = frame.spacing.iso
    texture = gaussian_filter(rng.standard_normal(m.shape), 0.3 / px_mm)
    texture /= max(float(texture.std()), 1e-6)
    strength = np.clip(rng.uniform(0.7, 0.95) + 0.08 * texture, 0.0, 1.0)
    out = pixels.copy()
    patch = out[box]
    drop = np.maximum(patch - soft, 0.0)  # only bone above the soft-tissue level is removed
    removed = m * strength * drop
    patch[:] = patch - removed
    core = m > 0.5
    contrast = max((bone if bone is not None else float(patch.max())) - soft, 1e-3)
    visible = bool(core.any() and float(removed[core].mean()) >= max(0.02, contrast / 3.0))
    return out, visible


def erode_joint(pixels: np.ndarray, frame: BoneFrame, grade: int, rng: np.random.Generator, *,
                kind: str = "hand", site: str = "", family: str = "finger", gap: Gap | None = None
                ) -> tuple[np.ndarray, int]:
    """``pixels`` with erosions of SvdH ``grade`` at the joint (or bone) of ``frame``, and the grade
    actually drawn (lower when no bone edge could be found for some defects). Grade 0 returns the
    input. Hands: 0-5 per joint; feet: 0-10 split between the two bones."""
    if grade <= 0:
        return pixels, 0
    axial = family != "wrist"
    if axial:
        gap = gap or measure_gap(pixels, frame, site=site, family=family)
        hw = bone_half_width(pixels, frame, gap.proximal - 1.5, family=family)
        if kind == "foot":
            g_prox = int(rng.integers(max(0, grade - 5), min(5, grade) + 1))
            per_bone = [(g_prox, -1), (grade - g_prox, +1)]
        else:  # a hand joint's grade, most of it on the proximal bone's head
            per_bone = [(grade, -1 if rng.random() < 0.7 else +1)]
        drawn = 0
        for g, side in per_bone:
            if g <= 0:
                continue
            base = gap.proximal - 0.55 * hw if side < 0 else gap.distal + 0.45 * hw
            pixels, d = _erode_bone(pixels, frame, g, rng, np.array([base, 0.0]), hw, toward=-side)
            drawn += d
        return pixels, drawn
    hw = bone_half_width(pixels, frame, 0.0, family=family)
    return _erode_bone(pixels, frame, grade, rng, np.array([0.0, 0.0]), min(hw, 5.0), toward=0)


def _erode_bone(pixels: np.ndarray, frame: BoneFrame, grade: int, rng: np.random.Generator, centre: np.ndarray,
                hw: float, toward: int) -> tuple[np.ndarray, int]:
    """Defects on one bone end centred at ``centre``: marginal (bare areas, beside the joint surface)
    when ``toward`` says where the joint is (+1 distal, -1 proximal), anywhere around otherwise.
    Returns the pixels and the grade drawn: a defect whose bone edge is not found is tried in
    other directions, and the grade is lowered to what the visible defects amount to."""
    grade = int(min(grade, 5))
    # the surface the grade's eroded share refers to (SvdH grades by the share involved), mm of outline:
    # a bone end's half next to its joint, or the whole outline of a bone graded all round (a carpal
    # bone, the distal radius or ulna), as the phantoms' carpal bones are (their whole perimeter)
    surface = np.pi * hw * (1.0 if toward else 2.0)
    n = _N_LESIONS[grade]
    total = EROSION_FRACTION[grade] * surface
    radius = float(np.clip(total / (2.0 * n), 0.6, 4.0))
    placed, tries = 0, 0
    while placed < n and tries < 3 * n:
        k = tries
        tries += 1
        if toward:
            side = 1.0 if (k % 2 == 0) == (rng.random() < 0.5) else -1.0
            ang = np.deg2rad(rng.uniform(0, 55 if grade < 4 else 85))  # 0: straight across; 90: into the joint
            direction = np.array([toward * np.sin(ang), side * np.cos(ang)])
        else:
            a = rng.uniform(0, 2 * np.pi)
            direction = np.array([np.cos(a), np.sin(a)])
        found = _edge_along(pixels, frame, centre, direction, hw * 2.2 + 3.0)
        if found is None:
            continue
        r_edge, soft, bone = found
        c = centre + direction * (r_edge - 0.25 * radius)
        pixels, visible = _lesion(pixels, frame, c, direction, radius * rng.uniform(0.8, 1.2), soft, rng, bone)
        placed += visible
    if placed == n:
        return pixels, grade
    return pixels, max(g for g in range(grade + 1) if _N_LESIONS[g] <= placed and g < grade) if placed else 0


def periarticular_osteopenia(pixels: np.ndarray, frame: BoneFrame, rng: np.random.Generator,
                             strength: float | None = None) -> np.ndarray:
    """Bone density lowered around the joint (a smooth window of 5-8 mm)."""
    sigma = rng.uniform(5.0, 8.0)
    k = strength if strength is not None else rng.uniform(0.08, 0.22)
    box = frame.bounding_box(2.5 * sigma, pixels.shape)
    if box is None:
        return pixels
    ys, xs = np.mgrid[box[0], box[1]]
    t, s = frame.from_px(xs, ys)
    w = np.exp(-(t**2 + s**2) / (2 * sigma**2))
    out = pixels.copy()
    patch = out[box]
    base = gaussian_filter(patch, 3.0 / frame.spacing.iso)
    floor = np.percentile(patch, 10)
    patch[:] = patch - k * w * np.clip(np.minimum(patch, base) - floor, 0, None)
    return out


def soft_tissue_swelling(pixels: np.ndarray, frame: BoneFrame, rng: np.random.Generator,
                         strength: float | None = None) -> np.ndarray:
    """Denser soft tissue around the joint: a smooth spindle-shaped rise."""
    a, b = rng.uniform(5.0, 9.0), rng.uniform(6.0, 10.0)
    k = strength if strength is not None else rng.uniform(0.015, 0.05)
    box = frame.bounding_box(2.5 * max(a, b), pixels.shape)
    if box is None:
        return pixels
    ys, xs = np.mgrid[box[0], box[1]]
    t, s = frame.from_px(xs, ys)
    w = np.exp(-((t / a) ** 2 + (s / b) ** 2))
    out = pixels.copy()
    out[box] = np.clip(out[box] + k * w, 0.0, 1.0)
    return out


class EditNuisances:
    """Probabilities of the optional, grade-independent nuisances per joint."""

    def __init__(self, osteopenia: float = 0.0, swelling: float = 0.0):
        self.osteopenia = osteopenia
        self.swelling = swelling


@dataclass
class EditResult:
    """An edited film: ``pixels``, ``landmarks`` moved with the bones, the ``grades`` actually drawn
    (``{site: {'erosion': g, 'jsn': g}}``: lower than asked where the film showed no joint space to
    narrow or no bone edge for a defect) and the joint spaces measured before editing."""

    pixels: np.ndarray
    landmarks: dict[str, tuple[float, ...]]
    grades: dict[str, dict[str, int | None]]
    gaps: dict[str, Gap] = field(default_factory=dict)


def edit_radiograph(pixels: np.ndarray, landmarks: Mapping[str, tuple[float, ...]], spacing, region: str,
                    grades: Mapping[str, Mapping[str, int | None]], *, seed: int | np.random.Generator = 0,
                    nuisances: EditNuisances | None = None, jsn_reference: str = "film") -> EditResult:
    """Draw ``grades`` into a real film.

    Args:
        pixels: the film (H, W), bone bright, values in [0, 1].
        landmarks: ``{site: (x, y[, confidence])}`` in pixels of ``pixels``.
        spacing: (row, col) mm per pixel.
        region: 'LH', 'RH', 'LF' or 'RF'.
        grades: per site ``{'erosion': g, 'jsn': g}``; sites without a landmark are left as they are
            and reported as ``None`` in the result's grades, and so is a narrowing the film does not
            show (:func:`narrowing_visible`).
        seed: a seed or a generator; the same seed gives the same film.
        jsn_reference: what narrowing is measured against. ``'film'``: the joint space as the film
            shows it. ``'adult'``: a healthy adult's (:func:`to_adult_reference`), as SvdH grades it:
            every joint space SvdH grades (finger, foot and wrist) wider than that is first closed to
            it (grade 0 stays 0), so a child's or adolescent's film teaches what a healthy *adult*
            joint looks like. ``'adult-digits'``: the same for the finger and foot joints only, the
            wrist as the film shows it (the editor before wrist spaces were closed too).
    """
    if jsn_reference not in JSN_REFERENCES:
        raise ValueError(f"jsn_reference must be one of {', '.join(map(repr, JSN_REFERENCES))}, not {jsn_reference!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    sp: Spacing = as_spacing(spacing)
    kind = schema.region_kind(region)
    out = np.asarray(pixels, np.float32)
    lm = {k: tuple(float(c) for c in v) for k, v in landmarks.items()}
    applied: dict[str, dict[str, int | None]] = {}
    gaps: dict[str, Gap] = {}
    sites = [s for s in schema.sites(kind) if s.name in lm]
    widths: dict[str, float] = {}
    if jsn_reference != "film":
        widths = {k: v.width_mm for k, v in measure_jsw(out, lm, sp, region).items() if v.width_mm is not None}
    # narrowing first (it moves bones and landmarks), distal joints before proximal ones
    drawn: dict[str, dict[str, int | None]] = {s.name: {"erosion": 0, "jsn": 0} for s in sites}
    for s in sorted(sites, key=lambda s: (s.family == "wrist", s.name)):
        g = int((grades.get(s.name) or {}).get("jsn") or 0) if s.max_for("jsn") else 0
        adult = s.max_for("jsn") > 0 and (jsn_reference == "adult" or
                                          (jsn_reference == "adult-digits" and s.family in MEASURED_FAMILIES))
        if g <= 0 and not adult:
            continue
        frame = bone_frame(kind, s.name, lm, sp)
        gap = measure_gap(out, frame, site=s.name, family=s.family)
        gaps[s.name] = gap
        if adult:
            reference = None
            for _ in range(3):  # the warp closes the dark band only approximately: measure again, close the rest
                out, warp, gap = to_adult_reference(out, frame, gap, rng, site=s.name, width_mm=widths.get(s.name),
                                                    reference_mm=reference, family=s.family)
                if warp is None:
                    break
                reference = gap.width
                lm = {k: warp.move_point(v) for k, v in lm.items()}
                frame = bone_frame(kind, s.name, lm, sp)
                if s.family in MEASURED_FAMILIES:  # a wrist space is read on the axis profile (gap) alone
                    js = measure_jsw(out, lm, sp, region, sites=[s.name]).get(s.name)
                    widths[s.name] = js.width_mm if js is not None and js.width_mm is not None else reference
                gap = measure_gap(out, frame, site=s.name, family=s.family)
            gap = Gap(gap.centre, gap.proximal, gap.proximal + (reference or gap.width), gap.depth) \
                if reference else gap
        out, warp = narrow_joint(out, frame, g, rng, site=s.name, family=s.family, gap=gap)
        if warp is not None:
            lm = {k: warp.move_point(v) for k, v in lm.items()}
            drawn[s.name]["jsn"] = g if narrowing_visible(out, bone_frame(kind, s.name, lm, sp), gap, g,
                                                          site=s.name, family=s.family) else None
    for s in sites:
        g = int((grades.get(s.name) or {}).get("erosion") or 0) if s.max_for("erosion") else 0
        if g <= 0:
            continue
        frame = bone_frame(kind, s.name, lm, sp)
        out, drawn[s.name]["erosion"] = erode_joint(out, frame, g, rng, kind=kind, site=s.name, family=s.family)
    nz = nuisances or EditNuisances()
    for s in sites:
        if nz.osteopenia and rng.random() < nz.osteopenia:
            out = periarticular_osteopenia(out, bone_frame(kind, s.name, lm, sp), rng)
        if nz.swelling and rng.random() < nz.swelling:
            out = soft_tissue_swelling(out, bone_frame(kind, s.name, lm, sp), rng)
    for s in schema.sites(kind):
        entry = {}
        for m in ("erosion", "jsn"):
            if not s.max_for(m):
                entry[m] = None
            else:
                entry[m] = drawn[s.name][m] if s.name in drawn else None
        applied[s.name] = entry
    return EditResult(pixels=out, landmarks=lm, grades=applied, gaps=gaps)
