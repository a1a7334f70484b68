"""Localiser inference: coarse heatmaps on the whole film, refinement crops in millimetres."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..spatial import SpacingSource, as_spacing, distance_mm, to_mm, to_px
from .. import schema
from ..errors import InvertedImageError, MultipleRegionsError, NotHandOrFootError
from ..flags import FlagKind, ReviewFlag
from ..io.dicom import other_body_part
from ..io.radiograph import Radiograph
from .decode import decode_heatmaps
from .forearm import find_ulna
from .marker import SideMarker, read_side_marker
from ..resample import ImagePyramid, crop_matrix, letterbox_matrix, scale_matrix, shrink, warp
from .geometry import CHANNELS, channel_index, estimate_spacing, kind_channels
from .model import LocalizerNet, LocalizerSpec
from .polarity import looks_inverted, polarity
from .shape_check import ShapeCheck, check_shape
from .template import ANCHORS, WRIST, fit_template, wrist_from_fingers
from .view import FieldOfView, field_of_view
from .wrist_template import BASE_GATE_MM, SITES as WRIST_SITES, predict_wrist

__all__ = ["JointLocations", "Localizer", "shrink", "scale_matrix"]

log = logging.getLogger(__name__)

LOW_CONFIDENCE = 0.3
# A hand or foot lights up most of its joint channels; other films leave them near zero. On the
# stage-2 validation split, hands and feet give a median channel peak >= 0.96 and the rendered
# negatives <= 0.63. The threshold was 0.80 for stage 1; stage 2 put the shared hip film at 0.80,
# so it was raised to 0.85 (no validation hand or foot comes near it).
EVIDENCE_THRESHOLD = 0.85
# The shape model decides the side when the other orientation fits this many times worse (held-out
# real RA shapes: bench/results/shape-prior.json).
SIDE_MARGIN = 1.5
CONFIRM_MM = 2.0  # a re-search this close to the first find confirms it
# A carpal/forearm site found within this fraction of its real-template limit of the template's
# prediction is kept (at 0.5 the finds kept on the held-out real hands were as close to the sites as
# the template; farther ones were worse); otherwise the template's position, with this confidence.
WRIST_GATE = 0.5
TEMPLATE_CONFIDENCE = 0.5
# the ulna read from the forearm's profile (.forearm): held-out real hands median 2.5 mm from the site
ULNA_FROM_IMAGE_CONFIDENCE = 0.6


@dataclass
class JointLocations:
    """Where the joints of one radiograph are.

    ``landmarks``: ``{name: (x_px, y_px, confidence)}`` in the original image's pixel coordinates;
    ``landmarks_mm``: the same in millimetres from the top-left corner when spacing is known or
    estimated; ``flags``: reasons for caution (e.g. ``'spacing_estimated'``,
    ``'low_confidence:mcp5'``, ``'laterality_conflicts_with_tag'``). ``evidence``: median heatmap
    peak of the hand and of the foot joints (how much the film looks like either).
    ``not_in_view``: sites the film does not show (cut off, or behind the collimation); they have
    no landmark and are flagged ``not_in_view:<site>``. ``side_marker``: the side marker read on
    the film (:func:`~sharpscore.localize.marker.read_side_marker`), or None.
    """

    region: str
    landmarks: dict[str, tuple[float, float, float]]
    evidence: dict[str, float]
    spacing_mm: tuple[float, float] | None
    spacing_source: str | None
    flags: list[ReviewFlag] = field(default_factory=list)
    radiograph: Radiograph | None = field(default=None, repr=False)
    not_in_view: list[str] = field(default_factory=list)
    side_marker: SideMarker | None = None  # the 'L' / 'R' marker read on the film, if any

    @property
    def kind(self) -> str:
        return schema.region_kind(self.region)

    @property
    def film_region(self) -> str:
        """The region as the film shows it: ``region``, or its other side when the side marker says
        the film is displayed mirrored (crops are oriented by what the pixels show)."""
        return film_region(self.region, self.side_marker)

    @property
    def landmarks_mm(self) -> dict[str, tuple[float, float]] | None:
        if self.spacing_mm is None:
            return None
        return {k: tuple(float(v) for v in to_mm(p[:2], self.spacing_mm)) for k, p in self.landmarks.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"region": self.region, "landmarks": {k: list(v) for k, v in self.landmarks.items()},
                "landmarks_mm": {k: list(v) for k, v in (self.landmarks_mm or {}).items()} or None,
                "spacing_mm": list(self.spacing_mm) if self.spacing_mm else None, "spacing_source": self.spacing_source,
                "evidence": self.evidence, "not_in_view": list(self.not_in_view),
                "side_marker": self.side_marker.to_dict() if self.side_marker else None, "flags": list(self.flags)}

    def save_overlay(self, path: str | Path) -> Path:
        """PNG of the radiograph with every landmark, coloured by confidence."""
        from .overlay import draw_landmarks

        return draw_landmarks(self, path)


class Localizer:
    """A loaded localiser. ``Localizer.from_bundle(path)`` or ``sharpscore.models.load('localizer')``."""

    def __init__(self, net: LocalizerNet, device: str | torch.device | None = None, *, real_wrist: bool = True):
        self.net = net.eval()
        # check the carpal/forearm sites against real wrists (False: the fine network's own finds)
        self.real_wrist = real_wrist
        self.spec: LocalizerSpec = net.spec
        self.device = torch.device(device) if device else torch.device("cpu")
        self.net.to(self.device)

    @torch.inference_mode()
    def predict(self, rg: Radiograph, *, refine: bool = True, pyramid: ImagePyramid | None = None,
                _polarity: bool = True) -> JointLocations:
        """Locate the joints of ``rg``. ``pyramid``: the film's :class:`~sharpscore.resample.ImagePyramid`
        when the caller resamples it for other stages too (made here otherwise).

        The stages, in order: :meth:`coarse_stage` (what the film is, where its joints roughly are;
        refusals), :meth:`spacing_stage` (pixel size, estimated from anatomy when unknown),
        :meth:`fine_stage` (wrist seeds, fine crops, collisions), the real-anatomy shape pass, the
        polarity check, confidence flags and the side. A film refused as it is is tried again turned
        by 180, 90 and 270 degrees (:data:`ROTATIONS`), and a hand whose metacarpals then point more
        than :data:`STRAIGHTEN_DEG` from up is located again turned upright (:meth:`_straightened`); found
        so, the landmarks are given back in the film's own pixels and it is flagged
        ``film_rotated:<degrees>`` (informational)."""
        from .._threads import adapt_threads

        if self.device.type == "cpu":
            adapt_threads()  # the cores other processes leave free: oversubscribed threads wait on each other
        _check_size(rg)
        try:
            found = self._predict_upright(rg, refine=refine, pyramid=pyramid, _polarity=_polarity)
            residual = digit_tilt(found)
        except (NotHandOrFootError, InvertedImageError) as first:
            if not _polarity:
                raise
            # a film stored upside down or sideways: the networks learned hands and feet upright
            for k in ROTATIONS:
                turned = _rotated(rg, k)
                try:
                    found = self._predict_upright(turned, refine=refine, pyramid=None, _polarity=True)
                except (NotHandOrFootError, InvertedImageError, MultipleRegionsError):
                    continue
                residual = digit_tilt(found)  # on the turned film
                found = _turned_back(found, rg, k)
                break
            else:
                raise first
        if not _polarity or residual is None or abs(residual) <= STRAIGHTEN_DEG:
            return found
        return self._straightened(rg, found, refine=refine)

    def _straightened(self, rg: Radiograph, found: JointLocations, *, refine: bool) -> JointLocations:
        """``found`` again on the film turned so that its metacarpals point up (they point more than
        :data:`STRAIGHTEN_DEG` away from it, upright or after a quarter turn: the networks learned
        films within about 15 degrees of upright): kept when they then point within it."""
        tilt = digit_tilt(found)
        sp = rg.spacing_mm
        if tilt is None or (sp is not None and abs(sp[0] - sp[1]) > 1e-3 * max(sp)):
            return found
        turned, fwd = _tilted(rg, tilt)
        try:
            again = self._predict_upright(turned, refine=refine, pyramid=None, _polarity=True)
        except (NotHandOrFootError, InvertedImageError, MultipleRegionsError):
            return found
        residual = digit_tilt(again)
        if residual is None or abs(residual) > STRAIGHTEN_DEG or schema.region_kind(again.region) != found.kind:
            return found
        back = np.linalg.inv(fwd)
        landmarks = {n: (*(back @ np.array([p[0], p[1], 1.0]))[:2].tolist(), p[2]) for n, p in again.landmarks.items()}
        # degrees the film was turned counter-clockwise to be read, as for the quarter turns
        flags = [f for f in again.flags if f.kind != FlagKind.FILM_ROTATED] + \
            [ReviewFlag(FlagKind.FILM_ROTATED, None, int(round(tilt)) % 360)]
        marker = again.side_marker and dataclasses.replace(
            again.side_marker, centre_px=tuple((back @ np.array([*again.side_marker.centre_px, 1.0]))[:2].tolist()))
        return dataclasses.replace(again, landmarks=landmarks, flags=flags, radiograph=rg, side_marker=marker)

    def _predict_upright(self, rg: Radiograph, *, refine: bool, pyramid: ImagePyramid | None,
                         _polarity: bool) -> JointLocations:
        img = pyramid if pyramid is not None else ImagePyramid(rg.pixels)
        kind, coarse, evidence = self.coarse_stage(img, rg)
        flags: list[ReviewFlag] = []
        spacing, spacing_source = self.spacing_stage(rg, coarse, kind, flags)
        landmarks, shape, hidden = coarse, None, []
        if spacing is not None:
            view = field_of_view(img, self._coarse_factor(img))
            landmarks = self.fine_stage(img, spacing, coarse, kind, refine=refine, flags=flags)
            landmarks, shape = self._shape_pass(img, spacing, landmarks, kind, flags, refine=refine)
            hidden, landmarks = not_in_view(view, landmarks, spacing, kind)
            flags.extend(ReviewFlag(FlagKind.NOT_IN_VIEW, n) for n in hidden)
            if hidden and kind == "hand" and not _thumb_found(landmarks):
                # Without the thumb, three parallel fingers look alike (the little, ring and middle
                # fingers of a left hand mirror the index, middle and ring fingers of a right one):
                # a localiser trained on such views still numbered them the other way round
                # (docs/img/partial-stage4_adult-gout-L-PA.png, docs/localize.md).
                flags.append(ReviewFlag(FlagKind.FINGER_IDENTITY_UNCERTAIN))
            if _polarity:
                self._check_polarity(rg, landmarks, spacing, kind, refine)
        for name, (_, _, c) in landmarks.items():
            if c < LOW_CONFIDENCE:
                flags.append(ReviewFlag(FlagKind.LOW_CONFIDENCE, name))
        marker = None
        if spacing is not None:
            marker = read_side_marker(img, spacing, landmarks=landmarks)
        region = self._side(kind, landmarks, rg, flags, shape, marker)
        return JointLocations(region=region, landmarks=landmarks, evidence=evidence, spacing_mm=spacing,
                              spacing_source=spacing_source, flags=flags, radiograph=rg, not_in_view=hidden,
                              side_marker=marker)

    @torch.inference_mode()
    def coarse_stage(self, img: ImagePyramid, rg: Radiograph) -> tuple[str, dict, dict[str, float]]:
        """Coarse heatmaps on the letterboxed film: ``(kind, {site: (x, y, confidence)}, evidence)``
        in original pixels. Raises :class:`NotHandOrFootError` below the joint-evidence threshold
        and :class:`MultipleRegionsError` for two hands or feet on one film."""
        spec = self.spec
        h, w = img.full.shape
        f = self._coarse_factor(img)  # antialiased shrink, then letterbox
        small = img.shrunk(f)
        fy, fx = h / small.shape[0], w / small.shape[1]
        m_small = letterbox_matrix(tuple(small.shape), spec.coarse_size)
        coarse_in = warp(small, m_small[None], spec.coarse_size).to(self.device)
        heat = self.net.coarse(coarse_in)[0].float().cpu()
        evidence = {kind: float(heat[kind_channels(kind)].flatten(1).amax(1).median()) for kind in ("hand", "foot")}
        kind = max(evidence, key=evidence.get)
        if evidence[kind] < EVIDENCE_THRESHOLD:
            raise NotHandOrFootError(f"{rg.source}: not a hand or foot radiograph (joint evidence "
                                     f"{evidence[kind]:.2f} < {EVIDENCE_THRESHOLD}); sharpscore scores PA hand and DP "
                                     "foot films only")
        to_orig = scale_matrix(fx, fy) @ m_small  # coarse output px -> original px
        chans = kind_channels(kind)
        xy, conf = decode_heatmaps(heat[chans])
        pts = np.column_stack([xy.numpy(), np.ones(len(chans))]) @ to_orig.T
        coarse = {CHANNELS[c][1]: (float(p[0]), float(p[1]), float(q)) for c, p, q in zip(chans, pts, conf.numpy())}
        self._check_single_region(heat, chans, kind, rg)
        return kind, coarse, evidence

    def _coarse_factor(self, img: ImagePyramid) -> float:
        """The coarse view's downscale of the film (its pyramid level is made once)."""
        return max(1.0, max(img.full.shape) / (1.5 * self.spec.coarse_size))

    @staticmethod
    def spacing_stage(rg: Radiograph, coarse: dict, kind: str, flags: list[ReviewFlag]):
        """``(spacing, source)``: the film's own, or estimated from the confident coarse joints and
        adult joint distances (flagged ``spacing_estimated``); ``(None, None)`` when neither works."""
        spacing, source = rg.spacing_mm, rg.spacing_source
        if spacing is None:
            est = estimate_spacing({k: v[:2] for k, v in coarse.items() if v[2] >= LOW_CONFIDENCE}, kind)
            if est is not None:
                spacing, source = (est, est), SpacingSource.ESTIMATED
                flags.append(ReviewFlag(FlagKind.SPACING_ESTIMATED))
        return spacing, source

    @torch.inference_mode()
    def fine_stage(self, img: ImagePyramid, spacing, coarse: dict, kind: str, *, refine: bool = True,
                   flags: list[ReviewFlag] | None = None) -> dict:
        """From the coarse joints to the placed ones: colliding digit joints demoted and searched
        again, wrist sites seeded from the fingers (hands), every site refined in a fine crop (and
        the wrist a second time), the carpal and forearm sites checked against real wrists (see
        :meth:`_real_wrist_pass`; ``wrist_from_anatomy:<site>`` added to ``flags`` for a site placed
        from the real template), collisions checked again."""
        # Two digit joints on one spot (a channel latched onto a neighbour): the misplaced one is
        # searched again where the rest of the hand puts it, and does not seed the wrist (it keeps
        # its low confidence below).
        before = coarse
        coarse = _demote_collisions(coarse, spacing, kind, reseed=True)
        demoted = {n: v[2] for n, v in coarse.items() if v[2] < before[n][2]}
        seeds = None
        if kind == "hand":
            # Wrist sites: seeded from the finger joints through the hand template (the coarse
            # heatmaps do not separate the crowded carpal sites), then found by the fine stage.
            seeds = wrist_from_fingers(coarse, spacing)
            if seeds is not None:
                coarse.update({k: (x, y, 1.0) for k, (x, y) in seeds.items()})
        landmarks = coarse
        if refine:
            landmarks = self._refine(img, spacing, coarse, kind)
            if kind == "hand" and seeds is not None:
                landmarks.update(self._second_wrist_pass(img, spacing, landmarks, kind))
                if self.real_wrist and not _network_wrist_coherent(landmarks, spacing):
                    checked, placed = self._real_wrist_pass(img, spacing, landmarks, kind)
                    landmarks.update(checked)
                    if flags is not None:
                        flags.extend(ReviewFlag(FlagKind.WRIST_FROM_ANATOMY, k) for k in placed)
        # a re-searched joint stays unsure: the fine stage finds it, or answers on empty film
        landmarks.update({n: (*landmarks[n][:2], min(landmarks[n][2], c)) for n, c in demoted.items()})
        return _demote_collisions(landmarks, spacing, kind)

    def _check_polarity(self, rg: Radiograph, landmarks: dict, spacing, kind: str, refine: bool) -> None:
        """Refuse a negative film: its phalanges read darker than what lies beside them, either at
        confidently located joints, or at unsure ones when the negated film is then a confidently
        located hand or foot whose phalanges read bright (:mod:`.polarity`)."""
        verdict = polarity(rg.pixels, landmarks, spacing, kind)
        inverted = verdict == "inverted"
        if verdict == "suspect":
            negated = dataclasses.replace(rg, pixels=np.ascontiguousarray(1.0 - rg.pixels), marks=None)
            try:
                other = self.predict(negated, refine=refine, _polarity=False)
            except (NotHandOrFootError, MultipleRegionsError):
                other = None
            if other is not None and other.spacing_mm is not None:
                conf = float(np.median([v[2] for v in other.landmarks.values()]))
                kind2 = schema.region_kind(other.region)
                inverted = conf >= LOW_CONFIDENCE and not looks_inverted(negated.pixels, other.landmarks,
                                                                         other.spacing_mm, kind2)
        if inverted:
            raise InvertedImageError(
                f"{rg.source}: the film looks inverted (its phalanges are darker than the tissue beside "
                "them); sharpscore needs bone bright. Invert the image, or check the DICOM "
                "PhotometricInterpretation / Presentation LUT Shape")

    def _refine(self, img: ImagePyramid, spacing: tuple[float, float], coarse: dict, kind: str) -> dict:
        spec = self.spec
        f = max(1.0, spec.fine_mm_per_px / min(spacing))
        work = img.shrunk(f)
        fy, fx = img.full.shape[0] / work.shape[0], img.full.shape[1] / work.shape[1]
        work_spacing = as_spacing(spacing).scaled(fy, fx)
        to_work = np.linalg.inv(scale_matrix(fx, fy))
        back = scale_matrix(fx, fy)
        groups: dict[int, list[str]] = {}
        for n in coarse:
            wide = spec.wrist_fine_size and kind == "hand" and n in WRIST
            groups.setdefault(spec.wrist_fine_size if wide else spec.fine_size, []).append(n)
        refined = {}
        for size, names in groups.items():
            mats = []
            for n in names:
                cx, cy = (to_work @ np.array([coarse[n][0], coarse[n][1], 1.0]))[:2]
                mats.append(crop_matrix((cx, cy), size, work_spacing, spec.fine_mm_per_px))
            crops = warp(work, np.stack(mats), size).to(self.device)
            out = self.net.fine(crops).float().cpu()
            chans = torch.tensor([channel_index(kind, n) for n in names])
            xy, conf = decode_heatmaps(out[torch.arange(len(names)), chans])
            for i, n in enumerate(names):
                p = back @ mats[i] @ np.array([float(xy[i, 0]), float(xy[i, 1]), 1.0])
                # A refinement that wanders far from the coarse estimate is not trusted.
                dist_mm = distance_mm(p[:2], coarse[n][:2], spacing)
                c = float(conf[i]) * (1.0 if dist_mm < 0.4 * size * spec.fine_mm_per_px else 0.3)
                refined[n] = (float(p[0]), float(p[1]), c)
        return {n: refined[n] for n in coarse}

    def _shape_pass(self, img: ImagePyramid, spacing, landmarks: dict, kind: str, flags: list[ReviewFlag], *,
                    refine: bool = True) -> tuple[dict, ShapeCheck | None]:
        """Check the digit joints against the real-anatomy shape model. A joint implausible given the
        others, or found with low confidence, is searched again where the model puts it; found there
        (and plausible) it is flagged ``relocated:<site>``, otherwise it keeps a low confidence. When
        the joints left are not consistent either, nothing moves and the film is flagged
        ``implausible_joint_configuration``."""
        names = [n for n in schema.landmarks(kind) if n == "ip" or n[:3] in ("mcp", "pip", "mtp")]
        confident = {n: to_mm(landmarks[n][:2], spacing) for n in names if landmarks[n][2] >= LOW_CONFIDENCE}
        shape = check_shape(confident, kind)
        if shape is None:
            return landmarks, None
        if not shape.consistent:
            # More joints are off than the model can sort out: nothing is moved, the outliers are
            # unsure and a reader checks the configuration.
            flags.append(ReviewFlag(FlagKind.IMPLAUSIBLE_JOINT_CONFIGURATION))
            return {n: (*v[:2], min(v[2], 0.2)) if n in shape.outliers else v for n, v in landmarks.items()}, shape
        suspects = list(shape.outliers) + [n for n in names if n not in confident]
        if not suspects:
            return landmarks, shape
        out = dict(landmarks)
        seeds = {n: (*to_px(shape.predicted[n], spacing), 1.0) for n in suspects}
        found = self._refine(img, spacing, seeds, kind) if refine else seeds
        for n in suspects:
            x, y, c = found[n]
            if refine and c >= LOW_CONFIDENCE and shape.plausible(n, to_mm((x, y), spacing)):
                out[n] = (x, y, c)
                if n in shape.outliers:
                    flags.append(ReviewFlag(FlagKind.RELOCATED, n))
            elif n in shape.outliers:
                if refine and c >= LOW_CONFIDENCE and distance_mm((x, y), landmarks[n][:2], spacing) < CONFIRM_MM:
                    # searched from where the model puts it, the image leads back to the same spot:
                    # an unusual hand or foot (deformity), not a misplaced joint
                    flags.append(ReviewFlag(FlagKind.ATYPICAL_POSITION, n))
                else:
                    out[n] = (*landmarks[n][:2], min(landmarks[n][2], 0.2))
        return out, shape

    def _second_wrist_pass(self, img: ImagePyramid, spacing, landmarks: dict, kind: str) -> dict:
        """Refit the template to the finger joints and the wrist sites found so far (dropping
        outliers); a wrist site found far from where its neighbours put it is searched again there,
        the others are re-centred on their first find."""
        confident = {k: v for k, v in landmarks.items() if v[2] >= 0.5 and (k in ANCHORS or k in WRIST)}
        pred, _ = fit_template(confident, spacing, trim_mm=4.0)
        seeds = {}
        for k in WRIST:
            x, y, c = landmarks[k]
            far = distance_mm((x, y), pred[k][:2], spacing) > 4.0
            seeds[k] = (pred[k][0], pred[k][1], 1.0) if far or c < 0.5 else (x, y, 1.0)
        return self._refine(img, spacing, seeds, kind)

    def _real_wrist_pass(self, img: ImagePyramid, spacing, landmarks: dict, kind: str) -> tuple[dict, list[str]]:
        """The carpal and distal-forearm sites checked against real wrists (:mod:`.wrist_template`,
        placed on the metacarpals): a site found farther than half its limit from where the real
        template puts it is searched again there; found there it stays, otherwise it is placed at the
        template's position with :data:`TEMPLATE_CONFIDENCE`. A metacarpal base (``mc1``, ``cmc3``-``cmc5``)
        farther than :data:`~.wrist_template.BASE_GATE_MM` from where the template puts it is searched
        again there, kept if found there, else placed there. The ``ulna`` is read from the film
        wherever the forearm shows it (:func:`.forearm.find_ulna`). Returns
        the checked sites and the names
        of those placed from the template. (The fine network learned these sites
        from phantoms only; on held-out real hands its finds lie a median 5-19 mm from the sites,
        the template's 2-4 mm: bench/results/localizer-default.json, ``dha_wrist``.)"""
        pred = predict_wrist(landmarks, spacing)
        if pred is None:
            return {}, []
        near = {k: WRIST_GATE * pred.limit_px[k] for k in WRIST_SITES}

        def agrees(k, p):
            return p[2] >= LOW_CONFIDENCE and float(np.hypot(p[0] - pred[k][0], p[1] - pred[k][1])) <= near[k]

        out = {k: landmarks[k] for k in WRIST_SITES if agrees(k, landmarks[k])}
        again = [k for k in WRIST_SITES if k not in out]
        # a metacarpal base far from where the other anchors put it is on a neighbouring bone
        bases = [k for k, gate in BASE_GATE_MM.items()
                 if k in landmarks and distance_mm(landmarks[k][:2], pred.anchors[k], spacing) > gate]
        placed = []
        if again or bases:
            seeds = {**{k: (*pred[k], 1.0) for k in again}, **{k: (*pred.anchors[k], 1.0) for k in bases}}
            found = self._refine(img, spacing, seeds, kind)
            for k in again:
                if agrees(k, found[k]):
                    out[k] = found[k]
                else:
                    out[k] = (*pred[k], TEMPLATE_CONFIDENCE)
                    placed.append(k)
            for k in bases:
                f = found[k]
                if f[2] >= LOW_CONFIDENCE and distance_mm(f[:2], pred.anchors[k], spacing) <= 0.5 * BASE_GATE_MM[k]:
                    out[k] = f
                else:
                    out[k] = (*pred.anchors[k], TEMPLATE_CONFIDENCE)
                    placed.append(k)
        # the template's ulna is an adolescent's (and the network's find is only checked against
        # it): where the film shows the ulna beside the radius, it is read from there
        ulna = find_ulna(img.full.numpy(), {**landmarks, **out}, spacing)
        if ulna is not None:
            out["ulna"] = (*ulna, ULNA_FROM_IMAGE_CONFIDENCE)
            placed = [k for k in placed if k != "ulna"]
        return out, placed

    def _check_single_region(self, heat: torch.Tensor, chans: list[int], kind: str, rg: Radiograph) -> None:
        """Refuse a film with two hands (or two feet): key joints respond strongly in two places."""
        key = [channel_index(kind, n) for n in (("mcp2", "mcp3", "mcp4", "mcp5", "pip3") if kind == "hand"
                                                  else ("mtp1", "mtp2", "mtp3", "mtp4", "mtp5"))]
        s = heat.shape[-1]
        yy, xx = torch.meshgrid(torch.arange(s), torch.arange(s), indexing="ij")
        doubled = 0
        for c in key:
            hm = heat[c]
            peak = float(hm.max())
            if peak < 0.3:
                continue
            iy, ix = divmod(int(hm.argmax()), s)
            far = ((yy - iy) ** 2 + (xx - ix) ** 2) > (0.25 * s) ** 2
            # A second hand repeats the joint almost as strongly (> 0.7); neighbouring joints of one
            # hand stay below that on the validation films (bench/results/localizer-default.json).
            if float(hm[far].max()) > 0.7 * peak:
                doubled += 1
        if doubled >= 3:
            raise MultipleRegionsError(f"{rg.source}: two {kind}s on one film are not supported yet; "
                                       f"crop each {kind} into its own image")

    def _side(self, kind: str, landmarks: dict, rg: Radiograph, flags: list[ReviewFlag],
              shape: ShapeCheck | None = None, marker: SideMarker | None = None) -> str:
        """Left or right from the whole digit configuration (the real-anatomy shape model fitted in
        both orientations) when it is clear, else from the digit geometry; reconciled with the side
        marker read on the film and checked against the tags.

        The anatomy cannot tell a right hand from a left one displayed mirrored; the marker can (its
        letter reads mirrored). A mirrored marker whose letter the anatomy shows mirrored, on a film
        without a laterality tag that says otherwise, gives the side (the film's true side); any
        mirrored marker is flagged ``film_mirrored:<letter>``; a marker that disagrees with a clear
        anatomy is flagged ``laterality_conflicts_with_marker`` and the anatomy kept; an unclear
        anatomy takes the marker's side (still flagged ``laterality_uncertain``)."""
        side = _side_from_geometry(landmarks, kind)
        if shape is not None and shape.side_margin >= SIDE_MARGIN:
            side = shape.side
        elif side is None or min(landmarks[n][2] for n in _SIDE_LANDMARKS[kind]) < LOW_CONFIDENCE:
            flags.append(ReviewFlag(FlagKind.LATERALITY_UNCERTAIN))
            side = (marker.side if marker is not None and not marker.mirrored else None) or side or rg.laterality or "R"
        if marker is not None and marker.mirrored:
            flags.append(ReviewFlag(FlagKind.FILM_MIRRORED, None, marker.side))
            # the side changes only when nothing else says the film is shown as it was taken
            tag_agrees = rg.laterality not in ("L", "R") or rg.laterality == marker.side
            if side == marker.film_side and tag_agrees:
                side = marker.side
            else:
                flags.append(ReviewFlag(FlagKind.LATERALITY_CONFLICTS_WITH_MARKER, None, marker.side))
        elif marker is not None and marker.side != side:
            flags.append(ReviewFlag(FlagKind.LATERALITY_CONFLICTS_WITH_MARKER, None, marker.side))
        if rg.laterality in ("L", "R") and rg.laterality != side:
            flags.append(ReviewFlag(FlagKind.LATERALITY_CONFLICTS_WITH_TAG))
        if rg.body_part in ("hand", "foot") and rg.body_part != kind:
            flags.append(ReviewFlag(FlagKind.BODY_PART_CONFLICTS_WITH_TAG))
        elif rg.body_part is None and (other := other_body_part(rg.metadata.get("body_part_examined"))):
            # a hand or foot on a film tagged as a chest, hip, ...: a mislabelled file, or the wrong one
            flags.append(ReviewFlag(FlagKind.BODY_PART_CONFLICTS_WITH_TAG, None, other.lower()))
        return f"{side}{'H' if kind == 'hand' else 'F'}"


