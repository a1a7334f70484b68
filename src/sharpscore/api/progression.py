"""Progression between two visits: ``sharpscore.score_progression(baseline, followup)``.

Both visits are read by the same deterministic scorer, joint by joint: a reader's error that differs
between two readings does not arise, and a scorer's systematic error at a joint (the same in both
visits) cancels in the change. What does not cancel is how the score moves with a new acquisition
(exposure, noise, positioning). That spread grows with the damage (a healthy joint reads 0 whatever
the exposure; an eroded wrist moves between grades), so it is modelled per patient: the SD of the
change is ``sqrt(c * T)``, ``T`` the mean expected total of the two visits, with ``c`` fitted on
phantoms re-acquired with unchanged disease (``bench/progression.py --write-retest``,
``models/retest.json``) and a floor from healthy regions. The smallest detectable change is 1.96 x
that SD (the SDC of a pair of measurements).

Per joint: the change of the expected erosion and JSN grades, the distribution of the grade change
(the two visits' grade distributions combined as if independent: wider than the paired change),
and the change of the joint-space width in mm (:mod:`sharpscore.jsw`). Registered crops of both
visits (each read in its joint's own frame in mm, i.e. aligned by the landmarks) give a temporal
subtraction image per progressed joint in :meth:`Progression.save_report`.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .. import schema
from ..errors import InputError, VisitMismatchError
from ..flags import FlagKind, ReviewFlag, flagged_sites, needs_review
from ..spatial import to_mm
from .results import PatientScore, RadiographScore

__all__ = ["JointChange", "Progression", "score_progression", "compare_visits", "read_paired", "paired_landmarks",
           "RetestModel", "retest_model"]

log = logging.getLogger(__name__)

_RETEST = Path(__file__).resolve().parents[1] / "models" / "retest.json"
REGISTRATION_RMS_MM = 4.0  # digit joints further apart than this after a similarity fit: not the same view
AGREE_MM = 2.0  # both visits place a joint this close: the follow-up is read where the baseline found it
REGISTRATION_SCALE = (0.8, 1.25)  # follow-up size relative to baseline beyond this: spacing or view changed
CHANGE_SHOWN = 0.5  # grade change from which a joint gets a review image
# a joint flagged so at a visit makes its change unsure
_UNSURE = (FlagKind.LOW_CONFIDENCE, FlagKind.NOT_SCORED, FlagKind.OUT_OF_DISTRIBUTION, FlagKind.METAL_AT_JOINT,
           FlagKind.ANNOTATION_AT_JOINT)


@lru_cache(maxsize=None)
def _retest_table() -> dict:
    return json.loads(_RETEST.read_text())


@dataclass(frozen=True)
class RetestModel:
    """How a scorer's totals move with a new acquisition of unchanged disease: the SD of the change
    of a patient's total is ``sqrt(c * T)``, ``T`` the mean of the two visits' expected totals (at
    least ``t_min``), never below ``floor * sqrt(regions)``. Each unit of damage adds variance, as
    with counts: a healthy film reads 0 whatever the exposure, an eroded wrist moves between grades."""

    c: float
    floor: float
    t_min: float = 0.5
    measured: bool = True

    def sd(self, mean_total: float, regions: int) -> float:
        return max(math.sqrt(self.c * max(mean_total, self.t_min)), self.floor * math.sqrt(regions))


def retest_model(model: str) -> RetestModel:
    """The test-retest model of scorer ``model`` (the default scorer's, with ``measured=False``, for
    a scorer that has none)."""
    table = _retest_table()
    key = model if model.startswith("scorer/") else f"scorer/{model}"
    entry, measured = (table[key], True) if key in table else (table["scorer/default"], False)
    return RetestModel(c=float(entry["variance_per_unit_c"]), floor=float(entry["region_sd_floor"]),
                       measured=measured)


@dataclass
class JointChange:
    """Change of one joint between visits (follow-up minus baseline)."""

    site: str
    region: str
    erosion_change: float | None
    jsn_change: float | None
    jsw_change_mm: float | None = None
    jsw_change_sd_mm: float | None = None
    erosion_change_probs: dict[int, float] | None = None
    jsn_change_probs: dict[int, float] | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def total_change(self) -> float:
        return (self.erosion_change or 0.0) + (self.jsn_change or 0.0)

    def to_dict(self) -> dict[str, Any]:
        r = _round
        return {"site": self.site, "region": self.region, "erosion_change": r(self.erosion_change),
                "jsn_change": r(self.jsn_change), "jsw_change_mm": r(self.jsw_change_mm),
                "jsw_change_sd_mm": r(self.jsw_change_sd_mm),
                "erosion_change_probs": _probs(self.erosion_change_probs),
                "jsn_change_probs": _probs(self.jsn_change_probs), "flags": list(self.flags)}


def _round(v, n: int = 4):
    return None if v is None else round(float(v), n)


def _probs(d: dict[int, float] | None):
    return None if d is None else {str(k): round(v, 4) for k, v in d.items() if v >= 1e-4}


@dataclass
class Progression:
    """Change of the SvdH score between two visits of one patient (see :func:`score_progression`).

    ``total_change``: expected change of the SvdH total over the regions both visits have and the
    joints scored at both (a joint scored at one visit only is listed, flagged ``unsure_at_<visit>``
    for the other, and adds no change);
    ``interval``: its (lo, hi) at 95%; ``sdc``: the smallest detectable change of that total;
    ``p_progression``: probability that the true change exceeds the SDC; ``progressed``: the
    observed change exceeds the SDC; ``regions``: per region the baseline and follow-up totals."""

    joints: list[JointChange]
    regions: dict[str, dict[str, float]]
    total_change: float
    interval: tuple[float, float]
    sdc: float
    p_progression: float
    progressed: bool
    flags: list[str]
    baseline: dict[str, RadiographScore] = field(repr=False)
    followup: dict[str, RadiographScore] = field(repr=False)

    @property
    def needs_review(self) -> bool:
        return needs_review(self.flags) or any(
            r.needs_review for visit in (self.baseline, self.followup) for r in visit.values())

    def joint(self, region: str, site: str) -> JointChange:
        for j in self.joints:
            if j.region == region and j.site == site:
                return j
        raise KeyError(f"{region}:{site}")

    def to_dict(self) -> dict[str, Any]:
        return {"total_change": _round(self.total_change), "interval": [_round(v) for v in self.interval],
                "sdc": _round(self.sdc), "p_progression": _round(self.p_progression), "progressed": self.progressed,
                "needs_review": self.needs_review, "flags": list(self.flags),
                "regions": {k: {m: _round(v) for m, v in d.items()} for k, d in self.regions.items()},
                "joints": [j.to_dict() for j in self.joints],
                "disclaimer": "Research use only; not a diagnosis. A reader must review the result."}

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=1) + "\n"
        if path is not None:
            from .._fsutil import atomic_write_text

            atomic_write_text(path, text)
        return text

    def save_report(self, folder: str | Path) -> Path:
        """Write ``progression.json``, ``joint_changes.csv``, ``change_map.png`` and one review image
        per progressed joint (baseline crop, follow-up crop, their registered difference) to
        ``folder`` (created; existing files of these names are replaced, nothing else is touched)."""
        from .progression_report import write_report

        return write_report(self, Path(folder))


# -------------------------------------------------------------------------------------------------
def _change_probs(pb: list[float] | None, pf: list[float] | None) -> dict[int, float] | None:
    """Distribution of (follow-up grade - baseline grade), the visits taken as independent."""
    if pb is None or pf is None:
        return None
    conv = np.convolve(np.asarray(pf, float), np.asarray(pb, float)[::-1])
    k0 = len(pb) - 1
    return {i - k0: float(v) for i, v in enumerate(conv)}


def _similarity(base: RadiographScore, follow: RadiographScore):
    """``(s, R, t, rms_mm)`` of the similarity taking the follow-up's digit joints (in mm) onto the
    baseline's, fitted on the joints both visits found surely, then again without those further
    than ``max(AGREE_MM, 2 x median)`` from the fit (the RMS over the joints kept); None with fewer
    than four."""
    from ..shape_model import similarity_fit

    names = [n for n in base.landmarks if (n == "ip" or n[:3] in ("mcp", "pip", "mtp"))
             and n in follow.landmarks and base.landmarks[n][2] >= 0.3 and follow.landmarks[n][2] >= 0.3]
    if len(names) < 4:
        return None
    a = np.array([to_mm(follow.landmarks[n][:2], follow.spacing_mm) for n in names])
    b = np.array([to_mm(base.landmarks[n][:2], base.spacing_mm) for n in names])
    s, r, t = similarity_fit(a, b, allow_reflection=False)
    err = np.linalg.norm(s * a @ r.T + t - b, axis=1)
    keep = err <= max(AGREE_MM, 2 * float(np.median(err)))  # a joint misplaced at one visit does not pull the fit
    if 4 <= keep.sum() < len(keep):
        s, r, t = similarity_fit(a[keep], b[keep], allow_reflection=False)
        err = np.linalg.norm(s * a[keep] @ r.T + t - b[keep], axis=1)
    return s, r, t, float(np.sqrt(np.mean(err ** 2)))


def _registration(base: RadiographScore, follow: RadiographScore) -> tuple[float, float] | None:
    """(RMS residual mm, scale) of the similarity transform taking the follow-up's confident digit
    joints onto the baseline's; None with fewer than four joints in common."""
    fit = _similarity(base, follow)
    return None if fit is None else (fit[3], float(fit[0]))


