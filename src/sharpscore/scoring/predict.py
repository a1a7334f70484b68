"""JointModel inference: crops around localised joints -> calibrated grade distributions -> totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..spatial import as_spacing
from .. import schema
from ..resample import ImagePyramid, scale_matrix, warp
from .distribution import ExpectedTotals, credible_interval, expected_value, most_likely, sum_distribution
from .geometry import distal_direction, site_crop_matrix
from .model import HEADS, ScorerNet, ScorerSpec, head_for, site_index
from .ordinal import corn_probabilities

__all__ = ["JointScore", "RegionScores", "JointModel", "site_crops", "prepare_image"]


@dataclass
class JointScore:
    """Scores of one SvdH site. Measures the SvdH method does not score at this site are None.

    ``erosion``/``jsn``: expected grade; ``*_probs``: probability of each grade; ``*_grade``: the most
    likely grade; ``*_set``: the prediction set (grades holding the nominal coverage)."""

    site: str
    family: str
    erosion: float | None = None
    jsn: float | None = None
    erosion_probs: list[float] | None = None
    jsn_probs: list[float] | None = None
    erosion_grade: int | None = None
    jsn_grade: int | None = None
    erosion_set: list[int] | None = None
    jsn_set: list[int] | None = None
    ood: float | None = None  # distance of the crop from the calibration crops (None: no OOD calibrator)
    out_of_distribution: bool = False  # ood above the calibrated threshold: sets widened, review flagged
    jsw_mm: float | None = None  # joint-space width measured on the film (sharpscore.jsw); None: not measured
    jsw_sd_mm: float | None = None  # its standard error

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def find_joint(joints: Sequence[JointScore], site: str, region: str) -> JointScore:
    """The score of ``site`` among ``joints`` (KeyError naming the region's kind when absent)."""
    for j in joints:
        if j.site == site:
            return j
    raise KeyError(f"{site!r} is not a scored site of this {schema.region_kind(region)}")


@dataclass
class RegionScores(ExpectedTotals):
    """All scored sites of one hand or foot, with erosion, JSN and total distributions (the
    scorer's output; :class:`sharpscore.RadiographScore` adds the film, landmarks and flags)."""

    region: str
    joints: list[JointScore]
    distributions: dict[str, np.ndarray] = field(repr=False)  # 'erosion', 'jsn', 'total' -> P(sum = k)
    coverage: float = 0.9
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # sites that could not be scored (no landmark)
    features: np.ndarray | None = field(default=None, repr=False)  # backbone features per joint (OOD calibration)

    def joint(self, site: str) -> JointScore:
        return find_joint(self.joints, site, self.region)


def prepare_image(pixels: np.ndarray | torch.Tensor | ImagePyramid, spacing_mm: tuple[float, float],
                  mm_per_px: float):
    """Shrink to about ``mm_per_px`` as training did; returns (image, its spacing, original->image
    matrix). ``pixels`` may be the film's :class:`~sharpscore.resample.ImagePyramid` (shared with
    the localiser)."""
    pyr = pixels if isinstance(pixels, ImagePyramid) else ImagePyramid(pixels)
    f = max(1.0, mm_per_px / min(spacing_mm))
    small = pyr.shrunk(f)
    img = pyr.full
    fy, fx = img.shape[-2] / small.shape[-2], img.shape[-1] / small.shape[-1]
    return small, as_spacing(spacing_mm).scaled(fy, fx), np.linalg.inv(scale_matrix(fx, fy))


def site_crops(image: torch.Tensor, spacing_mm: tuple[float, float], landmarks: dict, region: str, spec: ScorerSpec,
               sites: Sequence[str] | None = None, *, augment: Sequence[dict] | None = None) -> torch.Tensor:
    """Crops (N, C, S, S) of ``sites`` (default: every scored site with a landmark) in ``image``
    whose pixel frame ``landmarks`` are given in. ``augment``: per-crop keyword overrides of
    :func:`site_crop_matrix` (rotate_deg, scale, shift_mm)."""
    kind, mirror = schema.region_kind(region), schema.region_side(region) == "L"
    sites = list(sites if sites is not None else [s.name for s in schema.sites(kind) if s.name in landmarks])
    mats, ctx = [], []
    for i, name in enumerate(sites):
        extra = dict(augment[i]) if augment is not None else {}
        d = distal_direction(kind, name, landmarks, spacing_mm)
        fov = spec.fov_mm[schema.site(kind, name).family]
        centre = landmarks[name][:2]
        mats.append(site_crop_matrix(centre, d, spacing_mm, fov, spec.size, mirror=mirror, **extra))
        if spec.context_scale:
            extra["scale"] = extra.get("scale", 1.0) / spec.context_scale
            ctx.append(site_crop_matrix(centre, d, spacing_mm, fov, spec.size, mirror=mirror, **extra))
    if not mats:
        return torch.zeros(0, spec.in_channels, spec.size, spec.size)
    crops = warp(image, np.stack(mats), spec.size)
    if ctx:
        crops = torch.cat([crops, warp(image, np.stack(ctx), spec.size)], 1)
    return crops


# A joint crop whose intensity SD (film units, 0-1) is below this shows no structure to grade (a blank
# or burnt-out region): it is out of distribution whatever its features say. Half the flattest of 552
# real and phantom joint crops (DHA hands, the adult DICOM, phantoms: 0.0205; a development check).
FLAT_CROP_SD = 0.01


def _normalise(crops: torch.Tensor) -> torch.Tensor:
    """Per-crop standardisation: exposure and processing differ between films and sites."""
    mean = crops.mean(dim=(-2, -1), keepdim=True)
    std = crops.std(dim=(-2, -1), keepdim=True).clamp(min=0.02)
    return (crops - mean) / std


_TTA = ({}, {"rotate_deg": 6.0}, {"rotate_deg": -6.0}, {"scale": 1.06}, {"scale": 0.94})


class JointModel:
    """The joint model: loaded scorer network(s) (several = an ensemble, probabilities averaged)
    plus optional calibration (temperature per head and site family, APS prediction sets, total
    intervals, out-of-distribution distance). :class:`sharpscore.Scorer` is the public pipeline
    around it (load, localise, score, review); ``sharpscore.models.load_scorer`` loads one."""

    def __init__(self, nets: ScorerNet | Sequence[ScorerNet], device: str | torch.device | None = None,
                 calibration: dict | None = None, coverage: float = 0.9, tta: bool = False):
        self.nets = [nets] if isinstance(nets, ScorerNet) else list(nets)
        self.spec: ScorerSpec = self.nets[0].spec
        self.device = torch.device(device) if device else torch.device("cpu")
        for n in self.nets:
            n.eval().to(self.device)
        self.calibration = calibration or {}
        self.coverage = coverage
        self.tta = tta
        self.trained_on: tuple[str, ...] = ()  # data source types the weights were trained on
        # real films the weights learned from, per kind: 'simulated_disease' (healthy real films with
        # disease drawn in, synth.edit) or 'reader_scored' (a real scored cohort)
        self.real_films: dict[str, str] = {}
        # Batch crops of several radiographs through one forward pass (GPU). On CPU each radiograph
        # gets its own pass: kernels round differently with the batch size, and a radiograph's
        # scores must not depend on which files it was scored with.
        self.batch_across = self.device.type != "cpu"

    # -- network ---------------------------------------------------------------------------------
    @torch.inference_mode()
    def logits(self, crops: torch.Tensor, sites: torch.Tensor) -> dict[str, torch.Tensor]:
        """Mean CORN logits of every head over the ensemble: {head: (N, K-1)}; with an OOD
        calibrator also ``'features'``: the first network's backbone features (N, F)."""
        x = _normalise(crops).to(self.device)
        s = sites.to(self.device)
        outs, feats = [], None
        for i, n in enumerate(self.nets):
            o, f = n.forward_with_features(x, s)
            outs.append(o)
            if i == 0:
                feats = f
        out = {h: torch.stack([o[h].float() for o in outs]).mean(0).cpu() for h in HEADS}
        out["features"] = feats.float().cpu()
        return out

    def probabilities(self, logits: dict[str, torch.Tensor], kind: str, sites: Sequence[str]) -> dict[str, np.ndarray]:
        """Grade probabilities per measure, temperature-scaled when the bundle carries a calibration."""
        out = {}
        for measure in ("erosion", "jsn"):
            head = head_for(kind, measure)
            out[measure] = self.calibrate(corn_probabilities(logits[head]).numpy().astype(float), head,
                                          [schema.site(kind, s).family for s in sites])
        return out

    def calibrate(self, probs: np.ndarray, head: str, families: Sequence[str]) -> np.ndarray:
        """Temperature-scaled grade probabilities (unchanged without a ``temperature/{head}`` calibrator)."""
        temp = self.calibration.get(f"temperature/{head}")
        if temp is None or len(probs) == 0:
            return probs
        return temp.apply(np.log(np.clip(probs, 1e-12, 1.0)), list(families))

    # -- one region ----------------------------------------------------------------------------
    def score(self, pixels, spacing_mm: tuple[float, float], landmarks: dict, region: str) -> RegionScores:
        """Score every site of one hand or foot.

        Args:
            pixels: the radiograph (H, W), bone bright, in [0, 1] (or its
                :class:`~sharpscore.resample.ImagePyramid`).
            spacing_mm: (row, column) pixel size.
            landmarks: ``{site: (x_px, y_px[, confidence])}`` in ``pixels``' frame.
            region: 'LH', 'RH', 'LF' or 'RF'.
        """
        return self.score_many([(pixels, spacing_mm, landmarks, region)])[0]

    def score_many(self, items: Sequence[tuple], batch_size: int = 256) -> list[RegionScores]:
        """Score several regions; their crops go through the network together in batches."""
        spec = self.spec
        all_crops, all_sites, spans = [], [], []
        for pixels, spacing, landmarks, region in items:
            kind = schema.region_kind(region)
            small, small_spacing, to_small = prepare_image(pixels, spacing, spec.cache_mm_per_px)
            lm = {k: tuple((to_small @ np.array([v[0], v[1], 1.0]))[:2]) for k, v in landmarks.items()}
            names = [s.name for s in schema.sites(kind) if s.name in lm]
            views = _TTA if self.tta else ({},)
            start = sum(len(c) for c in all_crops)
            for view in views:
                all_crops.append(site_crops(small, small_spacing, lm, region, spec, names, augment=[view] * len(names)))
                all_sites.append(torch.tensor([site_index(kind, n) for n in names], dtype=torch.long))
            spans.append((start, len(names), len(views), kind, region, names))
        if not all_crops:
            return []
        crops, sites = torch.cat(all_crops), torch.cat(all_sites)
        if self.batch_across:
            bounds = [(i, min(i + batch_size, len(crops))) for i in range(0, len(crops), batch_size)]
        else:
            bounds = [(start, start + n * views) for start, n, views, *_ in spans]
        chunks = [self.logits(crops[a:b], sites[a:b]) for a, b in bounds if b > a]
        logits = {h: torch.cat([c[h] for c in chunks]) if chunks else torch.zeros(0) for h in (*HEADS, "features")}
        ood = self.calibration.get("ood")
        results = []
        for start, n, views, kind, region, names in spans:
            probs = None
            for v in range(views):
                sl = slice(start + v * n, start + (v + 1) * n)
                p = self.probabilities({h: logits[h][sl] for h in HEADS}, kind, names)
                probs = p if probs is None else {m: probs[m] + p[m] for m in p}
            probs = {m: q / views for m, q in probs.items()}
            feats = logits["features"][start:start + n].numpy()  # the untransformed view's
            dist = ood.score(feats, [schema.site(kind, s).family for s in names]) if ood is not None and n else None
            flat = (crops[start:start + n, 0].std(dim=(-2, -1)) < FLAT_CROP_SD).numpy()
            scores = self.region_scores(kind, region, names, probs, ood=dist, flat=flat)
            scores.features = feats
            results.append(scores)
        return results

    def region_scores(self, kind: str, region: str, names: list[str], probs: dict[str, np.ndarray],
                      ood: np.ndarray | None = None, flat: np.ndarray | None = None) -> RegionScores:
        """Joint and region scores from grade probabilities; ``ood``: each crop's feature distance,
        ``flat``: crops with no structure (``FLAT_CROP_SD``); either makes a joint out of distribution."""
        joints, dists = [], {"erosion": [], "jsn": []}
        detector = self.calibration.get("ood")
        for i, name in enumerate(names):
            site = schema.site(kind, name)
            js = JointScore(site=name, family=site.family)
            if ood is not None:
                js.ood = float(ood[i])
                js.out_of_distribution = bool(detector is not None and detector.threshold is not None
                                              and ood[i] > detector.threshold)
            if flat is not None and flat[i]:
                js.out_of_distribution = True
            for measure in ("erosion", "jsn"):
                top = site.max_for(measure)
                if top == 0:
                    continue
                p = probs[measure][i][: top + 1]
                p = p / p.sum()
                dists[measure].append(p)
                setattr(js, measure, expected_value(p))
                setattr(js, f"{measure}_probs", [float(v) for v in p])
                setattr(js, f"{measure}_grade", most_likely(p))
                pset = self._prediction_set(kind, measure, p)
                if js.out_of_distribution:  # far from what the scorer knows: one grade wider on each side
                    pset = list(range(max(0, min(pset) - 1), min(top, max(pset) + 1) + 1))
                setattr(js, f"{measure}_set", pset)
            joints.append(js)
        distributions = {m: sum_distribution(d) for m, d in dists.items()}
        distributions["total"] = np.convolve(distributions["erosion"], distributions["jsn"])
        scored = set(names)
        missing = [s.name for s in schema.sites(kind) if s.name not in scored]
        out = RegionScores(region=region, joints=joints, distributions=distributions, coverage=self.coverage,
                           missing=missing)
        out.intervals = {m: self.interval(distributions[m], f"region/{kind}" if m == "total" else None)
                         for m in distributions}
        return out

    def _prediction_set(self, kind: str, measure: str, p: np.ndarray) -> list[int]:
        aps = self.calibration.get(f"aps/{head_for(kind, measure)}")
        if aps is not None and aps.qhat is not None and len(p) == HEADS[head_for(kind, measure)]:
            keep = aps.predict(p[None])[0]
            return [int(k) for k in np.flatnonzero(keep)]
        order = np.argsort(-p, kind="stable")  # smallest set of likeliest grades reaching the coverage
        n = int(np.searchsorted(np.cumsum(p[order]), self.coverage - 1e-9) + 1)
        return sorted(int(k) for k in order[:n])

    def interval(self, distribution: np.ndarray, level: str | None = None) -> tuple[float, float]:
        """Interval of a total: conformal (``interval/{level}`` in the calibration: 'region/hand',
        'region/foot' (else 'region') or 'patient') around the expected value scaled by the
        distribution's standard deviation, else the distribution's own central interval at the
        scorer's coverage."""
        conf = None
        if level:
            conf = self.calibration.get(f"interval/{level}") or self.calibration.get(f"interval/{level.split('/')[0]}")
        mean = expected_value(distribution)
        if conf is not None and conf.q is not None:
            k = np.arange(len(distribution))
            sd = float(np.sqrt(max(distribution @ (k - mean) ** 2, 0.0)))
            lo, hi = conf.predict(np.array([mean]), np.array([sd]))
            return float(lo[0]), float(min(hi[0], len(distribution) - 1))
        lo, hi = credible_interval(distribution, self.coverage)
        return float(lo), float(hi)