def film_region(region: str, marker: SideMarker | dict | None) -> str:
    """``region`` as a film displays it: the other side when ``marker`` (a :class:`SideMarker` or its
    dict) reads mirrored."""
    mirrored = marker.get("mirrored") if isinstance(marker, dict) else getattr(marker, "mirrored", False)
    return schema.mirrored_region(region) if mirrored else region


def _network_wrist_coherent(landmarks: dict, spacing) -> bool:
    """Whether the fine network's carpal and forearm finds form the wrist it learned: the (phantom)
    template, fitted to the confident hand sites, lies within :data:`COHERENT_MM` of them (median
    and 75th percentile). On phantoms they mostly do (24 hands of the seed-9001 cohort: median
    residual <= 1.9 mm; bench/results/localizer-default.json gives the share kept); on none of 12
    held-out real hands nor the adult DICOM (median >= 3.0 mm with a 75th percentile >= 7 mm, most
    median >= 7 mm, or sites unsure): there the real-wrist pass places them."""
    confident = {k: v for k, v in landmarks.items() if v[2] >= 0.5 and (k in ANCHORS or k in WRIST)}
    if any(k not in confident for k in WRIST_SITES):
        return False
    _, residual = fit_template(confident, spacing, trim_mm=4.0)
    r = np.array([residual[k] for k in WRIST_SITES])
    return bool(np.median(r) <= COHERENT_MM[0] and np.percentile(r, 75) <= COHERENT_MM[1])


