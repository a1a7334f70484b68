"""Cohort scoring (``sharpscore score PATH... --out DIR``): robust, resumable, parallel decoding.

Layout of ``DIR``:

- ``radiographs/<key>.json``: one result per radiograph (written atomically; a rerun skips files
  whose JSON exists, so an interrupted run resumes where it stopped);
- ``overlays/<key>.png`` and ``explain/<key>.png`` when asked for;
- ``scores.csv``: one RA2-DREAM row per patient (expected scores, totals over the regions present,
  ``Overall_*_lo``/``_hi`` interval columns), usable by ``sharpscore evaluate``;
- ``errors.csv``: ``file,error,message`` for every file of this run that could not be scored;
- ``dicom/<key>-sr.dcm`` and ``<key>-overlay.dcm`` with ``--format sr`` (needs ``sharpscore[dicom]``).

Patients are grouped by RA2-DREAM file names (``{Patient_ID}-{LH|RH|LF|RF}.*``), else by DICOM
PatientID (and StudyInstanceUID when a patient has several studies), else each file is its own patient.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import schema
from .._fsutil import atomic_write, atomic_write_text, create_once, remove_stale_temporaries
from ..errors import InputError, NotAFileError, SharpScoreError

if TYPE_CHECKING:
    from .shards import Shard

__all__ = ["find_inputs", "score_cohort", "CohortSummary", "FORMATS"]

log = logging.getLogger(__name__)

FORMATS = ("json", "csv", "png", "sr", "html")
_RA2_NAME = re.compile(r"^(?P<pid>.+)-(?P<region>LH|RH|LF|RF)$")
_KNOWN_EXT = {".dcm", ".dicom", ".ima", ".jpg", ".jpeg", ".png", ".mha"}
# Files that sit beside radiographs and are never radiographs: skipped inside folders. Anything else
# that is not a readable radiograph (an empty file, a text file, a corrupt image) goes to errors.csv.
_SIDECARS = {".json", ".csv", ".yaml", ".yml", ".md", ".zip", ".gz", ".tar"}


@dataclass
class InputFile:
    path: Path
    key: str  # unique, filesystem-safe name of this file's outputs
    explicit: bool  # named on the command line (not found inside a folder)


@dataclass
class CohortSummary:
    scored: int
    skipped: int  # already done in an earlier run
    failed: int
    patients: int
    seconds: float
    out: Path

    @property
    def files_per_second(self) -> float:
        return self.scored / self.seconds if self.seconds > 0 else 0.0


def _key(path: Path, root: Path | None) -> str:
    rel = path.relative_to(root) if root is not None else Path(path.name)
    stem = str(rel.with_suffix("")) if rel.suffix.lower() in _KNOWN_EXT else str(rel)
    return re.sub(r"[^A-Za-z0-9._-]+", "__", stem.replace(os.sep, "__"))


def find_inputs(paths: Sequence[str | Path], exclude: str | Path | None = None) -> list[InputFile]:
    """Files named, and every file under folders named (recursively), in a stable order; inside
    folders, hidden files and sidecars (labelme JSON, CSV, YAML) are left out, and so is everything
    under ``exclude`` (the results folder: our own outputs are never read back as inputs). Formats are
    judged by content when decoding (DICOM whatever its name); unreadable files are reported, not skipped."""
    out: list[InputFile] = []
    seen: set[Path] = set()
    skip = Path(exclude).resolve() if exclude is not None else None
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise NotAFileError(f"{p}: no such file or folder")
        if p.is_dir():
            for f in sorted(q for q in p.rglob("*") if q.is_file()):
                if f.resolve() in seen or f.name.startswith(".") or f.suffix.lower() in _SIDECARS:
                    continue
                if skip is not None and f.resolve().is_relative_to(skip):
                    continue
                seen.add(f.resolve())
                out.append(InputFile(f, _key(f, p), False))
        else:
            if p.resolve() in seen:
                continue
            seen.add(p.resolve())
            out.append(InputFile(p, _key(p, None), True))
    keys: dict[str, int] = {}
    for f in out:  # the same relative name under two roots: keep keys unique
        n = keys.get(f.key, 0)
        keys[f.key] = n + 1
        if n:
            f.key = f"{f.key}__{n}"
    return out


def _decode(path: str):
    """Worker: load one radiograph (the expensive decode), or return the typed error."""
    from ..io import load_radiograph

    try:
        return load_radiograph(path)
    except SharpScoreError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - a decoder bug must not stop the cohort
        return InputError(f"{path}: could not be read ({type(exc).__name__}: {exc})")


def _patient_of(f: InputFile, rg, pseudonym=None, several_studies: frozenset = frozenset()) -> tuple[str, str | None]:
    """(patient id, region given by the file name or None). A DICOM film is grouped by its PatientID,
    and by study too for a patient with several studies in the run (``several_studies``); unless
    ``pseudonym`` is None the identifiers appear only as ``pseudonym(ids)``."""
    m = _RA2_NAME.match(f.path.stem)
    if m:
        return m["pid"], m["region"]
    if rg is not None and rg.format == "dicom":
        pid, study = _dicom_ids(f.path)
        if pid:
            ids = f"{pid}|{study}" if study and pid in several_studies else pid
            return (pseudonym(ids) if pseudonym else ids), None
    return f.key, None


def _patients_with_several_studies(files: list[InputFile]) -> frozenset:
    """PatientIDs whose DICOM films in this run belong to more than one study (headers only)."""
    studies: dict[str, set] = {}
    for f in files:
        if _RA2_NAME.match(f.path.stem):
            continue
        pid, study = _dicom_ids(f.path)
        if pid:
            studies.setdefault(pid, set()).add(study)
    return frozenset(p for p, s in studies.items() if len(s) > 1)


def pseudonymiser(out: Path, salt: str | None = None):
    """A stable pseudonym for DICOM identifiers: ``anon-`` + 12 hex digits of SHA-256 over a salt and
    the identifiers. The salt is ``salt``, else ``SHARPSCORE_SALT``, else one drawn at random and kept
    in ``out/.pseudonym-salt`` so that a resumed run gives the same pseudonyms (do not share that file:
    with it a known PatientID can be matched to its pseudonym)."""
    import hashlib
    import secrets

    salt = salt or os.environ.get("SHARPSCORE_SALT")
    if not salt:
        salt = create_once(out / ".pseudonym-salt", secrets.token_hex(16) + "\n").strip()  # ranks may race
    return lambda ids: "anon-" + hashlib.sha256(f"{salt}|{ids}".encode()).hexdigest()[:12]


def _dicom_ids(path: Path) -> tuple[str | None, str | None]:
    """(PatientID, StudyInstanceUID) from a file's header (a few hundred bytes; not cached, so a
    file replaced between runs in one process is read afresh)."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["PatientID", "StudyInstanceUID"])
    except Exception:  # noqa: BLE001 - unreadable header: group by file
        return None, None
    pid = str(ds.get("PatientID", "") or "").strip() or None
    study = str(ds.get("StudyInstanceUID", "") or "").strip() or None
    return pid, study


