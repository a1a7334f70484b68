"""Registry of named model bundles shipped with sharpscore (weights + metadata + model card)."""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import InputError, ModelError

__all__ = ["ModelInfo", "available", "info", "default_weights_path", "load_localizer", "load_scorer", "verify",
           "calibration_path"]

def _why(exc: BaseException) -> str:
    """One line about a bad bundle, without torch's advice to load it unsafely."""
    if isinstance(exc, pickle.UnpicklingError):
        return "not a weights-only checkpoint; refused, as loading it could run code"
    if isinstance(exc, (zipfile.BadZipFile, EOFError)) or "zip" in str(exc).lower():
        return "not a torch checkpoint, or truncated"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _load_quietly(path: str):
    import warnings

    import torch

    with warnings.catch_warnings():  # torch's pickle-protocol warnings about a file we refuse anyway
        warnings.simplefilter("ignore")
        return torch.load(path, map_location="cpu", weights_only=True)


# What torch.load (weights_only) and our checks raise for a file that is not a usable bundle:
# corrupt, truncated, a plain pickle, another task's weights.
_BAD_BUNDLE = (OSError, KeyError, RuntimeError, ValueError, EOFError, TypeError, AttributeError,
               pickle.UnpicklingError, zipfile.BadZipFile)
_DIR = Path(__file__).parent
_REGISTRY = _DIR / "registry.json"


@dataclass(frozen=True)
class ModelInfo:
    task: str
    name: str
    weights: Path
    sha256: str
    card: Path | None
    summary: str
    calibration_sha256: str | None = None  # of <weights stem>.calibration.json, when the bundle has one
    trained_on: tuple[str, ...] = ()  # data source types of its training (e.g. ("phantom",))
    real_films: tuple[tuple[str, str], ...] = ()  # (kind, how) of real films it learned: 'simulated_disease', 'reader_scored'


def _entries() -> list[dict]:
    if not _REGISTRY.exists():
        return []
    return json.loads(_REGISTRY.read_text())["models"]


def available(task: str | None = None) -> list[ModelInfo]:
    """Every shipped bundle (optionally of one task)."""
    out = []
    for e in _entries():
        if task is None or e["task"] == task:
            out.append(ModelInfo(task=e["task"], name=e["name"], weights=_DIR / "weights" / e["weights"],
                                 sha256=e["sha256"], card=(_DIR / "cards" / e["card"]) if e.get("card") else None,
                                 summary=e.get("summary", ""),
                                 calibration_sha256=e.get("calibration_sha256"),
                                 trained_on=tuple(e.get("trained_on", ())),
                                 real_films=tuple(sorted((e.get("real_films") or {}).items()))))
    return out


def info(task: str, name: str = "default") -> ModelInfo:
    for m in available(task):
        if m.name == name:
            return m
    names = ", ".join(m.name for m in available(task)) or "none"
    raise ModelError(f"no {task} model named {name!r} ships with this sharpscore (available: {names})")


def verify(path: Path, sha256: str) -> None:
    if not Path(path).is_file():
        raise ModelError(f"{path}: missing from this installation (reinstall sharpscore)")
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if digest != sha256:
        raise ModelError(f"{path}: checksum mismatch (expected {sha256[:12]}..., got {digest[:12]}...); "
                         "the file is corrupt or was replaced")


def shipped_weights_path(task: str, name: str = "default") -> Path:
    """The verified weights file of a shipped model."""
    m = info(task, name)
    verify(m.weights, m.sha256)
    return m.weights


def default_weights_path(task: str) -> Path:
    return shipped_weights_path(task, "default")


_RETIRED_SPEC = ("region_size", "region_channels")


@lru_cache(maxsize=8)
def _load_localizer_cached(path: str, device: str):
    from ..localize.model import LocalizerNet, LocalizerSpec
    from ..localize.predict import Localizer

    try:
        ck = _load_quietly(path)
        meta = json.loads(ck["meta"])
        # Bundles trained before the region classifier was removed carry its weights and settings.
        spec = {k: v for k, v in meta["spec"].items() if k not in _RETIRED_SPEC}
        weights = {k: v.float() for k, v in ck["model"].items() if not k.startswith("region_net.")}
        net = LocalizerNet(LocalizerSpec(**spec))
        net.load_state_dict(weights)
    except _BAD_BUNDLE as exc:
        raise ModelError(f"{path}: not a sharpscore localiser bundle ({_why(exc)})") from None
    return Localizer(net, device=device)