COHERENT_MM = (3.0, 4.0)

# A site found within this distance of the exposed field's edge (or beyond it), or unsure and put
# there by the joints in view, is not in view: the joint itself may be cut by the edge (a joint
# space is 1-2 mm, its bone ends several), and its scoring crop (19 mm across at a finger joint)
# would be half blank.
VIEW_EDGE_MM = 4.0
IN_VIEW_CONFIDENCE = 0.5  # joints found at least this surely place the others


def expected_positions(landmarks: dict, spacing, kind: str, min_confidence: float = IN_VIEW_CONFIDENCE) \
        -> dict[str, tuple[float, float]]:
    """Where the confidently found joints put every other site (pixels): the hand template fitted
    by a similarity transform (outliers trimmed), or for a foot the real-anatomy shape model; empty
    with fewer than :data:`~.shape_check.MIN_POINTS` confident joints."""
    from .shape_check import MIN_POINTS

    sure = {n: v for n, v in landmarks.items() if v[2] >= min_confidence}
    if kind == "hand":
        use = {n: v for n, v in sure.items() if n in ANCHORS or n in WRIST or n.startswith("dip")}
        if len(use) < MIN_POINTS:
            return {}
        pred, _ = fit_template(use, spacing, trim_mm=4.0)
        return pred
    shape = check_shape({n: to_mm(v[:2], spacing) for n, v in sure.items()}, kind)
    if shape is None or not shape.consistent:
        return {}
    return {n: tuple(float(c) for c in to_px(p, spacing)) for n, p in shape.predicted.items()}