def _decoded(files: list[InputFile], workers: int, ahead: int = 4) -> Iterable[tuple[InputFile, object]]:
    """Decoded radiographs in input order; with workers, at most ``ahead`` files per worker are
    decoded before they are consumed, so memory stays bounded whatever the cohort size."""
    if workers <= 1:
        for f in files:
            yield f, _decode(str(f.path))
        return
    from .._fsutil import die_with_parent

    with ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent) as pool:
        yield from _bounded(pool, _decode, [(str(f.path),) for f in files], files, ahead * workers, ordered=True)


def _bounded(pool, fn, args: list[tuple], tags: list, ahead: int, ordered: bool) -> Iterable[tuple[object, object]]:
    """``(tag, fn(*a))`` for every job, with at most ``ahead`` jobs in flight (bounded memory); in
    submission order, or as they finish (``ordered=False``: a slow film holds no one up)."""
    from collections import deque
    from concurrent.futures import FIRST_COMPLETED, wait

    jobs = iter(zip(tags, args))
    flight: deque = deque()
    for tag, a in jobs:
        flight.append((tag, pool.submit(fn, *a)))
        if len(flight) >= ahead:
            break
    while flight:
        if ordered:
            tag, fut = flight.popleft()
        else:
            done, _ = wait([fu for _, fu in flight], return_when=FIRST_COMPLETED)
            tag, fut = next((t, fu) for t, fu in flight if fu in done)
            flight.remove((tag, fut))
        nxt = next(jobs, None)
        if nxt is not None:
            flight.append((nxt[0], pool.submit(fn, *nxt[1])))
        yield tag, fut.result()


