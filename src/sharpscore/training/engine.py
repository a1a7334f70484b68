"""One training engine for every sharpscore model.

A plain PyTorch loop: deterministic seeding, AMP on CUDA, gradient clipping, cosine or one-cycle
schedules with warm-up, early stopping on a validation metric, a checkpoint every epoch with exact
resume, best-model export, the resolved config and library versions beside each checkpoint, a
tqdm progress bar and a CSV (optionally TensorBoard) log. Under ``torchrun`` it uses
DistributedDataParallel with a DistributedSampler; rank 0 alone logs and writes files.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import platform
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, DistributedSampler

from .._fsutil import atomic_write, atomic_write_text
from ..config import dump_config
from ..errors import ConfigError, ModelError
from .config import TrainConfig
from .data import load_samples, split_samples

__all__ = ["Trainer", "TrainResult", "seed_everything", "library_versions"]

log = logging.getLogger(__name__)


def seed_everything(seed: int, deterministic: bool = True) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def library_versions() -> dict[str, str]:
    import monai

    from .. import __version__

    return {"sharpscore": __version__, "torch": torch.__version__, "monai": monai.__version__,
            "numpy": np.__version__, "python": platform.python_version()}


class TrainResult(dict):
    """``best_metric``, ``best_epoch``, ``epochs_run``, ``best_path``, ``history`` (list of dicts)."""


def _make_task(config: TrainConfig):
    if config.task == "localizer":
        from .localizer_task import LocalizerTask

        return LocalizerTask(config)
    from .scorer_task import ScorerTask

    return ScorerTask(config)


class Trainer:
    """Run one configured training job. ``Trainer(config).fit()`` returns a :class:`TrainResult`."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.distributed = dist.is_available() and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
        if self.distributed and not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() and config.device != "cpu" else "gloo"
            dist.init_process_group(backend=backend)
        self.rank = dist.get_rank() if self.distributed else 0
        self.world = dist.get_world_size() if self.distributed else 1
        self.device = self._device()
        self.out = Path(config.out_dir)
        self.task = _make_task(config)

    def _device(self) -> torch.device:
        want = self.config.device
        if want == "auto":
            want = "cuda" if torch.cuda.is_available() else "cpu"
        if want.startswith("cuda"):
            if not torch.cuda.is_available():
                raise ConfigError(f"device {want!r} requested but CUDA is not available")
            if self.distributed and want == "cuda":
                want = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        return torch.device(want)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    # -------------------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Train (and validate) for the configured epochs; torch's thread count is held fixed for the
        run, so that its result does not depend on what else runs on the machine."""
        from .._threads import held_threads

        with held_threads():
            return self._fit()

    def _fit(self) -> TrainResult:
        cfg = self.config
        seed_everything(cfg.seed, cfg.deterministic)
        train_ds, val_ds = self._datasets()
        model, core = self._model()
        optimizer = self._optimizer(model)
        sampler = DistributedSampler(train_ds, num_replicas=self.world, rank=self.rank, shuffle=True, seed=cfg.seed) \
            if self.distributed else None
        gen = torch.Generator().manual_seed(cfg.seed)
        loader = DataLoader(train_ds, batch_size=cfg.batch_size, shuffle=sampler is None, sampler=sampler,
                            num_workers=cfg.num_workers, generator=gen, drop_last=len(train_ds) > cfg.batch_size,
                            worker_init_fn=_worker_init, persistent_workers=False)
        steps = len(loader) if cfg.max_steps_per_epoch is None else min(len(loader), cfg.max_steps_per_epoch)
        scheduler = self._scheduler(optimizer, steps)
        use_amp = cfg.amp and self.device.type == "cuda"
        scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
        metric, mode = cfg.early_stopping.metric or self.task.monitor[0], cfg.early_stopping.mode or self.task.monitor[1]
        state = {"epoch": 0, "best": None, "best_epoch": None, "stale": 0, "history": []}
        ckpt_dir = self.out / "checkpoints"
        if cfg.resume:
            state = self._resume(ckpt_dir / "last.pt", core, optimizer, scheduler, scaler, gen, state)
        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            dump_config(cfg, self.out / "config.yaml")
            atomic_write_text(self.out / "versions.json", json.dumps(library_versions(), indent=2) + "\n")
        writer = self._tensorboard()

        for epoch in range(state["epoch"], cfg.epochs):
            model.train()
            if sampler is not None:
                sampler.set_epoch(epoch)
            if hasattr(train_ds, "set_epoch"):
                train_ds.set_epoch(epoch)
            t0 = time.perf_counter()
            sums = self._train_epoch(epoch, model, core, loader, steps, optimizer, scheduler, scaler, use_amp)
            row: dict[str, Any] = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"],
                                   **{f"train_{k}": v / max(steps, 1) for k, v in sums.items()}}
            if val_ds is not None and self.is_main:
                row.update(self.task.validate(core, val_ds))
            row["seconds"] = round(time.perf_counter() - t0, 1)
            improved = _record_epoch(state, row, metric, mode, validated=val_ds is not None)
            if self.is_main:
                self._log(row, writer)
                self._checkpoint(ckpt_dir / "last.pt", core, optimizer, scheduler, scaler, gen, state)
                if improved:
                    self._export_best(core, state, row)
                log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k} {v:.4g}" for k, v in row.items()
                                                               if isinstance(v, float)))
            patience = cfg.early_stopping.patience
            if patience and state["stale"] >= patience:
                log.info("early stopping: %s did not improve for %d epochs", metric, patience)
                break
        if writer is not None:
            writer.close()
        if self.distributed:
            dist.barrier()
        return TrainResult(best_metric=state["best"], best_epoch=state["best_epoch"], epochs_run=state["epoch"],
                           best_path=str(self.out / "best.pt"), history=state["history"], monitor=metric)

    # -- the steps of a run ----------------------------------------------------------------------
    def _datasets(self):
        """The configured samples, split at patient level, as the task's train and validation datasets."""
        cfg = self.config
        samples = load_samples(cfg.data.sources)
        if not samples:
            raise ConfigError("the configured data sources hold no samples")
        train_s, val_s = split_samples(samples, cfg.data.val_fraction, cfg.seed, folds=cfg.data.folds,
                                       fold=cfg.data.fold)
        if cfg.data.max_train_samples:
            train_s = train_s[: cfg.data.max_train_samples]
        if cfg.data.max_val_samples:
            val_s = val_s[: cfg.data.max_val_samples]
        log.info("training on %d samples, validating on %d", len(train_s), len(val_s))
        return self.task.datasets(train_s, val_s)

    def _model(self) -> tuple[torch.nn.Module, torch.nn.Module]:
        """The task's network on the device, initialised and frozen as configured; returns the model
        to train (wrapped for distributed runs) and the bare network."""
        cfg = self.config
        model = self.task.build_model().to(self.device)
        if cfg.init:
            self._load_init(model, cfg.init)
        if cfg.freeze:
            frozen = [n for n, p in model.named_parameters() if any(n.startswith(f) for f in cfg.freeze)]
            if not frozen:
                raise ConfigError(f"freeze: no parameter name starts with any of {cfg.freeze}")
            for n, p in model.named_parameters():
                if n in frozen:
                    p.requires_grad_(False)
            log.info("froze %d parameter tensors (%s)", len(frozen), ", ".join(cfg.freeze))
        if self.distributed:
            model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[self.device] if self.device.type == "cuda"
                                                              else None)
        return model, (model.module if self.distributed else model)

    def _train_epoch(self, epoch: int, model, core, loader, steps: int, optimizer, scheduler, scaler,
                     use_amp: bool) -> dict[str, float]:
        """One pass over the training data; returns the summed loss and loss parts."""
        from tqdm.auto import tqdm

        cfg = self.config
        sums: dict[str, float] = {}
        bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="step", disable=not self.is_main,
                   leave=False, mininterval=2)
        for i, batch in enumerate(loader):
            if i >= steps:
                break
            batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=self.device.type, enabled=use_amp):
                loss, parts = self.task.loss(model, batch)
            if not torch.isfinite(loss):
                raise ModelError(f"loss became {float(loss)} at epoch {epoch + 1}, step {i + 1}; "
                                 "lower optimizer.lr or check the data")
            scaler.scale(loss).backward()
            if cfg.grad_clip:
                scaler.unscale_(optimizer)
                groups = core.clip_groups() if hasattr(core, "clip_groups") else {"all": list(model.parameters())}
                for params in groups.values():
                    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            sums["loss"] = sums.get("loss", 0.0) + loss.item()
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v
            bar.update()
            bar.set_postfix(loss=f"{sums['loss'] / (i + 1):.4f}")
        bar.close()
        return sums

    # -------------------------------------------------------------------------------------------
    def _optimizer(self, model: torch.nn.Module) -> torch.optim.Optimizer:
        o = self.config.optimizer
        params = [p for p in model.parameters() if p.requires_grad]
        if o.name == "sgd":
            return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
        cls = torch.optim.AdamW if o.name == "adamw" else torch.optim.Adam
        return cls(params, lr=o.lr, weight_decay=o.weight_decay)

    def _scheduler(self, optimizer, steps_per_epoch: int):
        s, total = self.config.schedule, max(1, steps_per_epoch * self.config.epochs)
        warm = int(s.warmup_epochs * steps_per_epoch)
        if s.name == "onecycle":
            return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=self.config.optimizer.lr, total_steps=total,
                                                       pct_start=max(0.05, min(0.5, warm / total)) if warm else 0.3)

        def factor(step: int) -> float:
            if warm and step < warm:
                return (step + 1) / warm
            if s.name == "constant":
                return 1.0
            progress = min(1.0, (step - warm) / max(1, total - warm))
            return s.min_lr_fraction + (1 - s.min_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    def _checkpoint(self, path: Path, model, optimizer, scheduler, scaler, gen, state) -> None:
        payload = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                   "scaler": scaler.state_dict(), "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                   "state": json.dumps(state), "config": self.config.model_dump(mode="json")}
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda p: torch.save(payload, p))
        dump_config(self.config, path.parent / "config.yaml")

    def _resume(self, path: Path, model, optimizer, scheduler, scaler, gen, state) -> dict:
        if not path.exists():
            log.warning("resume requested but %s does not exist: starting from scratch", path)
            return state
        ck = torch.load(path, map_location=self.device, weights_only=True)
        model.load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        scheduler.load_state_dict(ck["scheduler"])
        scaler.load_state_dict(ck["scaler"])
        gen.set_state(ck["generator"])
        torch.set_rng_state(ck["torch_rng"])
        loaded = json.loads(ck["state"])
        log.info("resuming %s after epoch %d", path, loaded["epoch"])
        return loaded

    def _load_init(self, model, init: str) -> None:
        path = Path(init)
        if not path.exists() and "/" not in init and not init.endswith(".pt"):
            from ..models import shipped_weights_path

            path = shipped_weights_path(self.config.task, init)  # a registry name: "default", "phantom", ...
        if not Path(path).exists():
            raise ConfigError(f"init weights {path} not found")
        ck = torch.load(path, map_location="cpu", weights_only=True)
        weights = ck.get("model", ck) if isinstance(ck, dict) else ck
        missing, unexpected = model.load_state_dict({k: v.float() for k, v in weights.items()}, strict=False)
        if missing or unexpected:
            log.warning("init from %s: %d missing, %d unexpected parameters", path, len(missing), len(unexpected))

    def _export_best(self, model, state: dict, row: dict) -> None:
        meta = {"task": self.config.task, "name": self.config.name, "epoch": state["best_epoch"],
                "metrics": {k: v for k, v in row.items() if isinstance(v, (int, float))},
                "versions": library_versions(), **self.task.export_metadata()}
        payload = {"model": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "meta": json.dumps(meta)}
        atomic_write(self.out / "best.pt", lambda p: torch.save(payload, p))
        atomic_write_text(self.out / "best.json", json.dumps(meta, indent=2) + "\n")

    def _log(self, row: dict, writer) -> None:
        path = self.out / "metrics.csv"
        header = list(row)
        if path.exists():
            with path.open() as fh:
                existing = next(csv.reader(fh), [])
            header = existing + [k for k in row if k not in existing]
        rows = []
        if path.exists():
            with path.open() as fh:
                rows = list(csv.DictReader(fh))
        rows = [r for r in rows if int(float(r.get("epoch", 0))) < row["epoch"]] + [row]

        def write(p: Path) -> None:
            with p.open("w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=header)
                w.writeheader()
                for r in rows:
                    w.writerow({k: r.get(k, "") for k in header})

        atomic_write(path, write)
        if writer is not None:
            for k, v in row.items():
                if isinstance(v, (int, float)) and k != "epoch":
                    writer.add_scalar(k, v, row["epoch"])

    def _tensorboard(self):
        if not (self.config.tensorboard and self.is_main):
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            log.warning("tensorboard is not installed (pip install tensorboard); logging to metrics.csv only")
            return None
        return SummaryWriter(str(self.out / "tensorboard"))


def _record_epoch(state: dict, row: dict, metric: str, mode: str, *, validated: bool) -> bool:
    """Add an epoch's ``row`` to the run ``state`` (best value and epoch, epochs without
    improvement, history); returns whether this epoch's model is the best so far."""
    state["epoch"] = row["epoch"]
    improved = False
    value = row.get(metric)
    if value is not None and math.isfinite(value):
        if state["best"] is None or (value < state["best"] if mode == "min" else value > state["best"]):
            state.update(best=value, best_epoch=row["epoch"], stale=0)
            improved = True
        else:
            state["stale"] += 1
    elif not validated or state["best_epoch"] is None:
        improved = True  # no usable validation yet: the latest model is the best we know
        state.update(best_epoch=row["epoch"])
    state["history"].append(row)
    return improved


def _worker_init(worker_id: int) -> None:
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