def not_in_view(view: FieldOfView, landmarks: dict, spacing, kind: str) -> tuple[list[str], dict]:
    """The sites of ``landmarks`` the film does not show, and the landmarks to keep. A site is not in
    view when it is found beyond (or within :data:`VIEW_EDGE_MM` of) the exposed field's edge, or
    found unsure (below :data:`LOW_CONFIDENCE`) where the joints in view put it beyond it. A site
    found beyond the edge that the joints in view put well inside it (a missing or hidden digit, not
    a cut film) is kept where they put it, unsure."""
    edge = VIEW_EDGE_MM / min(as_spacing(spacing))
    inside = {n: v for n, v in landmarks.items() if view.depth_px(v[:2]) > edge}
    expected = expected_positions(inside, spacing, kind)
    out, kept = [], dict(landmarks)
    for n, (x, y, c) in landmarks.items():
        shown = n in expected and view.depth_px(expected[n]) > edge
        if n not in inside:
            if shown:
                kept[n] = (*expected[n], min(c, 0.1))
            else:
                out.append(n)
        elif c < LOW_CONFIDENCE and n in expected and not shown:
            out.append(n)
    return out, {n: v for n, v in kept.items() if n not in out}


def _thumb_found(landmarks: dict) -> bool:
    """Whether the thumb's MCP and IP were both found surely (they fix which finger is which)."""
    return all(n in landmarks and landmarks[n][2] >= IN_VIEW_CONFIDENCE for n in ("mcp1", "ip"))


