"""The public entry points: load once, score radiographs and patients."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from .. import schema
from ..errors import InputError, SharpScoreError
from ..flags import FlagKind, ReviewFlag, needs_review
from ..resample import ImagePyramid
from .results import PatientScore, RadiographScore
from .review import ReviewPolicy, provenance_flags, review_flags

__all__ = ["Scorer", "score_radiograph", "score_patient"]

log = logging.getLogger(__name__)


class Scorer:
    """A localiser and a joint scorer loaded once.

    Args:
        model: a shipped scorer name (``sharpscore models``), a ``best.pt`` from ``sharpscore train``,
            or a folder of fold bundles (an ensemble).
        device: ``'cpu'`` (default) or ``'cuda'``.
        localizer: a shipped localiser name or a ``best.pt``.
        tta: average over small rotations and scalings of every crop (5 views; slower).
        review: thresholds of the review rules.

    Example::

        scorer = Scorer()
        result = scorer.score("patient7-LH.dcm")
        results = scorer.score_many(paths, batch_size=32, errors="keep")
    """

    def __init__(self, model: str = "default", *, device: str | None = None, localizer: str = "default",
                 tta: bool = False, review: ReviewPolicy | None = None, threads: int | None = None,
                 explain_method: str = "occlusion"):
        from .._threads import fix_threads
        from ..models import load_localizer, load_scorer

        if threads is not None:
            fix_threads(threads)  # otherwise torch gets the cores other processes leave free, film by film
        self.device = device or "cpu"
        self.joint_model = load_scorer(model, self.device, tta=tta)
        self.localizer = load_localizer(localizer, self.device)
        self.review = review or ReviewPolicy()
        self.model_info = {"scorer": str(model), "localizer": str(localizer)}
        from .explain import check_method

        self.explain_method = check_method(explain_method)

    @property
    def joint_scorer(self):
        """Deprecated name of :attr:`joint_model`."""
        import warnings

        warnings.warn("Scorer.joint_scorer is now Scorer.joint_model", DeprecationWarning, stacklevel=2)
        return self.joint_model

    # ---------------------------------------------------------------------------------------------
    def _pyramid(self, rg) -> ImagePyramid:
        """The film's resampling pyramid, shared by the localiser, the scorer and explain. With a
        known spacing the scorer's (finest) level is made first, so the full image is read once."""
        pyr = ImagePyramid(rg.pixels)
        if rg.spacing_mm is not None:
            pyr.shrunk(self.joint_model.spec.cache_mm_per_px / min(rg.spacing_mm))
        return pyr

    def _locate(self, source: Any, landmarks: Any = None, region: str | None = None):
        from ..io import load_radiograph

        rg = load_radiograph(source)
        pyr = self._pyramid(rg)
        if landmarks is None:
            loc = self.localizer.predict(rg, pyramid=pyr)
        else:
            from .landmarks import apply_reader_landmarks

            loc = apply_reader_landmarks(self.localizer, rg, landmarks, region, pyramid=pyr)
        if loc.spacing_mm is None:
            raise InputError(f"{rg.source}: pixel spacing unknown and not estimable from the anatomy; pass "
                             "spacing_mm to load_radiograph")
        return rg, loc, pyr

    def _result(self, rg, loc, region_scores, explain: bool, pyramid: ImagePyramid | None = None) -> RadiographScore:
        from ..jsw import measure_jsw

        spaces = measure_jsw(rg.pixels, loc.landmarks, loc.spacing_mm, loc.region)
        for j in region_scores.joints:
            js = spaces.get(j.site)
            if js is not None and js.measurable:
                j.jsw_mm, j.jsw_sd_mm = round(js.width_mm, 3), round(js.sd_mm, 3)
        flags = list(loc.flags) + review_flags(rg, loc, region_scores, self.review)
        flags += provenance_flags(self.joint_model, loc.region, self.review)
        flags += [ReviewFlag(FlagKind.OUT_OF_DISTRIBUTION, j.site) for j in region_scores.joints if j.out_of_distribution]
        res = RadiographScore.from_region_scores(
            region_scores, region=loc.region, landmarks=dict(loc.landmarks), flags=flags,
            needs_review=needs_review(flags), source=rg.source, spacing_mm=loc.spacing_mm,
            spacing_source=loc.spacing_source, not_in_view=list(loc.not_in_view),
            side_marker=loc.side_marker.to_dict() if loc.side_marker else None,
            model=dict(self.model_info), radiograph=rg, location=loc)
        if explain:
            self._explain(res, pyramid)
        return res

    def _explain(self, res: RadiographScore, pyramid: ImagePyramid | None = None) -> None:
        from ..localize.predict import film_region
        from ..scoring.model import head_for, site_index
        from ..scoring.predict import _normalise, prepare_image, site_crops
        from .explain import explain_joints

        js = self.joint_model
        small, spacing, to_small = prepare_image(pyramid if pyramid is not None else res.radiograph.pixels,
                                                 res.spacing_mm, js.spec.cache_mm_per_px)
        lm = {k: tuple((to_small @ np.array([v[0], v[1], 1.0]))[:2]) for k, v in res.landmarks.items()}
        names = [j.site for j in res.joints]
        kind = schema.region_kind(res.region)
        crops = _normalise(site_crops(small, spacing, lm, film_region(res.region, res.side_marker), js.spec,
                                       names)).to(js.device)
        sites = torch.tensor([site_index(kind, n) for n in names])
        heads = [[head_for(kind, m) for m in ("erosion", "jsn") if schema.site(kind, n).max_for(m)] for n in names]
        maps = explain_joints(js.nets[0], crops, sites, heads, self.explain_method)
        res.explanations = {n: maps[i] for i, n in enumerate(names)}
        res.explanation_method = self.explain_method
        res.crops = {n: crops[i, 0].cpu().numpy() for i, n in enumerate(names)}

    # ---------------------------------------------------------------------------------------------
    def score(self, source: Any, *, explain: bool = False, landmarks: Any = None,
              region: str | None = None) -> RadiographScore:
        """Localise and score one radiograph (anything :func:`sharpscore.load_radiograph` takes).

        ``landmarks``: a reader's joint positions for some or all sites -- ``{site: (x, y)}`` in the
        film's pixels, or a labelme JSON file -- used in place of the localiser's (confidence 1,
        flagged ``reader_landmarks:<n>``). With ``region`` ('LH', 'RH', 'LF', 'RF') a film the
        localiser cannot place (a wrist crop, a partial film) is scored at the given sites only;
        without landmarks, a film the localiser places as another region keeps the localiser's
        region and is flagged ``region_conflicts_with_given:<region>``.

        Raises:
            sharpscore.errors.InputError: unreadable file, not a hand or foot, two hands on one film, ...
        """
        from .landmarks import check_region

        check_region(region)
        rg, loc, pyr = self._locate(source, landmarks, region)
        rs = self.joint_model.score(pyr, loc.spacing_mm, loc.landmarks, loc.film_region)
        res = self._result(rg, loc, rs, explain, pyr)
        if landmarks is None and region is not None and res.region != region:
            # the film shows another region than the caller said: the image decides, a reader checks
            res.add_flag(ReviewFlag(FlagKind.REGION_CONFLICTS_WITH_GIVEN, None, region))
        return res

    def rescore(self, result: RadiographScore, landmarks: Mapping[str, tuple[float, ...]]) -> RadiographScore:
        """Score ``result``'s film again with some landmarks moved (``{site: (x_px, y_px[, confidence])}``,
        confidence 1 when not given; the others kept): the same film, localisation and review rules,
        new crops, JSW and flags. ``result`` must come from this session's :meth:`score` (it keeps
        its film and localisation)."""
        loc = result.location
        if loc is None or result.radiograph is None:
            raise InputError("rescore needs a result scored in this session (it keeps the film and its "
                             "localisation); a result read back from JSON has neither")
        unknown = sorted(set(landmarks) - set(loc.landmarks))
        if unknown:
            raise InputError(f"rescore: {unknown} are not landmarks of this {loc.region} film")
        new = {}
        for k, v in landmarks.items():
            v = tuple(float(x) for x in v)
            if len(v) not in (2, 3) or not all(np.isfinite(v)):
                raise InputError(f"rescore: the landmark of {k} must be finite (x, y) or (x, y, confidence), not {v}")
            new[k] = v if len(v) == 3 else (*v, 1.0)
        moved = dataclasses.replace(loc, landmarks={**loc.landmarks, **new})
        pyr = self._pyramid(result.radiograph)
        rs = self.joint_model.score(pyr, moved.spacing_mm, moved.landmarks, moved.film_region)
        res = self._result(result.radiograph, moved, rs, False, pyr)
        for f in map(ReviewFlag.parse, result.flags):  # a flag score() adds after the reading
            if f.kind is FlagKind.REGION_CONFLICTS_WITH_GIVEN:
                res.add_flag(f)
        return res

    def score_many(self, sources: Iterable[Any], *, batch_size: int = 16, explain: bool = False,
                   errors: str = "raise") -> list[RadiographScore | SharpScoreError]:
        """Score many radiographs; the joint crops of ``batch_size`` radiographs go through the
        network together (worth it on a GPU). ``errors='keep'`` puts the exception in the list in
        place of a result instead of raising."""
        if errors not in ("raise", "keep"):
            raise InputError(f"score_many: errors must be 'raise' or 'keep', not {errors!r}")
        out: list[RadiographScore | SharpScoreError] = []
        batch: list[tuple] = []

        def flush() -> None:
            scores = self.joint_model.score_many([(pyr, loc.spacing_mm, loc.landmarks, loc.film_region)
                                                   for _, rg, loc, pyr in batch])
            for (i, rg, loc, pyr), rs in zip(batch, scores):
                out[i] = self._result(rg, loc, rs, explain, pyr)
            batch.clear()

        for src in sources:
            out.append(None)  # type: ignore[arg-type]
            try:
                rg, loc, pyr = self._locate(src)
            except SharpScoreError as exc:
                if errors == "raise":
                    raise
                out[-1] = exc
                continue
            batch.append((len(out) - 1, rg, loc, pyr))
            if len(batch) >= batch_size:
                flush()
        if batch:
            flush()
        return out

    def score_patient(self, sources: Mapping[str, Any], patient_id: str = "patient", *,
                      explain: bool = False) -> PatientScore:
        """Score a patient's radiographs given as ``{"LH": src, "RH": src, "LF": src, "RF": src}``
        (any subset). Totals are over the regions given; the others are listed as missing."""
        if not isinstance(sources, Mapping) or not sources:
            raise InputError("score_patient: give {'LH': film, 'RH': film, 'LF': film, 'RF': film} "
                             "(at least one region)")
        bad = sorted(set(sources) - set(schema.REGIONS))
        if bad:
            raise InputError(f"score_patient: unknown region keys {bad}; use LH, RH, LF, RF")
        results = dict(zip(sources, self.score_many(list(sources.values()), explain=explain)))
        for key, res in results.items():
            if res.region != key:
                res.add_flag(ReviewFlag(FlagKind.REGION_CONFLICTS_WITH_GIVEN, None, key))
        return self.patient(patient_id, results)

    def patient(self, patient_id: str, results: Mapping[str, RadiographScore]) -> PatientScore:
        """Combine already scored regions of one patient into a :class:`PatientScore`."""
        from ..scoring.patient import patient_distributions

        dists = patient_distributions(list(results.values()))
        intervals = {m: self.joint_model.interval(d, "patient" if m == "total" else None) for m, d in dists.items()}
        return PatientScore(patient_id=str(patient_id), regions=dict(results), distributions=dists,
                            intervals=intervals, coverage=self.joint_model.coverage,
                            missing_regions=[r for r in schema.REGIONS if r not in results])


