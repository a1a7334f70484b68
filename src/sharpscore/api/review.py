"""When a reader must look: flags and the ``needs_review`` decision.

Flags that set ``needs_review``: uncertain or conflicting region/laterality, low landmark
confidence, wide prediction sets, a view other than PA/DP, open growth plates (a child's or
adolescent's hand: the models know adult RA hands; :mod:`.growth_plates`), a hand smaller than an
adult's, and metal (rings, implants) over a joint. The vocabulary and the decision itself live in
:mod:`sharpscore.flags` (``FlagKind``, ``ReviewFlag``, ``needs_review``).
"""

from __future__ import annotations

import numpy as np

from ..spatial import SpacingSource, as_spacing, to_px
from .. import schema
from ..flags import FlagKind, ReviewFlag, needs_review
from ..jsw import normal_jsw_mm
from .growth_plates import open_growth_plates

__all__ = ["ReviewPolicy", "review_flags", "needs_review", "provenance_flags"]


class ReviewPolicy:
    """Thresholds of the review rules (the defaults are what the shipped models were checked with)."""

    def __init__(self, max_set_size: int = 3, min_adult_scale: float = 0.82, max_adult_scale: float = 1.45,
                 metal_fraction: float = 0.03,
                 physis_depth: float = 0.15, physis_joints: int = 4,
                 jsn_jsw_grade: float = 2.0, jsn_jsw_fraction: float = 0.75,
                 max_interval_fraction: float = 0.25, min_calibration_patients: int = 30,
                 max_mm_per_px: float = 0.35, max_anisotropy: float = 1.25):
        self.max_set_size = max_set_size  # a prediction set of this many grades or more is "wide"
        # open growth plates: at least physis_joints phalangeal joints with a second trough deeper
        # than physis_depth (bench/growth_plates.py)
        self.physis_depth = physis_depth
        self.physis_joints = physis_joints
        self.min_adult_scale = min_adult_scale  # hand size relative to the adult reference
        self.max_adult_scale = max_adult_scale  # above: the given or tagged pixel spacing cannot be right
        self.metal_fraction = metal_fraction  # share of near-saturated pixels around a joint
        # expected JSN grade from which a joint measured at jsn_jsw_fraction of a normal adult width
        # is a contradiction (flag jsn_disagrees_with_jsw)
        self.jsn_jsw_grade = jsn_jsw_grade
        self.jsn_jsw_fraction = jsn_jsw_fraction
        # a region total's interval wider than this share of the region's maximum says the model
        # knows little about this film (e.g. a poorly fine-tuned or barely calibrated model)
        self.max_interval_fraction = max_interval_fraction
        # a calibration fitted on fewer patients than this (e.g. after fine-tuning on a small local
        # cohort) gives intervals and sets that cannot be trusted yet (flag small_calibration)
        self.min_calibration_patients = min_calibration_patients
        # pixels coarser than this: the scorer saw 0.10-0.20 mm/px films, and crops coarsened up to
        # 2x in augmentation; a PIP joint space (about 1 mm) is 3 pixels at 0.35 mm/px
        self.max_mm_per_px = max_mm_per_px
        # row and column pixel sizes this far apart: a wrong spacing tag, or a film resized in one
        # direction only (every crop in millimetres is then distorted)
        self.max_anisotropy = max_anisotropy


def _hand_scale(landmarks: dict, spacing_mm: tuple[float, float]) -> float | None:
    """Hand size relative to the typical adult: the measured pixel size over the one the adult joint
    distances would imply (:func:`~sharpscore.localize.geometry.estimate_spacing`)."""
    from ..localize.geometry import estimate_spacing

    adult = estimate_spacing({k: v[:2] for k, v in landmarks.items()}, "hand")
    return float(min(spacing_mm) / adult) if adult else None