# What a film worker needs besides its film, set in the parent just before the pool forks (so the
# scorer's weights are shared, not copied or pickled) and cleared after the run.
_RUN: dict = {}


def _film_worker_init(threads: int | None) -> None:
    from .._fsutil import die_with_parent
    from .._threads import fix_threads

    die_with_parent()
    fix_threads(threads)


def _score_film(index: int, f: InputFile, landmarks: Path | None) -> tuple | None:
    """Film worker: decode, localise, score and write one film's outputs; its error row, or None."""
    r = _RUN
    rg = _decode(str(f.path))
    try:
        if isinstance(rg, SharpScoreError):
            raise rg
        res = r["scorer"].score(rg, landmarks=landmarks, explain=r["explain"])
        _write_outputs(r["out"], f, rg, res, r["formats"], r["explain"], r["pseudonym"], r["run_key"], r["several"])
    except SharpScoreError as exc:
        return (index, str(f.path), type(exc).__name__, str(exc))
    return None


def _film_workers_usable(scorer, workers: int) -> bool:
    """Whole films go to worker processes on the CPU (decode, localise and score overlap across
    films, one torch thread pool per worker, nothing spins against anything else); on a GPU the
    workers decode and the main process batches the network across films."""
    import multiprocessing as mp

    return workers > 1 and str(getattr(scorer, "device", "cpu")).startswith("cpu") and \
        "fork" in mp.get_all_start_methods()