_DIGIT_JOINTS = ("ip", "pip", "dip", "mcp", "mtp")
COLLISION_MM = 4.0  # distinct finger/toe joints of an adult are never this close


def _demote_collisions(landmarks: dict, spacing: tuple[float, float], kind: str, *, reseed: bool = False) -> dict:
    """Two finger (or toe) joints found on the same spot: one is on a joint that is not its own (a
    missing or hidden digit makes its channel latch onto a neighbour). On a hand, the one farther
    from where the rest of the hand puts it (the mean template fitted to the other joints) loses its
    confidence; on a foot, the weaker one (both when equally strong). It is then flagged, not trusted.
    With ``reseed`` a hand's loser is also moved to where the template puts it (for the fine stage
    to search there)."""
    names = [n for n in landmarks if n == "ip" or n[:3] in _DIGIT_JOINTS]
    out = dict(landmarks)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            (xa, ya, ca), (xb, yb, cb) = landmarks[a], landmarks[b]
            if distance_mm((xa, ya), (xb, yb), spacing) >= COLLISION_MM:
                continue
            losers = [n for n, c, other in ((a, ca, cb), (b, cb, ca)) if c <= other + 0.05]
            pred = None
            if kind == "hand":
                rest = {k: v for k, v in landmarks.items() if k not in (a, b) and v[2] >= LOW_CONFIDENCE}
                if len(rest) >= 6:
                    pred, _ = fit_template(rest, spacing, trim_mm=4.0)
                    off = {n: distance_mm(landmarks[n][:2], pred[n][:2], spacing) for n in (a, b)}
                    losers = [max(off, key=off.get)]
            for n in losers:
                x, y, c = out[n]
                if reseed and pred is not None:
                    x, y = pred[n]
                out[n] = (x, y, min(c, 0.25 * landmarks[n][2]))
    return out