def _site_windows(landmarks: dict, sites, shape: tuple[int, int], rx: float, ry: float):
    """``(site, window)`` for each of ``sites`` with a landmark: the film's slices within ``rx`` x
    ``ry`` pixels of it, clipped to the film."""
    h, w = shape
    for s in sites:
        if s not in landmarks:
            continue
        x, y = landmarks[s][:2]
        yield s, (slice(int(max(0, y - ry)), int(min(h, y + ry + 1))), slice(int(max(0, x - rx)), int(min(w, x + rx + 1))))


def _metal_sites(pixels: np.ndarray, landmarks: dict, spacing_mm: tuple[float, float], sites, fraction: float,
                 radius_mm: float = 6.0) -> list[str]:
    """Sites with a plateau of saturated pixels (metal attenuates far more than bone and is drawn
    white) covering more than ``fraction`` of the neighbourhood within ``radius_mm``. The thickest
    bone (distal radius) stays just below saturation on the films checked (bench phantoms: at most
    1% of a 12 mm neighbourhood at >= 0.99)."""
    sample = pixels[::4, ::4]  # the film's intensity levels, at 1/16 of the cost of every pixel
    ceiling = float(np.percentile(sample, 99.99))
    bone = float(np.percentile(sample, 97))
    if ceiling < 0.99 or ceiling - bone < 0.08:  # nothing saturated above the bone: no metal
        return []
    thr = 0.99
    rx, ry = to_px((radius_mm, radius_mm), spacing_mm)
    out = []
    for s, window in _site_windows(landmarks, sites, pixels.shape, rx, ry):
        patch = pixels[window]
        if patch.size and float(np.mean(patch > thr)) > fraction:
            out.append(s)
    return out


def review_flags(rg, location, region_scores, policy: ReviewPolicy | None = None) -> list[ReviewFlag]:
    """Flags beyond the localiser's: wide prediction sets, view, child-sized hand, metal at joints."""
    policy = policy or ReviewPolicy()
    flags: list[ReviewFlag] = []
    for j in region_scores.joints:
        for measure in ("erosion", "jsn"):
            s = getattr(j, f"{measure}_set")
            if s is not None and len(s) >= policy.max_set_size:
                flags.append(ReviewFlag(FlagKind.WIDE_PREDICTION_SET, j.site, measure))
    hidden = set(location.not_in_view)  # flagged not_in_view by the localiser
    for site in region_scores.missing:
        if site not in hidden:
            flags.append(ReviewFlag(FlagKind.NOT_SCORED, site))
    lo, hi = region_scores.intervals.get("total", (0.0, 0.0))
    if hi - lo > policy.max_interval_fraction * schema.region_max(region_scores.region):
        flags.append(ReviewFlag(FlagKind.WIDE_TOTAL_INTERVAL, None, f"{lo:.0f}-{hi:.0f}"))
    view = (rg.view or "").upper()
    if view and not any(v in view for v in ("PA", "AP", "DP", "PD")):
        flags.append(ReviewFlag(FlagKind.VIEW_NOT_PA, None, rg.view))
    kind = schema.region_kind(location.region)
    if kind == "hand" and location.spacing_mm is not None:
        suspected, n, checked = open_growth_plates(rg.pixels, location.landmarks, location.spacing_mm,
                                                   depth=policy.physis_depth, min_joints=policy.physis_joints)
        if suspected:
            flags.append(ReviewFlag(FlagKind.OPEN_GROWTH_PLATES, None, f"{n}/{checked}"))
    if kind == "hand" and location.spacing_mm is not None and location.spacing_source != SpacingSource.ESTIMATED:
        scale = _hand_scale(location.landmarks, location.spacing_mm)
        if scale is not None and scale < policy.min_adult_scale:
            flags.append(ReviewFlag(FlagKind.SMALLER_THAN_ADULT_HAND, None, f"{scale:.2f}"))
        if scale is not None and scale > policy.max_adult_scale:  # no hand is that big: the spacing is wrong
            flags.append(ReviewFlag(FlagKind.SPACING_DISAGREES_WITH_ANATOMY, None, f"{scale:.2f}"))
    if location.spacing_mm is not None:
        row, col = (float(v) for v in location.spacing_mm)
        if min(row, col) > policy.max_mm_per_px:
            flags.append(ReviewFlag(FlagKind.COARSE_RESOLUTION, None, f"{min(row, col):.2f}"))
        if max(row, col) > policy.max_anisotropy * min(row, col):
            flags.append(ReviewFlag(FlagKind.ANISOTROPIC_SPACING, None, f"{max(row, col) / min(row, col):.2f}"))
        for s in _metal_sites(rg.pixels, location.landmarks, location.spacing_mm,
                              [j.site for j in region_scores.joints], policy.metal_fraction):
            flags.append(ReviewFlag(FlagKind.METAL_AT_JOINT, s))
    for j in region_scores.joints:
        # A narrowing grade of 2 or more (SvdH: a clearly narrowed space) on a joint whose measured
        # width is still three quarters of a healthy adult's: the grade or the measurement is off.
        normal = normal_jsw_mm(j.site) if j.jsw_mm is not None else None
        if normal and j.jsn is not None and j.jsn >= policy.jsn_jsw_grade and j.jsw_mm >= policy.jsn_jsw_fraction * normal:
            flags.append(ReviewFlag(FlagKind.JSN_DISAGREES_WITH_JSW, j.site))
    marks = getattr(rg, "marks", None)
    marked: list[str] = []
    if marks is not None:
        marked = _marked_sites(marks, location.landmarks, location.spacing_mm, [j.site for j in region_scores.joints])
    lined = _line_sites(rg.pixels, location.landmarks, location.spacing_mm,
                        [j.site for j in region_scores.joints if j.site not in marked])
    blocked = _blocked_sites(rg.pixels, location.landmarks, location.spacing_mm,
                             [j.site for j in region_scores.joints if j.site not in marked + lined])
    if marks is not None or lined or blocked:
        flags.append(ReviewFlag(FlagKind.BURNED_IN_ANNOTATIONS))
    for s in marked + lined + blocked:
        flags.append(ReviewFlag(FlagKind.ANNOTATION_AT_JOINT, s))
    return flags