def check_device(device: str | None) -> str:
    """``device`` checked against this machine: a typed one-line error for an unknown device or a
    GPU that is not there (instead of torch's internal error)."""
    import torch

    device = device or "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise InputError(f"unknown device {device!r}; use 'cpu' or 'cuda' (or 'cuda:N')") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"device {device!r} asked for, but torch sees no CUDA GPU on this machine; use 'cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise InputError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    elif dev.type not in ("cpu", "mps"):
        raise InputError(f"device {device!r} is not supported; use 'cpu' or 'cuda'")
    return device


def load_localizer(model: str | Path = "default", device: str | None = None):
    """A :class:`~sharpscore.localize.predict.Localizer` by registry name or from a ``best.pt`` path."""
    device = check_device(device)
    p = Path(str(model))
    if p.suffix == ".pt" or p.exists():
        if not p.exists():
            raise ModelError(f"{p}: model file not found")
        return _load_localizer_cached(str(p.resolve()), device)
    m = info("localizer", str(model))
    verify(m.weights, m.sha256)
    return _load_localizer_cached(str(m.weights), device)


def calibration_path(weights: str | Path) -> Path:
    """Where the calibration of a weights file lives: ``<stem>.calibration.json`` beside it."""
    p = Path(weights)
    return p.with_name(f"{p.stem}.calibration.json")


def _stamp(path: Path) -> tuple[float, int] | None:
    """Changes when a file is rewritten: part of the cache key, so a new calibration is picked up."""
    return (path.stat().st_mtime, path.stat().st_size) if path.exists() else None


@lru_cache(maxsize=8)
def _load_scorer_cached(paths: tuple[str, ...], device: str, tta: bool, stamp=None):
    from ..calibration import calibration_meta, load_calibration
    from ..scoring import JointModel, ScorerNet, ScorerSpec

    nets, calibration, trained_on, real_films = [], {}, set(), {}
    for path in paths:
        try:
            ck = _load_quietly(path)
            meta = json.loads(ck["meta"])
            if meta.get("task") != "scorer":
                raise KeyError(f"task is {meta.get('task')!r}")
            trained_on.update(meta.get("trained_on", ()))
            real_films.update(meta.get("real_films") or {})
            net = ScorerNet(ScorerSpec(**meta["spec"]))
            net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in ck["model"].items()})
        except _BAD_BUNDLE as exc:
            raise ModelError(f"{path}: not a sharpscore scorer bundle ({_why(exc)})") from None
        nets.append(net)
    cal = calibration_path(paths[0])
    cal_meta = {}
    if cal.exists():
        calibration = load_calibration(cal)
        cal_meta = calibration_meta(cal)
    scorer = JointModel(nets, device=device, calibration=calibration, tta=tta)
    scorer.calibration_patients = cal_meta.get("fit_patients")  # None: not recorded (older files)
    scorer.trained_on = tuple(sorted(trained_on))
    scorer.real_films = dict(real_films)
    return scorer


def load_scorer(model: str | Path = "default", device: str | None = None, *, tta: bool = False):
    """A :class:`~sharpscore.scoring.JointModel` by registry name, from a ``best.pt`` path, or from a folder
    of fold bundles (``*.pt``, an ensemble). A ``<stem>.calibration.json`` beside the weights is loaded."""
    device = check_device(device)
    p = Path(str(model))
    if p.is_dir():
        paths = sorted(str(q.resolve()) for q in p.glob("*.pt"))
        if not paths:
            raise ModelError(f"{p}: folder holds no .pt bundles")
        return _load_scorer_cached(tuple(paths), device, tta, _stamp(calibration_path(paths[0])))
    if p.suffix == ".pt" or p.exists():
        if not p.exists():
            raise ModelError(f"{p}: model file not found")
        return _load_scorer_cached((str(p.resolve()),), device, tta,
                                   (_stamp(p), _stamp(calibration_path(p.resolve()))))
    m = info("scorer", str(model))
    verify(m.weights, m.sha256)
    cal = calibration_path(m.weights)
    if m.calibration_sha256:
        if not cal.exists():
            raise ModelError(f"{cal}: the calibration of model {m.name!r} is missing")
        verify(cal, m.calibration_sha256)
    scorer = _load_scorer_cached((str(m.weights),), device, tta)
    if m.trained_on:
        scorer.trained_on = m.trained_on
    if m.real_films:
        scorer.real_films = dict(m.real_films)
    return scorer
