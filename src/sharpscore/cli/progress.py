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
    p.add_argument("baseline")
    p.add_argument("followup")
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


def run(args: argparse.Namespace) -> int:
    from ..api.progression import score_progression
    from ..errors import InputError

    out = Path(args.out)
    if not args.force and any((out / name).exists() for name in _REPORT_FILES):
        raise InputError(f"{out}: holds an earlier progression report; choose another --out or pass --force")
    prog = score_progression(_visit(args.baseline), _visit(args.followup), model=args.model, device=args.device)
    prog.save_report(out)
    lo, hi = prog.interval
    verdict = "progressed" if prog.progressed else "no change beyond the SDC"
    print(f"SvdH change {prog.total_change:+.2f} (95% {lo:+.2f} to {hi:+.2f}; SDC {prog.sdc:.2f}; "
          f"P(progression) {prog.p_progression:.2f}): {verdict}")
    if prog.flags:
        print("flags: " + ", ".join(prog.flags))
    print(f"report: {out}{' (needs review)' if prog.needs_review else ''}")
    return 0