def score_cohort(paths: Sequence[str | Path], out: str | Path, *, scorer=None, formats: Sequence[str] = ("json", "csv"),
                 explain: bool = False, workers: int = 1, batch_size: int = 8, progress: bool = True,
                 model: str = "default", device: str | None = None, tta: bool = False,
                 landmarks: str | Path | None = None, keep_identifiers: bool = False,
                 salt: str | None = None, threads: int | str | None = None,
                 shard: "Shard | None" = None) -> CohortSummary:
    """Score every radiograph under ``paths`` into ``out`` (see the module docstring).

    ``landmarks``: a reader's corrections -- a labelme JSON file (one input film), or a folder of them
    named like the films (``<name>.json``, as ``sharpscore locate --labelme`` writes them); a film
    with one is scored at the reader's landmarks, and rescored when its file is newer than its result.
    DICOM patients appear under a salted pseudonym (:func:`pseudonymiser`) unless ``keep_identifiers``.
    ``workers``: on the CPU, processes that each take whole films (decode, localise, score, write);
    on a GPU, decoding processes feeding batches to the network.
    ``threads``: torch threads of each scoring process, held for the whole run so that outputs are
    byte-identical run to run (default: the cores this process may use, shared out among the
    workers and the torchrun ranks on this machine); ``'auto'`` gives each film the cores other
    processes leave free (faster on a busy machine, last digits may differ between runs).
    ``shard``: a :class:`.shards.Shard` -- score only that part of the inputs and record it in
    ``out/shards/``; :func:`.shards.merge_shards` then writes ``scores.csv`` and ``errors.csv``."""
    from .._threads import available_cores, held_threads

    if threads == "auto":
        return _score_cohort(paths, out, scorer=scorer, formats=formats, explain=explain, workers=workers,
                             batch_size=batch_size, progress=progress, model=model, device=device, tta=tta,
                             landmarks=landmarks, keep_identifiers=keep_identifiers, salt=salt, shard=shard,
                             worker_threads=None)
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise InputError(f"threads must be a positive number or 'auto', not {threads!r}")
    # torchrun starts LOCAL_WORLD_SIZE ranks on each machine: they share its cores too
    sharing = max(1, workers) * max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)) if shard else max(1, workers)
    per_worker = threads or max(1, available_cores() // sharing)
    with held_threads(per_worker):
        return _score_cohort(paths, out, scorer=scorer, formats=formats, explain=explain, workers=workers,
                             batch_size=batch_size, progress=progress, model=model, device=device, tta=tta,
                             landmarks=landmarks, keep_identifiers=keep_identifiers, salt=salt, shard=shard,
                             worker_threads=per_worker)


def _score_cohort(paths: Sequence[str | Path], out: str | Path, *, scorer=None, formats: Sequence[str] = ("json", "csv"),
                  explain: bool = False, workers: int = 1, batch_size: int = 8, progress: bool = True,
                  model: str = "default", device: str | None = None, tta: bool = False,
                  landmarks: str | Path | None = None, keep_identifiers: bool = False,
                  salt: str | None = None, shard: "Shard | None" = None,
                  worker_threads: int | None = 1) -> CohortSummary:
    from tqdm.auto import tqdm

    from .scorer import Scorer

    bad = sorted(set(formats) - set(FORMATS))
    if bad:
        raise InputError(f"unknown output format(s) {bad}; choose from {', '.join(FORMATS)}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    files = find_inputs(paths, exclude=out)
    if not files:
        raise InputError(f"no radiographs found in {', '.join(map(str, paths))}")
    mine = shard.take(files) if shard is not None else list(range(len(files)))
    reader = _reader_landmarks(files, landmarks)
    overlays = "png" in formats or "html" in formats  # the HTML reports embed the overlays
    for sub in ("radiographs",) + (("overlays",) if overlays else ()) + (("explain",) if explain else ()):
        (out / sub).mkdir(parents=True, exist_ok=True)
    pseudonym = None if keep_identifiers else pseudonymiser(out, salt)
    several = _patients_with_several_studies(files)
    stale = remove_stale_temporaries(out)
    if stale:
        log.info("removed %d half-written files left by an interrupted run in %s", stale, out)
    scorer = scorer or Scorer(model, device=device, tta=tta)
    run_key = _run_key(scorer, model, formats, explain, tta)
    todo = [i for i in mine if not _done(out, files[i], reader.get(files[i].key), run_key)]
    skipped = len(mine) - len(todo)
    if skipped:
        log.info("%d of %d files already scored in %s; resuming", skipped, len(mine), out)
    errors: list[tuple[int, str, str, str]] = []
    t0 = time.perf_counter()
    bar = tqdm(total=len(todo), unit="file", desc="scoring", disable=not progress, mininterval=1)
    try:
        if _film_workers_usable(scorer, workers) and len(todo) > 1:
            _run_film_workers(files, todo, reader, workers, worker_threads, errors, bar,
                              dict(scorer=scorer, out=out, formats=formats, explain=explain, pseudonym=pseudonym,
                                   run_key=run_key, several=several))
        else:
            _run_in_process(files, todo, reader, workers, batch_size, errors, bar, scorer, out, formats, explain,
                            pseudonym, run_key, several)
    finally:
        bar.close()
        errors.sort(key=lambda e: e[0])
        if shard is None:
            _write_errors(out / "errors.csv", errors)
    seconds = time.perf_counter() - t0
    scored = len(todo) - len(errors)
    if shard is not None:
        from .shards import write_manifest

        model_name = str(Path(model).resolve()) if Path(str(model)).exists() else str(model)
        write_manifest(out, shard, files, mine, errors, run_key=run_key, model=model_name, formats=list(formats))
        return CohortSummary(scored=scored, skipped=skipped, failed=len(errors), patients=0, seconds=seconds, out=out)
    return finish_cohort(out, files, errors, formats, scorer, scored=scored, skipped=skipped, seconds=seconds)


def _run_film_workers(files, todo, reader, workers, threads, errors, bar, run: dict) -> None:
    import multiprocessing as mp

    _RUN.update(run)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"),
                                 initializer=_film_worker_init, initargs=(threads,)) as pool:
            args = [(i, files[i], reader.get(files[i].key)) for i in todo]
            for _, err in _bounded(pool, _score_film, args, todo, 2 * workers, ordered=False):
                if err is not None:
                    errors.append(err)
                bar.update()
    finally:
        _RUN.clear()


def _run_in_process(files, todo, reader, workers, batch_size, errors, bar, scorer, out, formats, explain,
                    pseudonym, run_key, several) -> None:
    """Decode (in ``workers`` processes when more than one) and score in this process, the network
    batched across ``batch_size`` films."""
    pending: list[tuple[int, InputFile, object]] = []

    def flush() -> None:
        if not pending:
            return
        plain = [(f, rg) for _, f, rg in pending if f.key not in reader]
        results = dict(zip([f.key for f, _ in plain],
                           scorer.score_many([rg for _, rg in plain], batch_size=batch_size, explain=explain,
                                             errors="keep")))
        for _, f, rg in pending:
            if f.key in reader:
                try:
                    results[f.key] = scorer.score(rg, landmarks=reader[f.key], explain=explain)
                except SharpScoreError as exc:
                    results[f.key] = exc
        for i, f, rg in pending:
            res = results[f.key]
            try:
                if isinstance(res, SharpScoreError):
                    raise res
                _write_outputs(out, f, rg, res, formats, explain, pseudonym, run_key, several)
            except SharpScoreError as exc:
                errors.append((i, str(f.path), type(exc).__name__, str(exc)))
            bar.update()
        pending.clear()

    for i, (f, rg) in zip(todo, _decoded([files[i] for i in todo], workers)):
        if isinstance(rg, SharpScoreError):
            errors.append((i, str(f.path), type(rg).__name__, str(rg)))
            bar.update()
            continue
        pending.append((i, f, rg))
        if len(pending) >= batch_size:
            flush()
    flush()


def finish_cohort(out: Path, files: list[InputFile], errors: list[tuple], formats: Sequence[str], scorer, *,
                  scored: int, skipped: int, seconds: float) -> CohortSummary:
    """``scores.csv``, the HTML reports and ``errors.csv`` from the results in ``out`` of ``files``
    (``errors``: ``(position, file, error, message)`` of the films that could not be scored)."""
    errors = list(errors)
    patients = 0
    if "csv" in formats or "html" in formats:
        collected = _collect_patients(out, files, errors)
        rows = _patient_rows(collected, scorer)
        if "csv" in formats:
            schema.write_ra2_csv(out / "scores.csv", rows, extra_columns=schema.PREDICTION_EXTRA_COLUMNS)
        if "html" in formats:
            _write_reports(out, collected, rows)
        patients = len(rows)
    errors.sort(key=lambda e: e[0])
    _write_errors(out / "errors.csv", errors)
    return CohortSummary(scored=scored, skipped=skipped, failed=len(errors), patients=patients, seconds=seconds,
                         out=out)


def _reader_landmarks(files: list[InputFile], landmarks: str | Path | None) -> dict[str, Path]:
    """``{input key: labelme file}`` of the films a reader placed landmarks on."""
    if landmarks is None:
        return {}
    src = Path(landmarks)
    if src.is_file():
        if len(files) != 1:
            raise InputError(f"{src}: one landmark file goes with one film; for {len(files)} films give a folder "
                             "of labelme files named like the films")
        return {files[0].key: src}
    if not src.is_dir():
        raise NotAFileError(f"{src}: no such landmark file or folder")
    found = {}
    for f in files:
        for name in (f"{f.key}.json", f"{f.path.stem}.json"):
            if (src / name).is_file():
                found[f.key] = src / name
                break
    if not found:
        raise InputError(f"{src}: no labelme file named like any of the {len(files)} films (<name>.json)")
    return found


def _json_path(out: Path, f: InputFile) -> Path:
    return out / "radiographs" / f"{f.key}.json"


def _run_key(scorer, model: str, formats: Sequence[str], explain: bool, tta: bool) -> str:
    """What a result depends on besides its film: sharpscore's version, the scorer and localiser
    (their weights' sha256 when shipped), the outputs asked for. A result written under another key
    is redone on resume (another --model, --format png added, ...)."""
    import hashlib

    from .. import __version__
    from ..models import available

    name = str(scorer.model_info) if scorer is not None and hasattr(scorer, "model_info") else str(model)
    shas = sorted(m.sha256 for m in available())
    text = json.dumps([__version__, name, shas, sorted(formats), bool(explain), bool(tta)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _done(out: Path, f: InputFile, landmarks: Path | None = None, run_key: str | None = None) -> bool:
    """Whether ``f`` has a result in ``out`` that is still current: written under the same run key
    (version, models, outputs), and not older than a reader's landmark file for it."""
    p = _json_path(out, f)
    if not p.exists():
        return False
    try:
        doc = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    if landmarks is not None and landmarks.stat().st_mtime > p.stat().st_mtime:
        return False
    if run_key is not None and doc.get("run_key") != run_key:
        return False
    return doc.get("file") == str(f.path)


def _write_outputs(out: Path, f: InputFile, rg, res, formats: Sequence[str], explain: bool,
                   pseudonym=None, run_key: str | None = None, several: frozenset = frozenset()) -> None:
    pid, named_region = _patient_of(f, rg, pseudonym, several)
    if named_region and named_region != res.region:
        from ..flags import FlagKind, ReviewFlag

        res.add_flag(ReviewFlag(FlagKind.REGION_CONFLICTS_WITH_FILE_NAME, None, named_region))
    doc = res.to_dict()
    from .. import __version__

    doc.update(file=str(f.path), key=f.key, patient_id=pid, row_region=named_region or res.region, run_key=run_key,
               sharpscore_version=__version__,
               distributions={k: [round(float(v), 8) for v in d] for k, d in res.distributions.items()})
    if "png" in formats or "html" in formats:
        res.save_overlay(out / "overlays" / f"{f.key}.png")
    if explain:
        res.save_explanations(out / "explain" / f"{f.key}.png")
    if "sr" in formats:
        from .dicom_sr import write_dicom_outputs

        write_dicom_outputs(res, f.path, out / "dicom", f.key)
    # The JSON goes last: its presence marks the file as done for a resumed run.
    atomic_write_text(_json_path(out, f), json.dumps(doc, indent=1) + "\n")


def _collect_patients(out: Path, files: list[InputFile], errors: list) -> dict[str, dict[str, tuple]]:
    """``{patient: {region: (RegionScores, radiograph JSON, overlay path)}}`` from every radiograph
    JSON of these inputs (this run's and earlier runs'); conflicting and duplicate regions are left
    out and recorded in ``errors``."""
    import numpy as np

    from ..scoring.predict import JointScore, RegionScores

    by_patient: dict[str, dict[str, tuple]] = {}
    for i, f in enumerate(files):
        p = _json_path(out, f)
        if not _done(out, f):
            continue
        doc = json.loads(p.read_text())
        region = doc["row_region"]
        if schema.region_kind(region) != schema.region_kind(doc["region"]):
            errors.append((i, str(f.path), "RegionConflict", f"named {region} but the image shows a "
                                                          f"{schema.region_kind(doc['region'])} ({doc['region']}); "
                                                          "left out of scores.csv"))
            continue
        joints = [JointScore(**{k: v for k, v in j.items()}) for j in doc["joints"]]
        rs = RegionScores(region=region, joints=joints,
                          distributions={k: np.asarray(v) for k, v in doc["distributions"].items()})
        regions = by_patient.setdefault(doc["patient_id"], {})
        if region in regions:
            errors.append((i, str(f.path), "DuplicateRegion", f"patient {doc['patient_id']} already has a {region} "
                                                           "radiograph; this one is left out of scores.csv"))
            continue
        regions[region] = (rs, doc, out / "overlays" / f"{f.key}.png")
    return by_patient


def _patient_rows(by_patient: dict[str, dict[str, tuple]], scorer) -> list[dict]:
    """One scores.csv row per patient: RA2-DREAM columns, interval bounds, review columns."""
    from ..scoring.patient import patient_distributions, ra2_row

    rows = []
    for pid, regions in sorted(by_patient.items()):
        regs = [regions[r][0] for r in schema.REGIONS if r in regions]
        dists = patient_distributions(regs)
        intervals = {m: scorer.joint_model.interval(d, "patient" if m == "total" else None) for m, d in dists.items()}
        row = ra2_row(pid, regs, intervals)
        docs = [regions[r][1] for r in regions]
        row.update(regions_scored=";".join(r for r in schema.REGIONS if r in regions),
                   needs_review=int(any(bool(d.get("needs_review")) for d in docs)),
                   n_flags=sum(len(d.get("flags", [])) for d in docs))
        rows.append(row)
    return rows


def _write_reports(out: Path, by_patient: dict[str, dict[str, tuple]], rows: list[dict]) -> None:
    """``reports/<patient>.html`` for every patient (:mod:`.patient_report`)."""
    from .patient_report import patient_report_html

    (out / "reports").mkdir(parents=True, exist_ok=True)
    for row in rows:
        pid = str(row[schema.RA2_ID_COLUMN])
        regions = by_patient[pid]
        text = patient_report_html(pid, {r: v[1] for r, v in regions.items()}, row,
                                   {r: v[2] for r, v in regions.items()})
        atomic_write_text(out / "reports" / f"{_safe_name(pid)}.html", text)


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text) or "patient"


def _write_errors(path: Path, errors: list[tuple[int, str, str, str]]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["file", "error", "message"])
            w.writerows([[schema.csv_text(str(c)) for c in row[1:]] for row in errors])

    atomic_write(path, write)
