"""Training task of the localiser, run by :mod:`sharpscore.training`."""

from __future__ import annotations

import logging
import math

import numpy as np
import torch
from monai.transforms import GenerateHeatmap
from torch.utils.data import Dataset

from .. import schema
from ..config import ConfigModel
from ..errors import MultipleRegionsError, NotHandOrFootError
from ..spatial import SpacingSource
from ..io.radiograph import Radiograph
from .data import Sample
from .cache import cache_sample
from ..localize.geometry import CHANNELS, channel_index, crop_matrix, letterbox_matrix, warp, warp_points
from ..localize.model import LocalizerNet, LocalizerSpec
from ..localize.predict import Localizer, scale_matrix, shrink
from ..localize.template import WRIST

__all__ = ["LocalizerAugment", "LocalizerDataset", "LocalizerTask"]

log = logging.getLogger(__name__)


class LocalizerAugment(ConfigModel):
    rotate_deg: float = 15.0
    scale: tuple[float, float] = (0.85, 1.15)
    shift: float = 0.06
    flip: float = 0.5
    gamma: tuple[float, float] = (0.7, 1.4)
    contrast: tuple[float, float] = (0.75, 1.25)
    brightness: float = 0.08
    noise: float = 0.02
    fine_jitter_mm: float = 3.0
    fine_rotate_deg: float = 12.0
    fine_scale: tuple[float, float] = (0.9, 1.1)
    fine_per_image: int = 8
    wrist_per_image: int = 4  # wider wrist crops per hand (models with ``wrist_fine_size``)
    wrist_jitter_mm: float = 4.0  # wrist seeds from the template are off by a few mm
    # share of hand/foot films shown as a partial view (.partial_view: cropped, collimated; joints
    # out of view silent)
    partial: float = 0.0


