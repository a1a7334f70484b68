"""Cohort scoring past one process: deterministic shards, one manifest per shard, and the merge.

A cohort of ``N`` films is cut into ``world`` shards by input position: shard ``rank`` takes the
films at positions ``rank, rank + world, ...`` of the stable input order (:func:`.batch.find_inputs`),
so every rank computes the same cut without talking to the others. Each rank writes its films'
results into the shared results folder as a single run does (resumable: a restarted rank skips
what it finished) and, when its shard is done, ``shards/rank-<r>-of-<n>.json``: its files and the
errors among them. :func:`merge_shards` (``sharpscore merge OUT``; rank 0 does it itself under
``torchrun``) checks that every shard is done over the same inputs and options, and writes
``scores.csv`` and ``errors.csv`` exactly as a single-process run over the same inputs writes them.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from .._fsutil import atomic_write_text
from ..errors import InputError

__all__ = ["Shard", "shard_from_env", "parse_shard", "merge_shards"]

_FOLDER = "shards"
_KEYS = ("rank", "world", "inputs", "n_inputs", "run_key", "model", "formats", "files", "errors")


@dataclass(frozen=True)
class Shard:
    """Which part of a cohort this process scores: positions ``rank::world`` of the input order."""

    rank: int
    world: int

    def __post_init__(self) -> None:
        if self.world < 1 or not 0 <= self.rank < self.world:
            raise InputError(f"shard {self.rank}/{self.world}: the rank must lie in 0..{self.world - 1}")

    def take(self, items: list) -> list[int]:
        """The positions of ``items`` this shard scores."""
        return list(range(self.rank, len(items), self.world))

    def manifest(self, out: Path) -> Path:
        return out / _FOLDER / f"rank-{self.rank:05d}-of-{self.world:05d}.json"


def parse_shard(text: str) -> Shard:
    """``'RANK/WORLD'`` (``--shard 3/16``; a SLURM array's ``$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT``)."""
    try:
        rank, world = (int(v) for v in text.split("/"))
    except ValueError:
        raise InputError(f"--shard must be RANK/WORLD (e.g. 0/4), not {text!r}") from None
    return Shard(rank, world)


def shard_from_env(env: dict | None = None) -> Shard | None:
    """The shard ``torchrun`` gives this process (``RANK``, ``WORLD_SIZE``), or None outside it."""
    env = os.environ if env is None else env
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return None
    try:
        shard = Shard(int(env["RANK"]), int(env["WORLD_SIZE"]))
    except ValueError:
        raise InputError(f"RANK={env['RANK']!r} WORLD_SIZE={env['WORLD_SIZE']!r}: not a torchrun rank") from None
    return shard if shard.world > 1 else None


def inputs_digest(files: list) -> str:
    """A fingerprint of the ordered input list: every shard of one cohort must see the same."""
    text = json.dumps([[str(f.path), f.key] for f in files])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_manifest(out: Path, shard: Shard, files: list, positions: list[int], errors: list, *,
                   run_key: str, model: str, formats: list[str]) -> Path:
    """Record a finished shard: its films (by position), its errors, what it was run with."""
    doc = {"rank": shard.rank, "world": shard.world, "inputs": inputs_digest(files), "n_inputs": len(files),
           "run_key": run_key, "model": model, "formats": sorted(formats),
           "files": [[i, str(files[i].path), files[i].key, files[i].explicit] for i in positions],
           "errors": [list(e) for e in errors]}
    return atomic_write_text(shard.manifest(out), json.dumps(doc) + "\n")


def read_manifests(out: Path) -> list[dict]:
    """Every shard's manifest, checked to be one complete cohort run; a typed error says what is missing."""
    folder = Path(out) / _FOLDER
    paths = sorted(folder.glob("rank-*-of-*.json")) if folder.is_dir() else []
    if not paths:
        raise InputError(f"{out}: no shard manifests in {folder} (score with --shard or under torchrun first)")
    docs = []
    for p in paths:
        try:
            doc = json.loads(p.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{p}: unreadable shard manifest ({type(exc).__name__})") from None
        if not isinstance(doc, dict) or any(k not in doc for k in _KEYS):
            raise InputError(f"{p}: not a sharpscore shard manifest")
        docs.append(doc)
    first = docs[0]
    for key in ("world", "inputs", "run_key", "formats"):
        if any(d.get(key) != first.get(key) for d in docs):
            raise InputError(f"{folder}: shards of different runs ({key} differs); remove the stale manifests "
                             "and rerun the ranks that wrote them")
    missing = sorted(set(range(first["world"])) - {d["rank"] for d in docs})
    if missing:
        raise InputError(f"{folder}: shard(s) {', '.join(map(str, missing))} of {first['world']} not finished; "
                         "(re)run them, then merge")
    return sorted(docs, key=lambda d: d["rank"])


def merge_shards(out: str | Path, *, scorer=None):
    """Build ``scores.csv`` and ``errors.csv`` (and the HTML reports when asked for) of a sharded run
    in ``out``, identical to a single-process run's; returns its :class:`.batch.CohortSummary`."""
    from .batch import InputFile, finish_cohort

    out = Path(out)
    docs = read_manifests(out)
    rows = sorted((row for d in docs for row in d["files"]), key=lambda r: r[0])
    if [r[0] for r in rows] != list(range(docs[0]["n_inputs"])):
        raise InputError(f"{out / _FOLDER}: the shards do not cover the {docs[0]['n_inputs']} inputs once each")
    files = [InputFile(Path(path), key, explicit) for _, path, key, explicit in rows]
    errors = sorted((tuple(e) for d in docs for e in d["errors"]), key=lambda e: e[0])
    if scorer is None:
        from .scorer import Scorer

        scorer = Scorer(docs[0]["model"])
    return finish_cohort(out, files, errors, docs[0]["formats"], scorer, scored=len(files) - len(errors), skipped=0,
                         seconds=0.0)


def merge_under_torchrun(out: Path, shard: Shard) -> None:
    """Under ``torchrun``: wait for every rank (gloo barrier), then rank 0 merges."""
    from datetime import timedelta

    import torch.distributed as dist

    # A large cohort's ranks may finish hours apart: the barrier waits as long as a run can take.
    dist.init_process_group("gloo", timeout=timedelta(days=7))
    try:
        dist.barrier()
        try:
            if shard.rank == 0:
                merge_shards(out)
        finally:
            dist.barrier()  # the other ranks wait for the merge, and are released even if it fails
    finally:
        dist.destroy_process_group()
