"""Training images held in memory once, downscaled to the resolution a task works at."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from .. import schema
from .data import Sample

__all__ = ["CachedImage", "cache_sample"]

log = logging.getLogger(__name__)


@dataclass
class CachedImage:
    pixels: np.ndarray  # uint8 at mm_per_px
    mm_per_px: float
    landmarks: dict[str, tuple[float, float]] | None  # cache pixels
    region: str
    source: str
    key: str = ""
    patient_id: str = ""
    grades: dict | None = None


def cache_sample(sample: Sample, mm_per_px: float) -> CachedImage | None:
    """Load ``sample``, shrink it to about ``mm_per_px`` (never enlarge) and map its landmarks.

    Spacing comes from the file, else from the dataset, else from anatomy (landmark distances);
    a sample with none of these is skipped with a warning (returns None)."""
    from ..localize.geometry import estimate_spacing
    from ..resample import scale_matrix, shrink

    rg = sample.load()
    kind = schema.region_kind(sample.region) if sample.region in schema.REGIONS else None
    spacing = rg.spacing_mm
    if spacing is None and sample.landmarks and kind:
        est = estimate_spacing(sample.landmarks, kind)
        spacing = (est, est) if est else None
    if spacing is None:
        log.warning("%s: spacing unknown and not estimable; skipped", sample.key)
        return None
    img = torch.from_numpy(np.ascontiguousarray(rg.pixels, dtype=np.float32))
    f = max(1.0, mm_per_px / min(spacing))
    small = shrink(img, f)
    fy, fx = img.shape[0] / small.shape[0], img.shape[1] / small.shape[1]
    lm = None
    if sample.landmarks:
        inv = np.linalg.inv(scale_matrix(fx, fy))
        lm = {k: tuple((inv @ np.array([v[0], v[1], 1.0]))[:2]) for k, v in sample.landmarks.items()}
    pix = np.round(small.numpy().clip(0, 1) * 255).astype(np.uint8)
    return CachedImage(pixels=pix, mm_per_px=float(min(spacing) * max(fx, fy)), landmarks=lm, region=sample.region,
                       source=sample.source, key=sample.key, patient_id=sample.patient_id, grades=sample.grades)