class LocalizerDataset(Dataset):
    """Samples as the localiser sees them, with augmentation when ``augment`` is given.

    Every item: ``coarse`` (1, S, S) image, ``coarse_target`` (C, S, S) heatmaps, ``coarse_mask``
    (C,), and ``fine_per_image`` refinement crops
    ``fine`` (K, 1, s, s) with ``fine_target`` (K, s, s), ``fine_chan`` (K,), ``fine_valid`` (K,).
    """

    def __init__(self, samples: list[Sample], spec: LocalizerSpec, augment: LocalizerAugment | None, seed: int = 0):
        from tqdm.auto import tqdm

        self.spec, self.augment, self.seed, self.epoch = spec, augment, seed, 0
        unique = {id(s): s for s in samples}
        cache = {key: cache_sample(s, spec.cache_mm_per_px)
                 for key, s in tqdm(unique.items(), desc="caching images", unit="img", leave=False, mininterval=5)}
        self.items = [cache[id(s)] for s in samples if cache[id(s)] is not None]
        self.coarse_heatmap = GenerateHeatmap(sigma=spec.coarse_sigma_px, spatial_shape=(spec.coarse_size,) * 2)
        self.fine_heatmap = GenerateHeatmap(sigma=spec.fine_sigma_px, spatial_shape=(spec.fine_size,) * 2)
        self.wrist_heatmap = (GenerateHeatmap(sigma=spec.fine_sigma_px, spatial_shape=(spec.wrist_fine_size,) * 2)
                              if spec.wrist_fine_size else None)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def _intensity(self, x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        a = self.augment
        if a is None:
            return x
        x = x.clamp(0, 1) ** float(rng.uniform(*a.gamma))
        x = (x - 0.5) * float(rng.uniform(*a.contrast)) + 0.5 + float(rng.uniform(-a.brightness, a.brightness))
        if a.noise > 0:
            g = torch.Generator().manual_seed(int(rng.integers(2**31)))
            x = x + float(rng.uniform(0, a.noise)) * torch.randn(x.shape, generator=g)
        return x.clamp(0, 1)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        spec, a = self.spec, self.augment
        rng = np.random.default_rng([self.seed, self.epoch, index])
        item = self.items[index]
        region = item.region
        kind = schema.region_kind(region) if region in schema.REGIONS else None
        pixels, landmarks, unsure = item.pixels, item.landmarks, set()
        if a and kind and landmarks and a.partial > 0 and rng.random() < a.partial:
            pixels, landmarks, unsure = _partial(item, kind, rng)
        img = torch.from_numpy(np.asarray(pixels, np.float32))
        img = img / 255.0 if pixels.dtype == np.uint8 else img
        # ---- coarse: same shrink + letterbox as inference, plus augmentation
        f = max(1.0, max(img.shape) / (1.5 * spec.coarse_size))
        small = shrink(img, f)
        fy, fx = img.shape[0] / small.shape[0], img.shape[1] / small.shape[1]
        flip = bool(a and rng.random() < a.flip)
        m_small = letterbox_matrix(tuple(small.shape), spec.coarse_size,
                                   scale=float(rng.uniform(*a.scale)) if a else 1.0,
                                   rotate_deg=float(rng.uniform(-a.rotate_deg, a.rotate_deg)) if a else 0.0,
                                   shift=tuple(rng.uniform(-a.shift, a.shift, 2)) if a else (0.0, 0.0), flip=flip)
        coarse = self._intensity(warp(small, m_small[None], spec.coarse_size)[0], rng)
        to_cache = scale_matrix(fx, fy) @ m_small
        n_ch = len(CHANNELS)
        target = np.zeros((n_ch, spec.coarse_size, spec.coarse_size), np.float32)
        mask = np.ones(n_ch, np.float32)
        if kind is not None:
            names = [n for n in schema.landmarks(kind)]
            idx = [channel_index(kind, n) for n in names]
            mask[idx] = 0.0
            if item.landmarks and landmarks is not item.landmarks:
                # a partial view: the joints it hides are taught silent, those on its border not at all
                mask[[channel_index(kind, n) for n in names if n in item.landmarks and n not in landmarks
                      and n not in unsure]] = 1.0
            have = [(n, i) for n, i in zip(names, idx) if landmarks and n in landmarks]
            if have:
                pts = warp_points(np.array([landmarks[n] for n, _ in have]), to_cache)
                inside = (pts >= 0).all(1) & (pts < spec.coarse_size - 1).all(1)
                if inside.any():
                    hm = self.coarse_heatmap(pts[inside][:, ::-1].copy())
                    for (n, i), h in zip([h for h, ok in zip(have, inside) if ok], np.asarray(hm)):
                        target[i] = h
                        mask[i] = 1.0
        # ---- fine crops around (jittered) landmarks at fine_mm_per_px
        present = [n for n in (landmarks or {}) if kind and n in schema.landmarks(kind)]
        out = {"coarse": coarse, "coarse_target": torch.from_numpy(target), "coarse_mask": torch.from_numpy(mask)}
        out.update(self._fine_crops(img, landmarks, item.mm_per_px, kind, present, a.fine_per_image if a else 8,
                                    spec.fine_size, a.fine_jitter_mm if a else 0.0, rng))
        if spec.wrist_fine_size:
            # Wider crops of the wrist sites (hands only): the same fine network learns their context.
            wrist = [n for n in present if kind == "hand" and n in WRIST]
            out.update({f"wrist_{k}": v for k, v in self._fine_crops(
                img, landmarks, item.mm_per_px, kind, wrist, a.wrist_per_image if a else 0, spec.wrist_fine_size,
                a.wrist_jitter_mm if a else 0.0, rng).items()})
        return out

    def _fine_crops(self, img: torch.Tensor, landmarks: dict | None, mm_per_px: float, kind: str | None,
                    names: list[str], k: int, s: int, jitter_mm: float,
                    rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """``k`` crops of ``s`` px at fine_mm_per_px around jittered landmarks drawn from ``names``
        (all marked invalid when ``names`` is empty)."""
        a, spec = self.augment, self.spec
        fine = torch.zeros(k, 1, s, s)
        fine_target = np.zeros((k, s, s), np.float32)
        fine_chan = np.zeros(k, np.int64)
        fine_valid = np.zeros(k, np.float32)
        if names and k:
            chosen = rng.choice(names, size=k, replace=len(names) < k)
            heatmap = self.fine_heatmap if s == spec.fine_size else self.wrist_heatmap
            mats = []
            for j, n in enumerate(chosen):
                jitter = rng.normal(0, jitter_mm / mm_per_px, 2)
                centre = np.asarray(landmarks[n]) + jitter
                mats.append(crop_matrix(centre, s, (mm_per_px,) * 2, spec.fine_mm_per_px,
                                        rotate_deg=float(rng.uniform(-a.fine_rotate_deg, a.fine_rotate_deg)) if a else 0.0,
                                        scale=float(rng.uniform(*a.fine_scale)) if a else 1.0))
                p = warp_points(np.array([landmarks[n]]), mats[-1])[0]
                if 0 <= p[0] < s - 1 and 0 <= p[1] < s - 1:
                    fine_target[j] = np.asarray(heatmap(p[None, ::-1].copy()))[0]
                fine_chan[j] = channel_index(kind, n)
                fine_valid[j] = 1.0
            fine = self._intensity(warp(img, np.stack(mats), s), rng)
        return {"fine": fine, "fine_target": torch.from_numpy(fine_target), "fine_chan": torch.from_numpy(fine_chan),
                "fine_valid": torch.from_numpy(fine_valid)}


def _partial(item, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, dict | None, set[str]]:
    """``item`` seen through a random partial view (:func:`.partial_view.random_view`): its pixels
    (float in [0, 1]), the landmarks well inside the view (view pixels), and the names of those on
    its border. The item as it is when no view can be drawn."""
    from .partial_view import EDGE_MM, random_view

    ours = {n: p for n, p in item.landmarks.items() if n in schema.landmarks(kind)}
    view = random_view(item.pixels.shape, ours, item.mm_per_px, rng)
    if view is None:
        return item.pixels, item.landmarks, set()
    x0, y0 = view.box[:2]
    names = list(ours)
    local = np.array([ours[n] for n in names], float) - [x0, y0]
    depth = view.depth_px(local)
    edge = EDGE_MM / item.mm_per_px
    kept = {n: tuple(p) for n, p, d in zip(names, local, depth) if d > edge}
    unsure = {n for n, d in zip(names, depth) if -edge <= d <= edge}
    return view.apply(item.pixels.astype(np.float32) / 255.0), kept, unsure


def _heatmap_loss(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, sigma: float) -> torch.Tensor:
    """Foreground-weighted squared error summed over pixels, averaged over supervised channels,
    scaled so that predicting zeros everywhere costs about 1."""
    w = 1.0 + 20.0 * target
    per_channel = (w * (out - target) ** 2).flatten(-2).sum(-1)
    norm = 21.0 * math.pi * sigma**2
    return (per_channel * mask).sum() / (mask.sum().clamp(min=1.0) * norm)


def _soft_argmax(out: torch.Tensor, beta: float) -> torch.Tensor:
    """Expected (x, y) of softmax(beta * out) over each (H, W) map: (..., 2) in pixels."""
    *lead, h, w = out.shape
    prob = torch.softmax(beta * out.reshape(-1, h * w).float(), dim=1).reshape(-1, h, w)
    xs = torch.arange(w, dtype=prob.dtype, device=prob.device)
    ys = torch.arange(h, dtype=prob.dtype, device=prob.device)
    x = (prob.sum(1) * xs).sum(1)
    y = (prob.sum(2) * ys).sum(1)
    return torch.stack([x, y], -1).reshape(*lead, 2)


def _target_xy(target: torch.Tensor) -> torch.Tensor:
    """Centroid of each Gaussian target map (exact for complete Gaussians)."""
    *lead, h, w = target.shape
    t = target.reshape(-1, h, w).float()
    tot = t.sum((1, 2)).clamp(min=1e-6)
    xs = torch.arange(w, dtype=t.dtype, device=t.device)
    ys = torch.arange(h, dtype=t.dtype, device=t.device)
    return torch.stack([(t.sum(1) * xs).sum(1) / tot, (t.sum(2) * ys).sum(1) / tot], -1).reshape(*lead, 2)


def _coordinate_loss(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, beta: float) -> torch.Tensor:
    """Integral-regression loss (DSNT-style): distance in pixels between the soft-argmax of the
    output and the target centre, over channels that hold a landmark; gives useful gradients long
    before a sharp heatmap peak has formed."""
    present = (mask > 0) & (target.flatten(-2).amax(-1) > 0.5)
    if not present.any():
        return out.sum() * 0.0
    d = (_soft_argmax(out, beta) - _target_xy(target)).norm(dim=-1) / out.shape[-1]  # fraction of the map
    return (d * present).sum() / present.sum()


class LocalizerTask:
    """Trains :class:`LocalizerNet`: coarse and fine heatmaps together (negatives teach silence)."""

    name = "localizer"
    monitor = ("val_median_mm", "min")

    def __init__(self, config):
        self.config = config
        self.spec = LocalizerSpec(**(config.model or {}))
        self.augment = LocalizerAugment(**(config.augment or {}))
        self.beta = 12.0  # softmax sharpness on outputs trained towards height-1 Gaussians
        self.coord_weight = 10.0

    def build_model(self) -> LocalizerNet:
        return LocalizerNet(self.spec)

    def datasets(self, train: list[Sample], val: list[Sample]) -> tuple[Dataset, Dataset | None]:
        train_ds = LocalizerDataset(train, self.spec, self.augment, seed=self.config.seed)
        val_ds = LocalizerDataset(val, self.spec, None, seed=self.config.seed) if val else None
        return train_ds, val_ds

    def loss(self, model: LocalizerNet, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        b, k = batch["fine_chan"].shape
        s = self.spec.fine_size
        wrist = "wrist_fine" in batch and batch["wrist_fine"].shape[1] > 0
        if wrist:
            ws = self.spec.wrist_fine_size
            coarse_out, fine_out, wrist_out = model(batch["coarse"], batch["fine"].reshape(b * k, 1, s, s),
                                                    batch["wrist_fine"].reshape(-1, 1, ws, ws))
        else:
            coarse_out, fine_out = model(batch["coarse"], batch["fine"].reshape(b * k, 1, s, s))
        l_coarse = _heatmap_loss(coarse_out, batch["coarse_target"], batch["coarse_mask"], self.spec.coarse_sigma_px)
        c_coarse = _coordinate_loss(coarse_out, batch["coarse_target"], batch["coarse_mask"], self.beta)
        l_fine, c_fine = self._fine_loss(fine_out, batch, "")
        loss = l_coarse + l_fine + self.coord_weight * (c_coarse + c_fine)
        parts = {"coarse": l_coarse.item(), "fine": l_fine.item(),
                 "coarse_px": c_coarse.item() * self.spec.coarse_size, "fine_px": c_fine.item() * s}
        if wrist:
            l_wrist, c_wrist = self._fine_loss(wrist_out, batch, "wrist_")
            loss = loss + l_wrist + self.coord_weight * c_wrist
            parts.update(wrist=l_wrist.item(), wrist_px=c_wrist.item() * self.spec.wrist_fine_size)
        return loss, parts

    def _fine_loss(self, out: torch.Tensor, batch: dict[str, torch.Tensor], prefix: str):
        """Heatmap and coordinate loss of each crop's own landmark channel."""
        s = out.shape[-1]
        chan = batch[f"{prefix}fine_chan"].reshape(-1)
        sel = out[torch.arange(out.shape[0]), chan]
        target = batch[f"{prefix}fine_target"].reshape(-1, s, s)
        valid = batch[f"{prefix}fine_valid"].reshape(-1)
        return (_heatmap_loss(sel, target, valid, self.spec.fine_sigma_px),
                _coordinate_loss(sel, target, valid, self.beta))

    @torch.no_grad()
    def validate(self, model: LocalizerNet, dataset: LocalizerDataset) -> dict[str, float]:
        """Full inference (coarse -> fine) on every validation image at its cached resolution."""
        model.eval()
        loc = Localizer(model, device=next(model.parameters()).device)
        errors: dict[str, list[float]] = {}
        finger: list[float] = []
        correct, n_region = 0, 0
        for item in dataset.items:
            rg = Radiograph(pixels=item.pixels.astype(np.float32) / 255.0, spacing_mm=(item.mm_per_px,) * 2,
                            spacing_source=SpacingSource.CACHE, source=item.source)
            n_region += 1
            try:
                pred = loc.predict(rg)
                region = pred.region
            except NotHandOrFootError:
                region, pred = "other", None
            except MultipleRegionsError:
                region, pred = "two", None
            correct += int(region == item.region)
            if pred is None or not item.landmarks or item.region not in schema.REGIONS:
                continue
            for name, (x, y) in item.landmarks.items():
                if name in pred.landmarks:
                    e = float(np.hypot(pred.landmarks[name][0] - x, pred.landmarks[name][1] - y) * item.mm_per_px)
                    errors.setdefault(item.source, []).append(e)
                    if name == "ip" or name[:3] in ("mcp", "pip", "dip"):
                        finger.append(e)
        every = [e for v in errors.values() for e in v]
        out = {"val_region_accuracy": correct / max(n_region, 1)}
        if every:
            out.update(val_median_mm=float(np.median(every)), val_within_2mm=float(np.mean(np.array(every) <= 2)),
                       val_within_4mm=float(np.mean(np.array(every) <= 4)))
        else:
            out["val_median_mm"] = float("inf")
        if finger:
            out["val_finger_within_4mm"] = float(np.mean(np.array(finger) <= 4))
        for src, v in errors.items():
            out[f"val_median_mm/{src}"] = float(np.median(v))
        return out

    def export_metadata(self) -> dict:
        return {"spec": self.spec.model_dump(mode="json"), "channels": [list(c) for c in CHANNELS]}