_SIDE_LANDMARKS = {"hand": ("mcp1", "mcp5", "mcp3", "radcar"), "foot": ("mtp1", "mtp5", "ip")}


def _side_from_geometry(landmarks: dict, kind: str) -> str | None:
    """Right regions have the medial digit (thumb/hallux) on the image's left, digits up."""
    try:
        if kind == "hand":
            medial, lateral, prox, dist = landmarks["mcp1"], landmarks["mcp5"], landmarks["radcar"], landmarks["mcp3"]
        else:
            medial, lateral = landmarks["mtp1"], landmarks["mtp5"]
            prox, dist = None, None
    except KeyError:
        return None
    if kind == "hand":
        axis = np.array([dist[0] - prox[0], dist[1] - prox[1]])
    else:
        across = np.array([lateral[0] - medial[0], lateral[1] - medial[1]])
        toe = landmarks.get("ip")
        axis = np.array([toe[0] - medial[0], toe[1] - medial[1]]) if toe else np.array([across[1], -across[0]])
    across = np.array([lateral[0] - medial[0], lateral[1] - medial[1]])
    # With y down: for a right region the cross product axis x across is positive.
    cross = axis[0] * across[1] - axis[1] * across[0]
    return "R" if cross > 0 else "L"


# the smallest film that can hold a hand or foot: pixels a side, and millimetres a side when the
# spacing is known (a hand is about 180 x 90 mm, a forefoot 90 mm wide; a collimated finger series
# still shows 50 mm or more)
MIN_SIDE_PX = 64
MIN_SIDE_MM = 30.0