def _blocked_sites(pixels: np.ndarray, landmarks: dict, spacing_mm, sites, radius_mm: float = 4.0,
                   fraction: float = 0.05, flat_mm: float = 1.0) -> list[str]:
    """Sites partly hidden by a block (a redaction box, a pasted label, a collimator blade): more
    than ``fraction`` of the pixels within ``radius_mm`` exactly at the film's floor (0), or, for a
    grey block, exactly constant over a ``flat_mm`` square around them. A film's own darkest pixels
    lie in the air beyond the skin, never that close to a joint (none of 22 real films,
    bench/real_scoring.py's held-out hands and the adult DICOM), and film noise leaves no
    millimetre of tissue exactly flat (at most 1% of a joint's surroundings on 112 real atlas films,
    none on the adult DICOM, 26 real RA wrist crops or JPEG phantoms); white blocks are saturated
    and flagged as metal (:func:`_metal_sites`)."""
    from scipy import ndimage

    if spacing_mm is None:
        return []
    rx, ry = to_px((radius_mm, radius_mm), spacing_mm)
    kx, ky = (max(3, int(round(v)) | 1) for v in to_px((flat_mm, flat_mm), spacing_mm))
    out = []
    for s, window in _site_windows(landmarks, sites, pixels.shape, rx, ry):
        patch = pixels[window]
        if not patch.size:
            continue
        hidden = patch <= 0.0
        if float(np.mean(hidden)) <= fraction:
            spread = ndimage.maximum_filter(patch, size=(ky, kx)) - ndimage.minimum_filter(patch, size=(ky, kx))
            hidden |= (spread <= 0.0) & (patch < 1.0)
        if float(np.mean(hidden)) > fraction:
            out.append(s)
    return out


