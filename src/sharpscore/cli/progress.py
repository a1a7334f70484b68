"""``sharpscore progress BASELINE FOLLOWUP --out DIR``: change between two visits."""

from __future__ import annotations

import argparse
from pathlib import Path

_REPORT_FILES = ("progression.json", "joint_changes.csv", "change_map.png", "progression.csv")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("progress", help="SvdH change between a baseline and a follow-up visit",
                       description="Score two visits of one patient as a pair: the change of the SvdH total "
                                   "with its interval and smallest detectable change, per-joint grade and "
                                   "joint-space-width changes, review images. BASELINE and FOLLOWUP are films "
                                   "or folders of one visit's films (RA2-DREAM names {id}-LH.jpg give the "
                                   "region; otherwise the localiser tells it).")
    p.add_argument("baseline", help="baseline film or folder; alone: a folder of DICOM films of two or more "
                                     "visits, grouped by PatientID and ordered by StudyDate (several patients: "
                                     "one report per patient and progression.csv)")
    p.add_argument("followup", nargs="?", help="follow-up film or folder")
    p.add_argument("--out", required=True, help="folder for progression.json, joint_changes.csv and images")
    p.add_argument("--model", default="default", help="shipped scorer name or a best.pt path")
    p.add_argument("--device", default=None)
    p.add_argument("--force", action="store_true", help="replace an earlier report in --out")
    p.add_argument("--keep-identifiers", action="store_true",
                   help="cohort mode: name patients by PatientID (default: a salted pseudonym, anon-...)")
    p.add_argument("--salt", default=None, help="cohort mode: salt of the pseudonyms (see `sharpscore score`)")
    p.set_defaults(func=run)


def _visit(arg: str):
    from ..api.batch import _RA2_NAME, find_inputs
    from ..errors import InputError

    path = Path(arg)
    if not path.is_dir():
        return arg
    files = find_inputs([path])
    if not files:
        raise InputError(f"{path}: no films in this folder")
    named = {m["region"]: f.path for f in files if (m := _RA2_NAME.match(f.path.stem))}
    return named if len(named) == len(files) else [f.path for f in files]


def _visits_by_patient(folder: str) -> dict[str, dict[str, list[Path]]]:
    """``{PatientID: {StudyDate: [films]}}`` of the DICOM films under ``folder`` (headers only)."""
    import pydicom

    from ..api.batch import find_inputs
    from ..errors import InputError

    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"{path}: give a follow-up, or a folder of DICOM films of several visits")
    out: dict[str, dict[str, list[Path]]] = {}
    for f in find_inputs([path]):
        try:
            ds = pydicom.dcmread(f.path, stop_before_pixels=True, specific_tags=["PatientID", "StudyDate"])
        except Exception:  # noqa: BLE001 - not DICOM: it cannot be dated
            raise InputError(f"{f.path}: not a DICOM file; visits are told apart by StudyDate") from None
        date = str(ds.get("StudyDate", "") or "").strip()
        if not date:
            raise InputError(f"{f.path}: no StudyDate; give the baseline and follow-up separately")
        pid = str(ds.get("PatientID", "") or "").strip()
        out.setdefault(pid, {}).setdefault(date, []).append(f.path)
    return out


def _cohort(args, by_patient: dict) -> int:
    """Every patient's first against last visit; one report folder per patient under a salted
    pseudonym, and ``progression.csv`` for the cohort. A patient that cannot be compared is listed
    with the reason and the run goes on."""
    import csv
    import io

    from .._fsutil import atomic_write_text
    from ..api.batch import pseudonymiser
    from ..api.progression import score_progression
    from ..api.scorer import Scorer
    from ..errors import SharpScoreError

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pseudonym = pseudonymiser(out, args.salt) if not args.keep_identifiers else (lambda x: x)
    scorer = Scorer(args.model, device=args.device)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["patient", "baseline_date", "followup_date", "total_change", "lo", "hi", "sdc", "p_progression",
                "progressed", "needs_review", "error"])
    done = failed = 0
    for pid, visits in sorted(by_patient.items()):
        key = pseudonym(pid) if pid else "no-patient-id"
        dates = sorted(visits)
        if len(dates) < 2:
            w.writerow([key, dates[0], "", "", "", "", "", "", "", "", "one visit only"])
            continue
        try:
            prog = score_progression(visits[dates[0]], visits[dates[-1]], scorer=scorer)
        except SharpScoreError as exc:
            w.writerow([key, dates[0], dates[-1], "", "", "", "", "", "", "", f"{type(exc).__name__}: {exc}"])
            failed += 1
            continue
        prog.save_report(out / key)
        lo, hi = prog.interval
        w.writerow([key, dates[0], dates[-1], round(prog.total_change, 3), round(lo, 3), round(hi, 3),
                    round(prog.sdc, 3), round(prog.p_progression, 4), int(prog.progressed), int(prog.needs_review), ""])
        done += 1
    atomic_write_text(out / "progression.csv", buf.getvalue())
    print(f"{done} patients compared (first against last visit), {failed} could not be; see {out}/progression.csv")
    return 0 if done or not failed else 2


def run(args: argparse.Namespace) -> int:
    from ..api.progression import score_progression
    from ..errors import InputError

    out = Path(args.out)
    if not args.force and any((out / name).exists() for name in _REPORT_FILES):
        raise InputError(f"{out}: holds an earlier progression report; choose another --out or pass --force")
    if args.followup is None:
        from ..errors import InputError as _InputError

        by_patient = _visits_by_patient(args.baseline)
        if len(by_patient) > 1:
            return _cohort(args, by_patient)
        (visits,) = by_patient.values()
        if len(visits) < 2:
            raise _InputError(f"{args.baseline}: films of one StudyDate only; progression needs two visits")
        d0, d1 = sorted(visits)[0], sorted(visits)[-1]
        base, follow = visits[d0], visits[d1]
        print(f"baseline {d0} ({len(base)} films), follow-up {d1} ({len(follow)} films)")
    else:
        base, follow = _visit(args.baseline), _visit(args.followup)
    prog = score_progression(base, follow, model=args.model, device=args.device)
    prog.save_report(out)
    lo, hi = prog.interval
    verdict = "progressed" if prog.progressed else "no change beyond the SDC"
    print(f"SvdH change {prog.total_change:+.2f} (95% {lo:+.2f} to {hi:+.2f}; SDC {prog.sdc:.2f}; "
          f"P(progression) {prog.p_progression:.2f}): {verdict}")
    if prog.flags:
        print("flags: " + ", ".join(prog.flags))
    print(f"report: {out}{' (needs review)' if prog.needs_review else ''}")
    return 0
