"""Training configuration (``sharpscore train CONFIG.yaml key=value ...``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..config import ConfigModel
from .data import SourceConfig

__all__ = ["TrainConfig", "OptimizerConfig", "ScheduleConfig", "EarlyStopping", "DataConfig"]


class OptimizerConfig(ConfigModel):
    name: Literal["adamw", "adam", "sgd"] = "adamw"
    lr: float = Field(2e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    momentum: float = 0.9  # sgd only


class ScheduleConfig(ConfigModel):
    name: Literal["cosine", "onecycle", "constant"] = "cosine"
    warmup_epochs: float = Field(0.0, ge=0)
    min_lr_fraction: float = Field(0.02, ge=0, le=1)


class EarlyStopping(ConfigModel):
    metric: str | None = None  # default: the task's own monitor metric
    mode: Literal["min", "max"] | None = None
    patience: int | None = Field(None, ge=1)  # None: never stop early


class DataConfig(ConfigModel):
    sources: list[SourceConfig] = []
    val_fraction: float = Field(0.1, ge=0, lt=1)
    folds: int | None = Field(None, ge=2)  # k-fold: patients dealt into k folds ...
    fold: int = Field(0, ge=0)  # ... and this one validates (run once per fold for an ensemble)
    max_train_samples: int | None = None
    max_val_samples: int | None = None


class TrainConfig(ConfigModel):
    """Everything a training run needs; the resolved copy is saved beside every checkpoint."""

    task: Literal["localizer", "scorer"]
    name: str = "default"
    out_dir: str = "runs/run"
    seed: int = 0
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(8, ge=1)
    num_workers: int = Field(0, ge=0)
    max_steps_per_epoch: int | None = Field(None, ge=1)
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    amp: bool = True  # mixed precision, on CUDA only
    grad_clip: float | None = 5.0
    resume: bool = False
    init: str | None = None  # checkpoint/bundle path, or 'default' for the shipped weights of this task
    deterministic: bool = True
    optimizer: OptimizerConfig = OptimizerConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    early_stopping: EarlyStopping = EarlyStopping()
    data: DataConfig = DataConfig()
    model: dict = {}  # task-specific architecture (e.g. LocalizerSpec fields)
    augment: dict = {}  # task-specific augmentation
    loss: dict = {}  # task-specific loss settings (scorer: class_weight_power, erosion_weight, jsn_weight)
    freeze: list[str] = []  # parameter-name prefixes not trained, e.g. ["backbone"] to fine-tune the heads only
    sites: list[str] | None = None
    calibration: dict = {}  # scorer: `sharpscore calibrate` settings (see sharpscore.training.calibrate)
    tensorboard: bool = False

    @model_validator(mode="after")
    def _check_task_sections(self) -> "TrainConfig":
        """``model``, ``augment``, ``loss`` and ``calibration`` are typed per task: each is checked
        against its task's schema here, so a typo is a one-line config error naming the key."""
        from pydantic import ValidationError

        for section, cls in _task_sections(self.task).items():
            try:
                cls.model_validate(getattr(self, section) or {})
            except ValidationError as exc:
                problems = []
                for err in exc.errors():
                    loc = ".".join([section, *(str(p) for p in err["loc"])])
                    problems.append(f"unknown key {loc!r}" if err["type"] == "extra_forbidden"
                                    else f"{loc}: {err['msg']}")
                raise ValueError("; ".join(problems)) from None
        return self


def _task_sections(task: str) -> dict[str, type]:
    """The typed schema of each task-specific section."""
    if task == "localizer":
        from ..localize.model import LocalizerSpec
        from .localizer_task import LocalizerAugment

        return {"model": LocalizerSpec, "augment": LocalizerAugment}
    from .calibrate import CalibrationConfig
    from ..scoring.model import ScorerSpec
    from .scorer_task import ScorerAugment, ScorerLoss

    return {"model": ScorerSpec, "augment": ScorerAugment, "loss": ScorerLoss, "calibration": CalibrationConfig}
