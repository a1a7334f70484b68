"""The training engine shared by every sharpscore model (``sharpscore train CONFIG.yaml``).

>>> from sharpscore.training import TrainConfig
>>> TrainConfig(task="localizer").schedule.name
'cosine'
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..config import apply_overrides, load_yaml, parse_overrides, validate_config
from .config import TrainConfig
from .data import (LabelmeSource, LandmarkCSVSource, NegativeSource, PhantomSource, RA2DreamSource, Sample,
                   load_samples, split_samples)
from .engine import Trainer, TrainResult, library_versions, seed_everything

__all__ = ["TrainConfig", "Trainer", "TrainResult", "train", "Sample", "PhantomSource", "RA2DreamSource",
           "LabelmeSource", "LandmarkCSVSource", "NegativeSource", "load_samples", "split_samples",
           "library_versions", "seed_everything"]


def train(config: str | Path | TrainConfig | None = None, overrides: list[str] | Mapping[str, Any] = (),
          **kwargs: Any) -> TrainResult:
    """Run a training job from a YAML path (or a :class:`TrainConfig`) plus overrides, e.g.
    ``train("configs/localizer.yaml", ["epochs=2"], out_dir="runs/x")``."""
    if isinstance(config, TrainConfig):
        data, origin = config.model_dump(mode="json"), "TrainConfig"
    else:
        data, origin = (load_yaml(config) if config else {}), str(config)
    pairs = list(overrides.items()) if isinstance(overrides, Mapping) else parse_overrides(overrides)
    cfg = validate_config(TrainConfig, apply_overrides(data, pairs + list(kwargs.items())), origin)
    return Trainer(cfg).fit()
