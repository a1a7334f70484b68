"""Fine-tuning the shipped scorer on a local cohort (the notebook-friendly entry point)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["finetune"]


def finetune(config: str | Path | Mapping[str, Any] | None = None, overrides: list[str] | Mapping[str, Any] = (),
             **kwargs: Any):
    """Fine-tune a scorer on a local cohort; returns the engine's ``TrainResult``.

    ``config`` is a YAML path (e.g. ``configs/finetune-ra2.yaml``), a mapping, or None. Unless it
    says otherwise the task is ``scorer`` and training starts from the shipped weights
    (``init: default``). ``overrides`` take dotted keys (``{"data.sources.0.root": "/data/ra2"}`` or
    ``["epochs=3"]``); keyword arguments set top-level keys (``epochs=3, freeze=["backbone"]``).

    Example::

        import sharpscore
        result = sharpscore.finetune("configs/finetune-ra2.yaml", {"data.sources.0.root": "ra2"},
                                     out_dir="runs/my-cohort", epochs=5)
        scorer = sharpscore.models.load_scorer(result["best_path"])
    """
    from ..config import apply_overrides, load_yaml, parse_overrides, validate_config
    from . import TrainConfig, Trainer

    if config is None:
        data, origin = {}, "finetune()"
    elif isinstance(config, Mapping):
        data, origin = dict(config), "finetune()"
    else:
        data, origin = load_yaml(config), str(config)
    data.setdefault("task", "scorer")
    data.setdefault("init", "default")
    pairs = list(overrides.items()) if isinstance(overrides, Mapping) else parse_overrides(overrides)
    cfg = validate_config(TrainConfig, apply_overrides(data, pairs + list(kwargs.items())), origin)
    return Trainer(cfg).fit()
