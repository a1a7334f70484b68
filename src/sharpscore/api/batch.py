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

from .. import schema
from .._fsutil import atomic_write, atomic_write_text, remove_stale_temporaries
from ..errors import InputError, NotAFileError, SharpScoreError

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
        path = out / ".pseudonym-salt"
        if path.exists():
            salt = path.read_text().strip()
        else:
            salt = secrets.token_hex(16)
            atomic_write_text(path, salt + "\n")
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
    from collections import deque

    from .._fsutil import die_with_parent

    with ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent) as pool:
        queue: deque = deque()
        it = iter(files)
        for f in it:
            queue.append((f, pool.submit(_decode, str(f.path))))
            if len(queue) >= ahead * workers:
                break
        while queue:
            f, fut = queue.popleft()
            nxt = next(it, None)
            if nxt is not None:
                queue.append((nxt, pool.submit(_decode, str(nxt.path))))
            yield f, fut.result()


def score_cohort(paths: Sequence[str | Path], out: str | Path, *, scorer=None, formats: Sequence[str] = ("json", "csv"),
                 explain: bool = False, workers: int = 1, batch_size: int = 8, progress: bool = True,
                 model: str = "default", device: str | None = None, tta: bool = False,
                 landmarks: str | Path | None = None, keep_identifiers: bool = False,
                 salt: str | None = None, threads: int | str | None = None) -> CohortSummary:
    """Score every radiograph under ``paths`` into ``out`` (see the module docstring).

    ``landmarks``: a reader's corrections -- a labelme JSON file (one input film), or a folder of them
    named like the films (``<name>.json``, as ``sharpscore locate --labelme`` writes them); a film
    with one is scored at the reader's landmarks, and rescored when its file is newer than its result.
    DICOM patients appear under a salted pseudonym (:func:`pseudonymiser`) unless ``keep_identifiers``.
    ``threads``: torch threads, held for the whole run so that outputs are byte-identical run to run
    (default: the machine's cores); ``'auto'`` gives each film the cores other processes leave free
    (faster on a busy machine, last digits may differ between runs)."""
    from .._threads import held_threads

    if threads == "auto":
        return _score_cohort(paths, out, scorer=scorer, formats=formats, explain=explain, workers=workers,
                             batch_size=batch_size, progress=progress, model=model, device=device, tta=tta,
                             landmarks=landmarks, keep_identifiers=keep_identifiers, salt=salt)
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise InputError(f"threads must be a positive number or 'auto', not {threads!r}")
    with held_threads(threads):
        return _score_cohort(paths, out, scorer=scorer, formats=formats, explain=explain, workers=workers,
                             batch_size=batch_size, progress=progress, model=model, device=device, tta=tta,
                             landmarks=landmarks, keep_identifiers=keep_identifiers, salt=salt)


def _score_cohort(paths: Sequence[str | Path], out: str | Path, *, scorer=None, formats: Sequence[str] = ("json", "csv"),
                  explain: bool = False, workers: int = 1, batch_size: int = 8, progress: bool = True,
                  model: str = "default", device: str | None = None, tta: bool = False,
                  landmarks: str | Path | None = None, keep_identifiers: bool = False,
                  salt: str | None = None) -> CohortSummary:
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
    todo = [f for f in files if not _done(out, f, reader.get(f.key), run_key)]
    skipped = len(files) - len(todo)
    if skipped:
        log.info("%d of %d files already scored in %s; resuming", skipped, len(files), out)
    errors: list[tuple[str, str, str]] = []
    t0 = time.perf_counter()
    bar = tqdm(total=len(todo), unit="file", desc="scoring", disable=not progress, mininterval=1)
    pending: list[tuple[InputFile, object]] = []
    scored = [0]

    def flush() -> None:
        if not pending:
            return
        plain = [(f, rg) for f, rg in pending if f.key not in reader]
        results = dict(zip([f.key for f, _ in plain],
                           scorer.score_many([rg for _, rg in plain], batch_size=batch_size, explain=explain,
                                             errors="keep")))
        for f, rg in pending:
            if f.key in reader:
                try:
                    results[f.key] = scorer.score(rg, landmarks=reader[f.key], explain=explain)
                except SharpScoreError as exc:
                    results[f.key] = exc
        results = [results[f.key] for f, _ in pending]
        for (f, rg), res in zip(pending, results):
            if isinstance(res, SharpScoreError):
                errors.append((str(f.path), type(res).__name__, str(res)))
            else:
                try:
                    _write_outputs(out, f, rg, res, formats, explain, pseudonym, run_key, several)
                    scored[0] += 1
                except SharpScoreError as exc:
                    errors.append((str(f.path), type(exc).__name__, str(exc)))
            bar.update()
        pending.clear()

    try:
        for f, rg in _decoded(todo, workers):
            if isinstance(rg, SharpScoreError):
                errors.append((str(f.path), type(rg).__name__, str(rg)))
                bar.update()
                continue
            pending.append((f, rg))
            if len(pending) >= batch_size:
                flush()
        flush()
    finally:
        bar.close()
        _write_errors(out / "errors.csv", errors)
    seconds = time.perf_counter() - t0
    patients = 0
    if "csv" in formats or "html" in formats:
        collected = _collect_patients(out, files, errors)
        rows = _patient_rows(collected, scorer)
        if "csv" in formats:
            schema.write_ra2_csv(out / "scores.csv", rows, extra_columns=schema.PREDICTION_EXTRA_COLUMNS)
        if "html" in formats:
            _write_reports(out, collected, rows)
        patients = len(rows)
    _write_errors(out / "errors.csv", errors)
    return CohortSummary(scored=scored[0], skipped=skipped,
                         failed=len(errors), patients=patients, seconds=seconds, out=out)


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
    for f in files:
        p = _json_path(out, f)
        if not _done(out, f):
            continue
        doc = json.loads(p.read_text())
        region = doc["row_region"]
        if schema.region_kind(region) != schema.region_kind(doc["region"]):
            errors.append((str(f.path), "RegionConflict", f"named {region} but the image shows a "
                                                          f"{schema.region_kind(doc['region'])} ({doc['region']}); "
                                                          "left out of scores.csv"))
            continue
        joints = [JointScore(**{k: v for k, v in j.items()}) for j in doc["joints"]]
        rs = RegionScores(region=region, joints=joints,
                          distributions={k: np.asarray(v) for k, v in doc["distributions"].items()})
        regions = by_patient.setdefault(doc["patient_id"], {})
        if region in regions:
            errors.append((str(f.path), "DuplicateRegion", f"patient {doc['patient_id']} already has a {region} "
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


def _write_errors(path: Path, errors: list[tuple[str, str, str]]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["file", "error", "message"])
            w.writerows([[schema.csv_text(str(c)) for c in row] for row in errors])

    atomic_write(path, write)
