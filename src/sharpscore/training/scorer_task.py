"""Training task of the joint scorer, run by :mod:`sharpscore.training`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .. import schema
from ..config import ConfigModel
from ..errors import ConfigError
from .cache import CachedImage, cache_sample
from .data import Sample
from ..scoring.model import HEADS, SITE_LIST, ScorerNet, ScorerSpec, head_for, site_index
from ..scoring.ordinal import corn_loss, corn_probabilities, grade_weights
from ..scoring.predict import _normalise, site_crops

__all__ = ["ScorerAugment", "ScorerLoss", "ScorerDataset", "ScorerTask"]

log = logging.getLogger(__name__)


class ScorerAugment(ConfigModel):
    rotate_deg: float = 10.0  # around the bone axis taken from the landmarks
    scale: tuple[float, float] = (0.9, 1.1)
    shift_mm: float = 1.0  # landmark error the scorer should tolerate (standard deviation, per axis)
    gamma: tuple[float, float] = (0.75, 1.35)
    contrast: tuple[float, float] = (0.8, 1.25)
    noise: float = 0.03
    blur: float = 0.3  # probability of a light blur
    lowres: float = 0.0  # probability of a film at coarser resolution (crop down- and up-sampled) ...
    lowres_factor: tuple[float, float] = (1.3, 2.0)  # ... by this factor
    jpeg: float = 0.0  # probability of JPEG compression of the crop ...
    jpeg_quality: tuple[int, int] = (30, 90)  # ... at a quality drawn from this range
    # Film processing: clinical DX/CR films are shown after unsharp masking (local contrast raised
    # around a few millimetres), scanned films are not. With this probability a crop's local contrast
    # is changed: x + amount * (x - blur(x, sigma)), amount < 0 softening, > 0 enhancing.
    processing: float = 0.0
    processing_sigma_mm: tuple[float, float] = (0.5, 4.0)
    processing_amount: tuple[float, float] = (-0.5, 1.5)


class ScorerLoss(ConfigModel):
    class_weight_power: float = 0.5  # grade weights (count / max count) ** -power; 0 = unweighted
    class_weight_cap: float = 10.0
    erosion_weight: float = 1.0
    jsn_weight: float = 1.0


@dataclass
class _Item:
    image: int
    site: str
    kind: str
    erosion: int
    jsn: int


def _target(grades: dict | None, site, measure: str) -> int:
    if site.max_for(measure) == 0 or not grades or site.name not in grades:
        return -1
    v = grades[site.name].get(measure)
    return -1 if v is None else int(round(float(v)))


class ScorerDataset(Dataset):
    """One item per (radiograph, scored site): ``crop`` (C, S, S) standardised, ``site`` index,
    ``erosion`` and ``jsn`` grades (-1 where not scored or unknown), ``foot`` (1 for a foot site).

    Radiographs without landmark files (or whose files lack some sites) are localised by the shipped
    localiser, which supplies the missing sites; radiographs without grades are skipped."""

    def __init__(self, samples: list[Sample], spec: ScorerSpec, augment: ScorerAugment | None, seed: int = 0,
                 sites: list[str] | None = None, localizer: str = "default"):
        from tqdm.auto import tqdm

        self.spec, self.augment, self.seed, self.epoch = spec, augment, seed, 0
        unique = {id(s): s for s in samples if s.region in schema.REGIONS}
        skipped = sum(1 for s in unique.values() if not s.grades)
        if skipped:
            log.warning("%d radiographs have no grades and are not used for scoring", skipped)
        self.images: list[CachedImage] = []
        self.items: list[_Item] = []
        loc = None
        for s in tqdm([s for s in unique.values() if s.grades], desc="caching images", unit="img", leave=False,
                      mininterval=5):
            needed = {site.name for site in schema.sites(s.region)}
            if s.landmarks is None or not needed <= set(s.landmarks):
                # no landmark file, or one with some sites only (e.g. the RA2-DREAM team files have
                # no wrist sites): the shipped localiser supplies the missing ones
                loc = loc or _load_localizer(localizer)
                found = _localise(loc, s)
                if found is None and s.landmarks is None:
                    continue
                s.landmarks = {**(found or {}), **(s.landmarks or {})}
            c = cache_sample(s, spec.cache_mm_per_px)
            if c is None:
                continue
            kind = schema.region_kind(c.region)
            idx = len(self.images)
            self.images.append(c)
            for site in schema.sites(kind):
                if c.landmarks is None or site.name not in c.landmarks or (sites and site.name not in sites):
                    continue
                e, j = _target(c.grades, site, "erosion"), _target(c.grades, site, "jsn")
                if e >= 0 or j >= 0:
                    self.items.append(_Item(idx, site.name, kind, e, j))
        log.info("scorer dataset: %d radiographs, %d joints", len(self.images), len(self.items))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def grade_counts(self) -> dict[str, torch.Tensor]:
        counts = {h: torch.zeros(k) for h, k in HEADS.items()}
        for it in self.items:
            if it.erosion >= 0:
                counts[head_for(it.kind, "erosion")][it.erosion] += 1
            if it.jsn >= 0:
                counts["jsn"][it.jsn] += 1
        return counts

    def _view(self, rng: np.random.Generator) -> dict:
        a = self.augment
        if a is None:
            return {}
        return {"rotate_deg": float(rng.uniform(-a.rotate_deg, a.rotate_deg)), "scale": float(rng.uniform(*a.scale)),
                "shift_mm": tuple(float(v) for v in rng.normal(0, a.shift_mm, 2))}

    def _intensity(self, x: torch.Tensor, rng: np.random.Generator, mm_per_px: float = 0.2) -> torch.Tensor:
        a = self.augment
        if a is None:
            return x
        if a.processing and rng.random() < a.processing:
            x = film_processing(x, float(rng.uniform(*a.processing_sigma_mm)) / mm_per_px,
                                float(rng.uniform(*a.processing_amount)))
        x = x.clamp(0, 1) ** float(rng.uniform(*a.gamma))
        x = (x - 0.5) * float(rng.uniform(*a.contrast)) + 0.5
        if rng.random() < a.blur:
            k = torch.tensor([0.25, 0.5, 0.25])
            x = torch.nn.functional.conv2d(x[:, None], (k[:, None] * k[None, :])[None, None], padding=1)[:, 0]
        if a.lowres and rng.random() < a.lowres:
            size = x.shape[-1]
            small = max(8, int(round(size / float(rng.uniform(*a.lowres_factor)))))
            x = torch.nn.functional.interpolate(x[:, None], size=small, mode="area")
            x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)[:, 0]
        if a.jpeg and rng.random() < a.jpeg:
            x = _jpeg(x, int(rng.integers(a.jpeg_quality[0], a.jpeg_quality[1] + 1)))
        if a.noise > 0:
            g = torch.Generator().manual_seed(int(rng.integers(2**31)))
            x = x + float(rng.uniform(0, a.noise)) * torch.randn(x.shape, generator=g)
        return x

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        it = self.items[index]
        img = self.images[it.image]
        rng = np.random.default_rng([self.seed, self.epoch, index])
        pixels = torch.from_numpy(img.pixels).float() / 255.0
        crop = site_crops(pixels, (img.mm_per_px,) * 2, img.landmarks, img.region, self.spec, [it.site],
                          augment=[self._view(rng)])[0]
        family = schema.site(it.kind, it.site).family
        crop = _normalise(self._intensity(crop, rng, self.spec.fov_mm[family] / self.spec.size))
        return {"crop": crop, "site": torch.tensor(site_index(it.kind, it.site)),
                "erosion": torch.tensor(it.erosion), "jsn": torch.tensor(it.jsn),
                "foot": torch.tensor(int(it.kind == "foot"))}


def film_processing(x: torch.Tensor, sigma_px: float, amount: float) -> torch.Tensor:
    """Unsharp masking of a (C, S, S) crop: ``x + amount * (x - gaussian(x, sigma_px))``, clipped to
    [0, 1]; a negative ``amount`` softens local contrast. The kernel is cut at the crop's size."""
    from torchvision.transforms.v2.functional import gaussian_blur

    size = x.shape[-1]
    k = min(2 * int(np.ceil(3 * sigma_px)) + 1, size - 1 if size % 2 == 0 else size)
    blurred = gaussian_blur(x, [k, k], [sigma_px, sigma_px])
    return (x + amount * (x - blurred)).clamp(0, 1)