def _check_size(rg: Radiograph) -> None:
    h, w = rg.pixels.shape[:2]
    if min(h, w) < MIN_SIDE_PX:
        raise NotHandOrFootError(f"{rg.source}: {w} x {h} pixels is too small to hold a hand or foot "
                                 f"(at least {MIN_SIDE_PX} a side)")
    if rg.spacing_mm is not None:
        sp = as_spacing(rg.spacing_mm)
        if min(h * sp.row, w * sp.col) < MIN_SIDE_MM:
            raise NotHandOrFootError(f"{rg.source}: {w * sp.col:.0f} x {h * sp.row:.0f} mm at its pixel spacing "
                                     f"({sp.row:g} x {sp.col:g} mm) is too small to hold a hand or foot (at least "
                                     f"{MIN_SIDE_MM:.0f} mm a side): if the film is a whole hand, its spacing is wrong")


# quarter turns (numpy.rot90, counter-clockwise) a refused film is tried again at, most likely first
ROTATIONS: tuple[int, ...] = (2, 1, 3)
# A hand whose metacarpals point more than this many degrees from up is located again turned upright.
STRAIGHTEN_DEG = 25.0


def digit_tilt(found: JointLocations, min_confidence: float = 0.5) -> float | None:
    """How many degrees the located hand points away from up on its film (positive: turned
    clockwise), from the third to fifth metacarpals (base -> head; the fingers deviate in RA, the
    metacarpals hardly), confident joints only; None for a foot (the hallux alone, often in valgus,
    does not give the axis) or when fewer than two metacarpals are confident."""
    if found.kind != "hand":
        return None
    pairs = [("cmc3", "mcp3"), ("cmc4", "mcp4"), ("cmc5", "mcp5")]
    lm = found.landmarks
    vecs = []
    for a, b in pairs:
        if a in lm and b in lm and min(lm[a][2], lm[b][2]) >= min_confidence:
            v = np.array(lm[b][:2], float) - np.array(lm[a][:2], float)
            if np.linalg.norm(v) > 0:
                vecs.append(v / np.linalg.norm(v))
    if len(vecs) < 2:
        return None
    d = np.mean(vecs, axis=0)
    return float(np.degrees(np.arctan2(d[0], -d[1])))


