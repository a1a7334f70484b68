"""``sharpscore info FILE``: what :func:`sharpscore.load_radiograph` understood about a file."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show what sharpscore reads from a radiograph file",
                       description="Print format, size, spacing, body part, laterality, photometric "
                                   "interpretation and transfer syntax of a radiograph.")
    p.add_argument("file", help="DICOM, PNG, JPEG or MetaImage file")
    p.add_argument("--json", action="store_true", help="print JSON instead of aligned text")
    p.add_argument("--no-voi", action="store_true", help="do not apply the DICOM VOI LUT/window")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..io import load_radiograph

    rg = load_radiograph(args.file, apply_voi=not args.no_voi)
    summary = rg.summary()
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        width = max(len(k) for k in summary)
        for key, value in summary.items():
            shown = "unknown" if value is None else (" x ".join(map(str, value)) if isinstance(value, list) else value)
            print(f"{key:<{width}}  {shown}")
    return 0