def _line_sites(pixels: np.ndarray, landmarks: dict, spacing_mm, sites, radius_mm: float = 5.0,
                min_length_mm: float = 6.0, max_width_mm: float = 0.8) -> list[str]:
    """Sites crossed by a burned-in grey line (a measurement line, a ruler, a text stroke drawn in the
    film's white): a connected run of saturated pixels within ``radius_mm`` that is straight, at least
    ``min_length_mm`` long and at most ``max_width_mm`` wide. Bone, even the thickest, stays below
    saturation (see :func:`_metal_sites`), and metal is a blob, not a line."""
    from scipy import ndimage

    if spacing_mm is None:
        return []
    if float(pixels.max()) < 0.99:
        return []
    spacing = as_spacing(spacing_mm)
    sp = np.asarray([spacing.col, spacing.row])  # x, y mm per pixel
    rx, ry = to_px((radius_mm, radius_mm), spacing_mm)
    out = []
    for s, window in _site_windows(landmarks, sites, pixels.shape, rx, ry):
        mask = pixels[window] >= 0.99
        if mask.sum() < 3:
            continue
        labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
        for k in range(1, n + 1):
            yy, xx = np.nonzero(labels == k)
            if len(yy) < 3:
                continue
            pts = np.column_stack([xx, yy]) * sp
            pts = pts - pts.mean(0)
            evals, evecs = np.linalg.eigh(pts.T @ pts / len(pts))
            along = pts @ evecs[:, 1]
            across = pts @ evecs[:, 0]
            length = float(along.max() - along.min())
            width = float(np.percentile(np.abs(across), 95) * 2) if len(across) > 3 else 0.0
            if length >= min_length_mm and width <= max_width_mm:
                out.append(s)
                break
    return out


def _marked_sites(marks: np.ndarray, landmarks: dict, spacing_mm, sites, radius_mm: float = 4.0) -> list[str]:
    """Sites with a burned-in mark within ``radius_mm`` (40 px when the spacing is unknown): the mark
    hides part of the joint and was filled from the film around it."""
    rx, ry = to_px((radius_mm, radius_mm), spacing_mm) if spacing_mm is not None else (40.0, 40.0)
    out = []
    for s, window in _site_windows(landmarks, sites, marks.shape, rx, ry):
        patch = marks[window]
        if patch.size and bool(patch.any()):
            out.append(s)
    return out


def provenance_flags(joint_model, region: str, policy: ReviewPolicy | None = None) -> list[ReviewFlag]:
    """What the scorer has seen of real films of this kind (its model card says more):

    - ``scorer_trained_on_phantoms_only``: no real film at all (review);
    - ``scorer_never_saw_real_<kind>``: real films of other kinds only, e.g. feet (review);
    - ``scorer_real_films_simulated_disease``: real films of this kind, healthy with disease drawn in
      (review: grades not yet checked against readers on real RA films, and a healthy real adult
      hand still scores about 8.9; see the model card);
    - nothing: a cohort scored by readers;

    and ``small_calibration:<n>`` when its calibration was fitted on fewer than
    ``policy.min_calibration_patients`` patients (review).
    """
    policy = policy or ReviewPolicy()
    n = getattr(joint_model, "calibration_patients", None)
    small = [ReviewFlag(FlagKind.SMALL_CALIBRATION, None, n)] if n is not None and n < policy.min_calibration_patients \
        else []
    return small + _real_film_flags(joint_model, region)


def _real_film_flags(joint_model, region: str) -> list[ReviewFlag]:
    real = dict(getattr(joint_model, "real_films", {}) or {})
    kind = schema.region_kind(region)
    if not real:
        return [ReviewFlag(FlagKind.SCORER_TRAINED_ON_PHANTOMS_ONLY)]
    if kind not in real:
        return [ReviewFlag(FlagKind(f"scorer_never_saw_real_{kind}"))]
    return [ReviewFlag(FlagKind.SCORER_REAL_FILMS_SIMULATED_DISEASE)] if real[kind] == "simulated_disease" else []