def paired_landmarks(base: RadiographScore, follow: RadiographScore) \
        -> tuple[dict[str, tuple[float, float, float]], dict[str, tuple[float, float, float]], dict[str, float]] | None:
    """One position per joint for both visits of a region, so that both are read at the same place.

    The follow-up is registered onto the baseline (similarity on the digit joints). A site the two
    visits place within :data:`AGREE_MM` of each other is read in both where the baseline found it
    (a baseline keeps its reading, whatever follow-up it is compared with); a site placed further
    apart (one localisation is off there) is read in both where the more confident visit put it.
    Returns the baseline's and the follow-up's landmarks (pixels of each film) and, per site placed
    apart, the distance in mm; None when the films cannot be registered (fewer than four digit
    joints in common, or more than :data:`REGISTRATION_RMS_MM` apart)."""
    fit = _similarity(base, follow)
    if fit is None or fit[3] > REGISTRATION_RMS_MM:
        return None
    s, r, t, _ = fit
    from ..spatial import to_px

    lb, lf, apart = {}, {}, {}
    for n, (xb, yb, cb) in base.landmarks.items():
        if n not in follow.landmarks:
            continue
        xf, yf, cf = follow.landmarks[n]
        pb = np.asarray(to_mm((xb, yb), base.spacing_mm), float)
        pf = s * np.asarray(to_mm((xf, yf), follow.spacing_mm), float) @ r.T + t
        dist = float(np.hypot(*(pb - pf)))
        if dist > AGREE_MM:
            apart[n] = round(dist, 1)
        if dist <= AGREE_MM or cb >= cf:  # the baseline's position (its landmark kept as it is)
            p, lb[n] = pb, (float(xb), float(yb), float(cb))
            conf_f = cf if dist <= AGREE_MM else cb
        else:  # the surer follow-up's position, in both visits
            p, conf_f = pf, cf
            lb[n] = (*(float(v) for v in to_px(p, base.spacing_mm)), float(cf))
        back = ((p - t) @ r) / s  # in the follow-up's mm
        lf[n] = (*(float(v) for v in to_px(back, follow.spacing_mm)), float(conf_f))
    return lb, lf, apart