def _jpeg(x: torch.Tensor, quality: int) -> torch.Tensor:
    """Each channel of a crop through JPEG at ``quality`` (8-bit, as exported films are)."""
    import io

    from PIL import Image

    out = []
    for ch in x:
        buf = io.BytesIO()
        Image.fromarray(np.round(ch.clamp(0, 1).numpy() * 255).astype(np.uint8)).save(buf, format="JPEG",
                                                                                    quality=quality)
        out.append(torch.from_numpy(np.asarray(Image.open(buf), np.float32) / 255.0))
    return torch.stack(out)


def _load_localizer(name: str):
    from ..models import load_localizer

    return load_localizer(name)


def _localise(localizer, sample: Sample) -> dict | None:
    from ..errors import InputError

    try:
        found = localizer.predict(sample.load())
    except InputError as exc:
        log.warning("%s: not localised (%s); skipped", sample.key, exc)
        return None
    return {k: (x, y) for k, (x, y, _) in found.landmarks.items()}


class ScorerTask:
    """Trains :class:`ScorerNet` with CORN losses on every scored head, masked per site."""

    name = "scorer"
    monitor = ("val_qwk_mean", "max")

    def __init__(self, config):
        self.config = config
        # a fine-tune keeps its starting weights' architecture; what the config's model sets overrides it
        start = _init_spec(config.init) if config.init else {}
        self.spec = ScorerSpec(**{**start, **(config.model or {})})
        self.augment = ScorerAugment(**(config.augment or {}))
        self.loss_cfg = ScorerLoss(**(config.loss or {}))
        self.sites = config.sites
        if self.sites:
            known = {n for _, n in SITE_LIST}
            bad = sorted(set(self.sites) - known)
            if bad:
                raise ConfigError(f"sites: unknown site names {bad} (known: {sorted(known)})")
        self.weights: dict[str, torch.Tensor | None] = {h: None for h in HEADS}

    def build_model(self) -> ScorerNet:
        return ScorerNet(self.spec)

    def datasets(self, train: list[Sample], val: list[Sample]) -> tuple[Dataset, Dataset | None]:
        train_ds = ScorerDataset(train, self.spec, self.augment, seed=self.config.seed, sites=self.sites)
        if len(train_ds) == 0:
            raise ConfigError("no scored joints in the training data (need grades and landmarks or localisable images)")
        val_ds = ScorerDataset(val, self.spec, None, seed=self.config.seed, sites=self.sites) if val else None
        if self.loss_cfg.class_weight_power > 0:
            self.weights = {h: grade_weights(c, self.loss_cfg.class_weight_power, self.loss_cfg.class_weight_cap)
                            for h, c in train_ds.grade_counts().items()}
            log.info("grade weights: %s", {h: [round(float(v), 2) for v in w] for h, w in self.weights.items()})
        return train_ds, val_ds if val_ds is not None and len(val_ds) else None

    def loss(self, model: ScorerNet, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        out = model(batch["crop"], batch["site"])
        foot = batch["foot"].bool()
        e = batch["erosion"]
        dev = e.device
        w = {h: (v.to(dev) if v is not None else None) for h, v in self.weights.items()}
        l_eh = corn_loss(out["erosion_hand"], torch.where(foot, -1, e), w["erosion_hand"])
        l_ef = corn_loss(out["erosion_foot"], torch.where(foot, e, -1), w["erosion_foot"])
        l_j = corn_loss(out["jsn"], batch["jsn"], w["jsn"])
        c = self.loss_cfg
        loss = c.erosion_weight * (l_eh + l_ef) + c.jsn_weight * l_j
        return loss, {"erosion_hand": l_eh.item(), "erosion_foot": l_ef.item(), "jsn": l_j.item()}

    @torch.no_grad()
    def predict_dataset(self, model: ScorerNet, dataset: ScorerDataset, batch_size: int = 128) -> dict[str, np.ndarray]:
        """Grade probabilities of every item (no augmentation): erosion (N, 11) and jsn (N, 5),
        zero-padded past each head's range."""
        model.eval()
        device = next(model.parameters()).device
        pe, pj = [], []
        for i in range(0, len(dataset), batch_size):
            items = [dataset[k] for k in range(i, min(len(dataset), i + batch_size))]
            crops = torch.stack([b["crop"] for b in items]).to(device)
            sites = torch.stack([b["site"] for b in items]).to(device)
            out = {h: v.float().cpu() for h, v in model(crops, sites).items()}
            foot = torch.stack([b["foot"] for b in items]).bool()
            eh = torch.nn.functional.pad(corn_probabilities(out["erosion_hand"]), (0, 5))
            ef = corn_probabilities(out["erosion_foot"])
            pe.append(torch.where(foot[:, None], ef, eh).numpy())
            pj.append(corn_probabilities(out["jsn"]).numpy())
        return {"erosion": np.concatenate(pe), "jsn": np.concatenate(pj)}

    def validate(self, model: ScorerNet, dataset: ScorerDataset) -> dict[str, float]:
        from ..evaluation.joints import quadratic_kappa
        from ..evaluation.totals import icc

        probs = self.predict_dataset(model, dataset)
        out: dict[str, float] = {}
        kappas = []
        totals: dict[str, list[float]] = {}
        for measure in ("erosion", "jsn"):
            p = probs[measure]
            expected = p @ np.arange(p.shape[1])
            truth = np.array([getattr(it, measure) for it in dataset.items])
            fams = np.array([schema.site(it.kind, it.site).family for it in dataset.items])
            for fam in ("finger", "wrist", "foot"):
                m = (fams == fam) & (truth >= 0)
                if m.sum() >= 10 and len(np.unique(truth[m])) > 1:
                    k = quadratic_kappa(truth[m], expected[m])
                    out[f"val_qwk/{fam}_{measure}"] = k
                    kappas.append(k)
            for it, t, e in zip(dataset.items, truth, expected):
                if t >= 0:
                    pid = dataset.images[it.image].patient_id
                    acc = totals.setdefault(pid, [0.0, 0.0])
                    acc[0] += t
                    acc[1] += e
        out["val_qwk_mean"] = float(np.mean(kappas)) if kappas else float("nan")
        if len(totals) >= 3:
            t = np.array(list(totals.values()))
            if t[:, 0].std() > 0:
                out["val_total_icc"] = icc(t, "2,1")["icc"]
            out["val_total_mae"] = float(np.abs(t[:, 0] - t[:, 1]).mean())
        return out

    def export_metadata(self) -> dict:
        sources = self.config.data.sources
        trained_on = sorted({src.type for src in sources})  # what this run's weights last saw
        real: dict[str, str] = {}
        for src in sources:
            if src.type in ("phantom", "negatives"):
                continue
            how = "simulated_disease" if src.type == "real_edit" else "reader_scored"
            base_region = getattr(getattr(src, "base", None), "region", None)  # a real_edit source's films
            for region in ([base_region] if base_region else src.regions):
                kind = schema.region_kind(region)
                if real.get(kind) != "reader_scored":
                    real[kind] = how
        if self.config.init:  # fine-tuned: what the starting weights had seen is still in them
            real = {**_init_real_films(self.config.init), **real}
        return {"spec": self.spec.model_dump(mode="json"), "sites": [list(s) for s in SITE_LIST], "heads": HEADS,
                "trained_on": trained_on, "real_films": real}


def _init_spec(init: str) -> dict:
    """The architecture (``ScorerSpec`` fields) saved with the ``init`` weights: a path or a shipped
    scorer's name. Empty when they cannot be read (the engine then reports the bad init)."""
    from ..models import load_scorer

    try:
        return load_scorer(init).spec.model_dump()
    except Exception:  # noqa: BLE001 - reported by the engine when it loads the weights
        return {}


def _init_real_films(init: str) -> dict[str, str]:
    from ..models import info, load_scorer

    try:
        if Path(init).exists():
            return dict(load_scorer(init).real_films)
        return dict(info("scorer", init).real_films)
    except Exception:  # noqa: BLE001 - provenance is best effort; an unreadable init was reported already
        return {}
