"""``sharpscore locate FILE``: where the joints are."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("locate", help="find the joints of a hand or foot radiograph",
                       description="Localise every SvdH joint; prints region, spacing, flags and landmarks.")
    p.add_argument("file")
    p.add_argument("--model", default="default", help="shipped localiser name or a best.pt path")
    p.add_argument("--device", default=None)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--overlay", metavar="PNG", help="also write an overlay image")
    p.add_argument("--labelme", metavar="JSON", help="also write the landmarks as a labelme file (open it beside the "
                                                     "film in labelme, move joints, then `sharpscore score FILM "
                                                     "--landmarks JSON`); an existing file is never replaced")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..api import locate_joints
    from ..spatial import as_spacing

    if args.labelme and Path(args.labelme).exists():
        raise InputError(f"{args.labelme}: exists; sharpscore never replaces a landmark file (a reader may have "
                         "edited it): choose another name")
    loc = locate_joints(args.file, model=args.model, device=args.device)
    if args.labelme:
        from ..io.labelme import write_labelme

        h, w = loc.radiograph.shape
        write_labelme(args.labelme, {k: v[:2] for k, v in loc.landmarks.items()}, image_path=Path(args.file).name,
                      image_height=h, image_width=w, spacing_mm=loc.spacing_mm, region=loc.region)
    if args.overlay:
        loc.save_overlay(args.overlay)
    if args.json:
        print(json.dumps(loc.to_dict(), indent=2))
        return 0
    sp = f"{as_spacing(loc.spacing_mm).row:.4f} mm/px ({loc.spacing_source})" if loc.spacing_mm else "unknown"
    ev = ", ".join(f"{k} {v:.2f}" for k, v in loc.evidence.items())
    print(f"region {loc.region} (joint evidence: {ev}), spacing {sp}")
    m = loc.side_marker
    if m is not None:
        print(f"side marker: '{m.side}'{' read mirrored (the film is displayed mirrored)' if m.mirrored else ''}"
              f" (match {m.match:.2f})")
    print("flags: " + (", ".join(loc.flags) if loc.flags else "none"))
    for name, (x, y, c) in loc.landmarks.items():
        print(f"  {name:8s} x {x:8.1f}  y {y:8.1f}  confidence {c:.2f}")
    return 0