def read_paired(scorer, base: RadiographScore, follow: RadiographScore) \
        -> tuple[RadiographScore, RadiographScore, list[ReviewFlag]]:
    """Both visits of a region read at :func:`paired_landmarks`: the follow-up read again, the
    baseline only where it takes a position from the follow-up (informational flags
    ``paired_landmark:<site>:<region>:<mm>`` for sites the visits had placed apart). Results that
    cannot be read again (no film kept, e.g. read back from JSON) come back unchanged and flagged
    ``read_unpaired:<region>`` (the SDC, measured on paired readings, is then too small); films that
    cannot be registered come back unchanged (``compare_visits`` flags them)."""
    if base.location is None or follow.location is None:
        log.info("%s: visits scored elsewhere are compared as they are (no paired reading)", base.region)
        return base, follow, [ReviewFlag(FlagKind.READ_UNPAIRED, None, base.region)]
    pair = paired_landmarks(base, follow)
    if pair is None:
        return base, follow, []
    lb, lf, apart = pair
    flags = [ReviewFlag(FlagKind.PAIRED_LANDMARK, n, f"{base.region}:{d}mm") for n, d in apart.items()]
    moved = any(lb[n] != base.landmarks[n] for n in lb)
    return (scorer.rescore(base, lb) if moved else base), scorer.rescore(follow, lf), flags


