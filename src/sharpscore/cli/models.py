"""``sharpscore models``: the model bundles that ship with this installation."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the shipped model bundles")
    p.add_argument("--verify", action="store_true", help="also check every file's sha256")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..models import available, calibration_path, verify

    models = available()
    if not models:
        print("no model bundles ship with this installation")
        return 0
    for m in models:
        status = ""
        if args.verify:
            verify(m.weights, m.sha256)
            if m.calibration_sha256:
                verify(calibration_path(m.weights), m.calibration_sha256)
            status = "  [sha256 ok]"
        if m.calibration_sha256:
            status += "  calibrated"
        size = m.weights.stat().st_size / 1e6 if m.weights.exists() else 0.0
        print(f"{m.task}/{m.name}  {size:.1f} MB{status}\n  {m.summary}\n  card: {m.card}")
    return 0
