"""YAML configuration validated by pydantic models, with ``key.sub=value`` overrides.

Every task (synthesis, training, calibration) has a pydantic model deriving from
:class:`ConfigModel`: unknown keys are rejected by name, values are type-checked, and the resolved
config is written as YAML beside every checkpoint and result.

>>> from sharpscore.config import ConfigModel, resolve_config
>>> class Job(ConfigModel):
...     epochs: int = 10
...     lr: float = 1e-3
>>> resolve_config(Job, None, ["epochs=3", "lr=0.01"])
Job(epochs=3, lr=0.01)
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import ConfigError

__all__ = ["ConfigModel", "load_yaml", "packaged_configs", "apply_overrides", "parse_overrides", "resolve_config",
           "validate_config", "dump_config"]

log = logging.getLogger(__name__)
T = TypeVar("T", bound="ConfigModel")


class ConfigModel(BaseModel):
    """Base of every sharpscore config: strict about unknown keys, validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=())


def packaged_configs() -> list[str]:
    """Names of the configs shipped inside the package (``configs/*.yaml`` of the repository):
    the recipes of the shipped models and the fine-tuning defaults."""
    return sorted(p.stem for p in (Path(__file__).parent / "configs").glob("*.yaml"))


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with ``yaml.safe_load`` (config text is never evaluated). A bare name
    that is not a file, such as ``finetune-ra2``, is a config shipped in the package."""
    p = Path(path)
    if not p.is_file() and p.parent == Path(".") and p.stem in packaged_configs():
        log.info("%s: using the config shipped with sharpscore", path)
        p = Path(__file__).parent / "configs" / f"{p.stem}.yaml"
    if not p.is_file():
        known = ", ".join(packaged_configs())
        raise ConfigError(f"{p}: config file not found (shipped configs, usable by name: {known})")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: invalid YAML ({str(exc).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text; save the config as UTF-8") from None
    except RecursionError:
        raise ConfigError(f"{p}: nested too deeply to be a sharpscore config") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of keys to values")
    return data


def parse_overrides(items: Iterable[str]) -> list[tuple[str, Any]]:
    """``["optim.lr=0.01", "resume=true"]`` -> ``[("optim.lr", 0.01), ("resume", True)]``.

    Values are read as YAML scalars or flow collections (``[1, 2]``), never evaluated as code.
    """
    out = []
    for item in items:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not of the form key=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key or any(not part for part in key.split(".")):
            raise ConfigError(f"override {item!r} has an empty key")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out.append((key, value))
    return out


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A copy of ``data`` with dotted-key overrides applied (creating nested mappings as needed).
    A numeric part indexes a list: ``data.sources.0.root=/data/ra2``."""
    result = copy.deepcopy(dict(data))
    for key, value in overrides:
        node: Any = result
        parts = key.split(".")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f"override {key}: {part!r} is not an index of a {len(node)}-item list")
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
                continue
            if not isinstance(node, dict):
                raise ConfigError(f"override {key}: {parts[i - 1]!r} is a value, not a section")
            if last:
                node[part] = value
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
    return result


def _format_validation_error(exc: ValidationError, origin: str) -> str:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key {loc!r}")
        elif err["type"] == "value_error" and not err["loc"]:  # a whole-config check says what and where
            problems.append(str(err["msg"]).removeprefix("Value error, "))
        else:
            problems.append(f"{loc}: {err['msg']}")
    return f"{origin}: " + "; ".join(problems)


def resolve_config(model: type[T], path: str | Path | None = None,
                   overrides: Iterable[str] | Mapping[str, Any] = ()) -> T:
    """Load ``path`` (if given), apply overrides (``key.sub=value`` strings or a mapping of dotted
    keys), and validate into ``model``; raises :class:`ConfigError` naming each bad key."""
    data = load_yaml(path) if path is not None else {}
    pairs = list(overrides.items()) if isinstance(overrides, Mapping) else parse_overrides(overrides)
    return validate_config(model, apply_overrides(data, pairs), str(path) if path else model.__name__)


def validate_config(model: type[T], data: Mapping[str, Any], origin: str | None = None) -> T:
    """Validate a plain mapping into ``model``; :class:`ConfigError` names each bad key."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(exc, origin or model.__name__)) from None


def dump_config(config: BaseModel, path: str | Path | None = None) -> str:
    """The resolved config as YAML text; also written (atomically) to ``path`` if given."""
    text = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
    if path is not None:
        from ._fsutil import atomic_write_text

        atomic_write_text(path, text)
    return text
