"""``sharpscore progress BASELINE FOLLOWUP --out DIR``: change between two visits."""

from __future__ import annotations

import argparse
from pathlib import Path

_REPORT_FILES = ("progression.json", "joint_changes.csv", "change_map.png")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("progress", help="SvdH change between a baseline and a follow-up visit",
                       description="Score two visits of one patient as a pair: the change of the SvdH total "
                                   "with its interval and smallest detectable change, per-joint grade and "
                                   "joint-space-width changes, review images. BASELINE and FOLLOWUP are films "
                                   "or folders of one visit's films (RA2-DREAM names {id}-LH.jpg give the "
                                   "region; otherwise the localiser tells it).")
    p.add_argument("baseline", help="baseline film or folder; alone: a folder of one patient's DICOM films of "
                                     "two or more visits, grouped and ordered by StudyDate")
    p.add_argument("followup", nargs="?", help="follow-up film or folder")
    p.add_argument("--out", required=True, help="folder for progression.json, joint_changes.csv and images")
    p.add_argument("--model", default="default", help="shipped scorer name or a best.pt path")
    p.add_argument("--device", default=None)
    p.add_argument("--force", action="store_true", help="replace an earlier report in --out")
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


def _visits_by_date(folder: str):
    """(first visit, last visit) of one patient's DICOM films in ``folder``, grouped by StudyDate."""
    import pydicom

    from ..api.batch import find_inputs
    from ..errors import InputError, VisitMismatchError

    path = Path(folder)
    if not path.is_dir():
        raise InputError(f"{path}: give a follow-up, or a folder of one patient's DICOM films of several visits")
    by_date: dict[str, list[Path]] = {}
    patients = set()
    for f in find_inputs([path]):
        try:
            ds = pydicom.dcmread(f.path, stop_before_pixels=True, specific_tags=["PatientID", "StudyDate"])
        except Exception:  # noqa: BLE001 - not DICOM: it cannot be dated
            raise InputError(f"{f.path}: not a DICOM file; visits are told apart by StudyDate") from None
        date = str(ds.get("StudyDate", "") or "").strip()
        if not date:
            raise InputError(f"{f.path}: no StudyDate; give the baseline and follow-up separately")
        patients.add(str(ds.get("PatientID", "") or "").strip())
        by_date.setdefault(date, []).append(f.path)
    if len(patients) > 1:
        raise VisitMismatchError(f"{path}: films of {len(patients)} patients; give one patient's films")
    if len(by_date) < 2:
        raise InputError(f"{path}: films of one StudyDate only; progression needs two visits")
    dates = sorted(by_date)
    return by_date[dates[0]], by_date[dates[-1]], (dates[0], dates[-1])


def run(args: argparse.Namespace) -> int:
    from ..api.progression import score_progression
    from ..errors import InputError

    out = Path(args.out)
    if not args.force and any((out / name).exists() for name in _REPORT_FILES):
        raise InputError(f"{out}: holds an earlier progression report; choose another --out or pass --force")
    if args.followup is None:
        base, follow, (d0, d1) = _visits_by_date(args.baseline)
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