def _tilted(rg: Radiograph, degrees: float) -> tuple[Radiograph, np.ndarray]:
    """The film turned by ``degrees`` counter-clockwise as seen (undoing a clockwise tilt) onto a
    canvas that holds all of it, and the 3 x 3 map of (x, y, 1) from its pixels to the turned
    film's. Isotropic pixels only."""
    from scipy import ndimage

    h, w = rg.pixels.shape[:2]
    th = np.deg2rad(-degrees)
    r = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    corners = (np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], float) - [(w - 1) / 2, (h - 1) / 2]) @ r.T
    ow, oh = (int(np.ceil(v)) + 1 for v in corners.max(0) - corners.min(0))
    c_in, c_out = np.array([(w - 1) / 2, (h - 1) / 2]), np.array([(ow - 1) / 2, (oh - 1) / 2])
    inv = r.T  # turned (x, y) -> film (x, y)
    off = c_in - inv @ c_out

    def turn(a: np.ndarray, order: int) -> np.ndarray:
        return ndimage.affine_transform(a, inv[::-1, ::-1], offset=off[::-1], output_shape=(oh, ow), order=order,
                                        cval=0.0)

    marks = getattr(rg, "marks", None)
    turned = dataclasses.replace(rg, pixels=turn(np.asarray(rg.pixels, np.float32), 1),
                                 marks=None if marks is None else turn(np.asarray(marks, np.float32), 0) > 0.5)
    fwd = np.eye(3)
    fwd[:2, :2], fwd[:2, 2] = r, c_out - r @ c_in
    return turned, fwd


def _rotated(rg: Radiograph, k: int) -> Radiograph:
    """The film turned by ``k`` quarter turns counter-clockwise (pixel spacing and marks turned too)."""
    sp = rg.spacing_mm
    if sp is not None and k % 2:
        sp = (sp[1], sp[0])
    marks = getattr(rg, "marks", None)
    return dataclasses.replace(rg, pixels=np.rot90(rg.pixels, k).copy(), spacing_mm=sp,
                               marks=None if marks is None else np.rot90(marks, k).copy())


def _turned_back(found: JointLocations, rg: Radiograph, k: int) -> JointLocations:
    """``found`` on the film turned by ``k`` quarter turns, given back in ``rg``'s own pixels."""
    h, w = rg.pixels.shape[:2]

    def back(x: float, y: float) -> tuple[float, float]:
        if k == 1:
            return w - 1 - y, x
        if k == 2:
            return w - 1 - x, h - 1 - y
        return y, h - 1 - x

    landmarks = {n: (*back(p[0], p[1]), p[2]) for n, p in found.landmarks.items()}
    sp = found.spacing_mm
    if sp is not None and k % 2:
        sp = (sp[1], sp[0])
    flags = list(found.flags) + [ReviewFlag(FlagKind.FILM_ROTATED, None, 90 * k)]
    marker = found.side_marker and dataclasses.replace(found.side_marker, centre_px=back(*found.side_marker.centre_px))
    return dataclasses.replace(found, landmarks=landmarks, spacing_mm=sp, flags=flags, radiograph=rg,
                               side_marker=marker)