_DEFAULT: dict[tuple, Scorer] = {}


def _scorer(model: str, device: str | None) -> Scorer:
    key = (str(model), device)
    if key not in _DEFAULT:
        _DEFAULT[key] = Scorer(model, device=device)
    return _DEFAULT[key]


def score_radiograph(source: Any, *, model: str = "default", device: str | None = None,
                     explain: bool = False, landmarks: Any = None, region: str | None = None) -> RadiographScore:
    """Localise every SvdH joint of one hand or foot radiograph and score erosion and JSN.

    Args:
        source: a path (DICOM, PNG, JPEG, MHA), a pydicom Dataset or a 2-D array.
        model: a shipped scorer name, a ``best.pt`` path, or a folder of fold bundles.
        device: ``'cpu'`` (default) or ``'cuda'``.
        explain: also compute per-joint attribution maps (``result.save_explanations(path)``):
            signed occlusion sensitivity by default, Grad-CAM with ``Scorer(explain_method="gradcam")``.
        landmarks: a reader's joint positions (``{site: (x, y)}`` or a labelme file) for some or all
            sites, used in place of the localiser's; see :meth:`Scorer.score`.
        region: 'LH', 'RH', 'LF' or 'RF' when the localiser cannot place the film itself.

    Raises:
        sharpscore.errors.InputError: a subclass saying what is wrong with the input.
    """
    return _scorer(model, device).score(source, explain=explain, landmarks=landmarks, region=region)


def score_patient(sources: Mapping[str, Any], *, patient_id: str = "patient", model: str = "default",
                  device: str | None = None) -> PatientScore:
    """Score ``{"LH": src, "RH": src, "LF": src, "RF": src}`` (any subset) as one patient."""
    return _scorer(model, device).score_patient(sources, patient_id)