def compare_visits(baseline: Mapping[str, RadiographScore], followup: Mapping[str, RadiographScore], *,
                   retest: RetestModel, flags: list[ReviewFlag] | None = None) -> Progression:
    """Build a :class:`Progression` from already scored visits (``{region: RadiographScore}``);
    ``flags``: more flags of the comparison (e.g. :func:`read_paired`'s)."""
    flags = list(flags or [])
    if not retest.measured:
        flags.insert(0, ReviewFlag(FlagKind.RETEST_SD_FROM_DEFAULT_MODEL))
    common = [r for r in schema.REGIONS if r in baseline and r in followup]
    if not common:
        raise VisitMismatchError(f"the visits share no region (baseline {sorted(baseline)}, follow-up "
                                 f"{sorted(followup)}): nothing to compare")
    for r in schema.REGIONS:
        if (r in baseline) != (r in followup):
            flags.append(ReviewFlag(FlagKind.REGION_IN_ONE_VISIT_ONLY, None, r))
    joints: list[JointChange] = []
    regions: dict[str, dict[str, float]] = {}
    for reg in common:
        b, f = baseline[reg], followup[reg]
        if (b.radiograph is not None and f.radiograph is not None and b.radiograph.view and f.radiograph.view
                and b.radiograph.view != f.radiograph.view):
            flags.append(ReviewFlag(FlagKind.VIEW_CHANGED, None, f"{reg}:{b.radiograph.view}->{f.radiograph.view}"))
        reg_fit = _registration(b, f)
        if reg_fit is None:
            flags.append(ReviewFlag(FlagKind.REGISTRATION_NOT_POSSIBLE, None, reg))
        else:
            rms, scale = reg_fit
            if rms > REGISTRATION_RMS_MM or not REGISTRATION_SCALE[0] <= scale <= REGISTRATION_SCALE[1]:
                flags.append(ReviewFlag(FlagKind.FILMS_DIFFER_TOO_MUCH, None, f"{reg}:rms={rms:.1f}mm,scale={scale:.2f}"))
        scored_f = {j.site: j for j in f.joints}
        scored_b = {j.site for j in b.joints}
        first = len(joints)
        for jb in b.joints:
            jf = scored_f.get(jb.site)
            if jf is None:  # not scored at the follow-up (out of view, not placed): no change can be read
                joints.append(JointChange(site=jb.site, region=reg, erosion_change=None, jsn_change=None,
                                          flags=[ReviewFlag(FlagKind.UNSURE_AT_FOLLOWUP)]))
                continue
            ec = None if jb.erosion is None or jf.erosion is None else jf.erosion - jb.erosion
            nc = None if jb.jsn is None or jf.jsn is None else jf.jsn - jb.jsn
            ch = JointChange(site=jb.site, region=reg, erosion_change=ec, jsn_change=nc,
                             erosion_change_probs=_change_probs(jb.erosion_probs, jf.erosion_probs),
                             jsn_change_probs=_change_probs(jb.jsn_probs, jf.jsn_probs))
            if jb.jsw_mm is not None and jf.jsw_mm is not None:
                ch.jsw_change_mm = jf.jsw_mm - jb.jsw_mm
                ch.jsw_change_sd_mm = math.hypot(jb.jsw_sd_mm or 0.0, jf.jsw_sd_mm or 0.0)
            for visit, res in (("baseline", b), ("followup", f)):
                if jb.site in flagged_sites(res.flags, _UNSURE):
                    ch.flags.append(ReviewFlag(FlagKind(f"unsure_at_{visit}")))
            if ch.total_change < -CHANGE_SHOWN:
                ch.flags.append(ReviewFlag(FlagKind.SCORE_FELL))  # damage does not heal: one of the readings is off
            joints.append(ch)
        joints += [JointChange(site=j.site, region=reg, erosion_change=None, jsn_change=None,
                               flags=[ReviewFlag(FlagKind.UNSURE_AT_BASELINE)])
                   for j in f.joints if j.site not in scored_b]
        # the change counts the joints scored at both visits only (a joint seen once is no change)
        regions[reg] = {"baseline_total": b.total, "followup_total": f.total,
                        "change": float(sum(ch.total_change for ch in joints[first:]))}
    total_change = float(sum(d["change"] for d in regions.values()))
    mean_total = 0.5 * sum(baseline[r].total + followup[r].total for r in common)
    sd = retest.sd(mean_total, len(common))
    sdc = 1.96 * sd
    p = 0.5 * math.erfc((sdc - total_change) / (sd * math.sqrt(2)))
    return Progression(joints=joints, regions=regions, total_change=total_change,
                       interval=(total_change - 1.96 * sd, total_change + 1.96 * sd), sdc=sdc, p_progression=p,
                       progressed=total_change > sdc, flags=flags, baseline=dict(baseline), followup=dict(followup))


def _patient_id(source: Any) -> str | None:
    """The DICOM PatientID of a file (read from the header only), or None."""
    if not isinstance(source, (str, Path)):
        return None
    try:
        import pydicom

        ds = pydicom.dcmread(str(source), stop_before_pixels=True, specific_tags=["PatientID"])
        pid = str(ds.get("PatientID", "") or "").strip()
        return pid or None
    except Exception:  # not a DICOM file, or unreadable: the loader says why when scoring
        return None


def _visit(scorer, visit: Any, label: str) -> tuple[dict[str, RadiographScore], set[str]]:
    if isinstance(visit, PatientScore):
        return dict(visit.regions), set()
    if isinstance(visit, RadiographScore):
        return {visit.region: visit}, set()
    if isinstance(visit, Mapping):
        sources = list(visit.items())
    elif isinstance(visit, (list, tuple)):
        sources = [(None, v) for v in visit]  # films whose region the localiser tells
    else:
        sources = [(None, visit)]
    if not sources:
        raise InputError(f"score_progression: the {label} visit has no film")
    ids = {pid for pid in (_patient_id(s) for _, s in sources) if pid}
    out: dict[str, RadiographScore] = {}
    for key, src in sources:
        res = scorer.score(src)
        if key is not None and key != res.region:
            raise VisitMismatchError(f"{label} film given as {key} is a {res.region} film ({res.source})")
        if res.region in out:
            raise VisitMismatchError(f"{label} visit has two {res.region} films")
        out[res.region] = res
    return out, ids


def score_progression(baseline: Any, followup: Any, *, model: str = "default", device: str | None = None,
                      scorer=None, paired: bool = True) -> Progression:
    """Change of the SvdH score between a baseline and a follow-up visit of one patient.

    Args:
        baseline, followup: one film each (anything :func:`sharpscore.score_radiograph` takes, or an
            already computed :class:`RadiographScore`), ``{"LH": film, "RH": ..., "LF": ..., "RF": ...}``
            mappings (any subset; a :class:`PatientScore` also works) or lists of films whose regions
            the localiser tells. Regions in one visit only are
            flagged and left out of the change.
        model: the scorer (shipped name or bundle path); ``scorer`` reuses a loaded :class:`Scorer`.
        paired: read both visits of a region at the same joint positions (:func:`read_paired`), so
            that a localisation that differs between the visits does not read as change; without it
            each region is flagged ``read_unpaired:<region>`` (needs review: the SDC is measured on
            paired readings).

    Raises:
        sharpscore.errors.VisitMismatchError: different patients (DICOM PatientID), no region in
            common (e.g. a left hand against a right hand), a film that is not the region it was given as.
        sharpscore.errors.InputError: any film that cannot be scored.
    """
    from .scorer import _scorer

    sc = scorer or _scorer(model, device)
    base, ids_b = _visit(sc, baseline, "baseline")
    follow, ids_f = _visit(sc, followup, "follow-up")
    if ids_b and ids_f and ids_b.isdisjoint(ids_f):
        raise VisitMismatchError("baseline and follow-up belong to different patients (DICOM PatientID differs)")
    if len(base) == 1 and len(follow) == 1 and set(base) != set(follow):
        (rb,), (rf,) = base, follow
        raise VisitMismatchError(f"baseline is a {rb} film and follow-up a {rf} film: not the same region")
    flags: list[ReviewFlag] = []
    for reg in [r for r in schema.REGIONS if r in base and r in follow]:
        if paired:
            base[reg], follow[reg], more = read_paired(sc, base[reg], follow[reg])
            flags += more
        else:
            flags.append(ReviewFlag(FlagKind.READ_UNPAIRED, None, reg))
    return compare_visits(base, follow, retest=retest_model(sc.model_info.get("scorer", str(model))), flags=flags)
