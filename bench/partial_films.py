"""Partial films: `python bench/partial_films.py [--model NAME_OR_PATH] [--label L] [--films N]`.

Real films are often cut short (collimated to a few digits, cropped by the detector or by whoever
exported them). This bench cuts the 21 held-out Digital Hand Atlas hands (never trained on) four ways,
each as a crop of the film and as a tilted collimation (flat black beyond a straight edge):
- `ulnar`: digits 3-5 only (the thumb side cut off between digits 2 and 3),
- `radial`: digits 1-3 only (cut between digits 3 and 4),
- `distal`: fingers and metacarpal heads (the wrist cut off at mid-metacarpal),
- `proximal`: wrist and metacarpals (the fingers cut off between the MCP and PIP rows),
and reports, against the atlas's landmarks:
- films accepted and read as the right region (a partial hand is still a hand), and those read as
  another region with no localiser flag for a reader to look (silently wrong);
- sites truly out of view (more than 2 mm beyond the edge): share reported `not_in_view`, share given a
  landmark anyway (a guess);
- sites truly in view (more than 4 mm inside): share within 2 and 4 mm, share wrongly `not_in_view`;
- the same films whole, as a control; the two partial adult DX films of `../shared/data/dicom-dx/`
  (region, sites in and out of view, overlays in docs/img/); every non-hand shared DICOM refused.

Writes bench/results/partial-films[-LABEL].json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402
from localizer import DHA_SPACING, DHA_VALID, dha_truth  # noqa: E402

import sharpscore  # noqa: E402
from sharpscore.errors import SharpScoreError  # noqa: E402
from sharpscore.models import load_localizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT_MM, IN_MM = 2.0, 4.0
TILT_DEG = 8.0
DIGITS = {1: ("ip", "mcp1", "mc1"), 2: ("pip2", "mcp2", "dip2"), 3: ("pip3", "mcp3", "dip3"),
          4: ("pip4", "mcp4", "dip4"), 5: ("pip5", "mcp5", "dip5")}


def _centroid(pts: dict, names) -> np.ndarray:
    return np.mean([pts[n] for n in names if n in pts], axis=0)


def cut_line(pts: dict, how: str) -> tuple[np.ndarray, float]:
    """``(normal, offset)``: the kept half-plane is ``normal . p <= offset`` (film pixels)."""
    if how in ("ulnar", "radial"):
        a, b = ((2, 3) if how == "ulnar" else (4, 3))
        pa, pb = _centroid(pts, DIGITS[a]), _centroid(pts, DIGITS[b])
        n = (pa - pb) / np.linalg.norm(pa - pb)  # towards the digit cut off
        return n, float(n @ (pa + pb) / 2)
    mcp = _centroid(pts, ("mcp2", "mcp3", "mcp4", "mcp5"))
    if how == "distal":
        cmc = _centroid(pts, ("cmc3", "cmc4", "cmc5"))
        n = (cmc - mcp) / np.linalg.norm(cmc - mcp)  # towards the wrist
        return n, float(n @ (mcp + cmc) / 2)
    pip = _centroid(pts, ("pip2", "pip3", "pip4", "pip5"))
    n = (pip - mcp) / np.linalg.norm(pip - mcp)  # towards the fingertips
    return n, float(n @ (0.6 * mcp + 0.4 * pip))


def _rotate(n: np.ndarray, deg: float) -> np.ndarray:
    t = np.deg2rad(deg)
    return np.array([np.cos(t) * n[0] - np.sin(t) * n[1], np.sin(t) * n[0] + np.cos(t) * n[1]])


def make_view(pixels: np.ndarray, pts: dict, how: str, style: str):
    """The cut film, the truth landmarks in its pixels, and each one's signed depth (mm) in the view."""
    n, off = cut_line(pts, how)
    h, w = pixels.shape
    if style == "crop":  # an axis-aligned cut through the same point: the film ends there
        axis = int(np.argmax(np.abs(n)))
        mid = np.mean(list(pts.values()), axis=0)
        c = float(mid[axis] + (off - n @ mid) / n[axis])
        c = int(round(min(max(c, 16), (w if axis == 0 else h) - 16)))
        keep_low = n[axis] > 0
        x0, y0, x1, y1 = 0, 0, w, h
        if axis == 0:
            x0, x1 = (0, c) if keep_low else (c, w)
        else:
            y0, y1 = (0, c) if keep_low else (c, h)
        out = pixels[y0:y1, x0:x1].copy()
        local = {k: (v[0] - x0, v[1] - y0) for k, v in pts.items()}
        hh, ww = out.shape
        depth = {k: min(x + 0.5, y + 0.5, ww - 0.5 - x, hh - 0.5 - y) for k, (x, y) in local.items()}
        return out, local, {k: d * DHA_SPACING for k, d in depth.items()}
    n2 = _rotate(n, TILT_DEG)
    mid = np.mean(list(pts.values()), axis=0)
    off2 = float(off + (n2 - n) @ mid)  # tilted about the point of the cut line nearest the hand's centre
    yy, xx = np.mgrid[0:h, 0:w]
    out = pixels.copy()
    out[n2[0] * xx + n2[1] * yy > off2] = 0.0
    depth = {k: (off2 - n2 @ np.asarray(v)) for k, v in pts.items()}
    depth = {k: min(d, v[0] + 0.5, v[1] + 0.5, w - 0.5 - v[0], h - 0.5 - v[1]) for (k, d), v in
             zip(depth.items(), pts.values())}
    return out, dict(pts), {k: d * DHA_SPACING for k, d in depth.items()}


def score_view(loc, pixels, pts, depth) -> dict:
    rg = sharpscore.load_radiograph(pixels, spacing_mm=DHA_SPACING)
    try:
        pred = loc.predict(rg)
    except SharpScoreError as exc:
        return {"accepted": False, "error": type(exc).__name__}
    from sharpscore.flags import needs_review

    # a localiser-level reason for a reader to look (the scorer adds model-wide provenance flags)
    rec = {"accepted": True, "region": pred.region, "flagged": bool(needs_review(pred.flags)), "out": 0, "out_reported": 0, "out_guessed": 0,
           "in": 0, "in_2mm": 0, "in_4mm": 0, "in_not_in_view": 0, "in_missing": 0}
    for k, (x, y) in pts.items():
        d = depth[k]
        if d < -OUT_MM:
            rec["out"] += 1
            rec["out_reported"] += int(k in pred.not_in_view)
            rec["out_guessed"] += int(k in pred.landmarks)
        elif d > IN_MM:
            rec["in"] += 1
            if k in pred.landmarks:
                e = float(np.hypot(pred.landmarks[k][0] - x, pred.landmarks[k][1] - y)) * DHA_SPACING
                rec["in_2mm"] += int(e <= 2)
                rec["in_4mm"] += int(e <= 4)
            elif k in pred.not_in_view:
                rec["in_not_in_view"] += 1
            else:
                rec["in_missing"] += 1
    return rec


def summarise(recs: list[dict]) -> dict:
    acc = [r for r in recs if r["accepted"]]
    tot = {k: sum(r[k] for r in acc) for k in ("out", "out_reported", "out_guessed", "in", "in_2mm", "in_4mm",
                                                 "in_not_in_view", "in_missing")}
    frac = lambda a, b: round(tot[a] / tot[b], 4) if tot[b] else None  # noqa: E731
    return {"films": len(recs), "accepted": len(acc), "region_LH": sum(r.get("region") == "LH" for r in acc),
            "flagged_for_review": sum(r["flagged"] for r in acc),
            "wrong_region_unflagged": sum(r["region"] != "LH" and not r["flagged"] for r in acc),
            "sites_out_of_view": tot["out"], "out_reported_not_in_view": frac("out_reported", "out"),
            "out_guessed": frac("out_guessed", "out"), "sites_in_view": tot["in"],
            "in_within_2mm": frac("in_2mm", "in"), "in_within_4mm": frac("in_4mm", "in"),
            "in_wrongly_not_in_view": frac("in_not_in_view", "in")}


def dx_films(loc, shared: Path, overlay_dir: Path | None, label: str) -> dict:
    out = {}
    for path in sorted((shared / "dicom-dx").glob("*.dcm")):
        rg = sharpscore.load_radiograph(path)
        try:
            pred = loc.predict(rg)
        except SharpScoreError as exc:
            out[path.name] = {"result": f"refused: {type(exc).__name__}: {str(exc)[:160]}"}
            continue
        out[path.name] = {"result": f"located {pred.region}", "tag_laterality": rg.laterality,
                          "in_view": sorted(pred.landmarks), "not_in_view": sorted(pred.not_in_view),
                          "confident_in_view": sorted(k for k, v in pred.landmarks.items() if v[2] >= 0.3),
                          "flags": [f for f in pred.flags if not f.startswith("not_in_view")]}
        if overlay_dir is not None:
            png = overlay_dir / f"partial-{label}_{path.stem}.png"
            pred.save_overlay(png)
            out[path.name]["overlay"] = str(png.relative_to(ROOT))
    return out


def non_hands(loc, shared: Path) -> dict:
    out = {}
    for path in sorted((shared / "dicom").glob("*.dcm")):
        if path.name.startswith("NM_Kakadu"):
            continue
        try:
            pred = loc.predict(sharpscore.load_radiograph(path))
            out[path.name] = f"located {pred.region}"
        except SharpScoreError as exc:
            out[path.name] = f"refused: {type(exc).__name__}"
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="default")
    p.add_argument("--label", default=None)
    p.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--films", type=int, default=len(DHA_VALID))
    p.add_argument("--no-overlay", action="store_true")
    args = p.parse_args()
    import torch

    torch.set_num_threads(2)
    shared = Path(args.shared)
    if not shared.exists():
        sys.exit(f"{shared} not found: this bench needs the shared real films")
    loc = load_localizer(args.model)
    t0 = time.perf_counter()
    table = dha_truth(shared)
    recs: dict[str, list[dict]] = {}
    for image_id in sorted(table)[: args.films]:
        pts = table[image_id]
        rg = sharpscore.load_radiograph(shared / "dha-hands" / "images" / f"{image_id}.jpg", spacing_mm=DHA_SPACING)
        pixels = np.asarray(rg.pixels, np.float32)
        h, w = pixels.shape
        whole = {k: min(x + 0.5, y + 0.5, w - 0.5 - x, h - 0.5 - y) * DHA_SPACING for k, (x, y) in pts.items()}
        recs.setdefault("whole", []).append(score_view(loc, pixels, pts, whole))
        for how in ("ulnar", "radial", "distal", "proximal"):
            for style in ("crop", "collimated"):
                img, local, depth = make_view(pixels, pts, how, style)
                recs.setdefault(f"{how}/{style}", []).append(score_view(loc, img, local, depth))
        print(image_id, {k: (v[-1].get("region"), v[-1].get("out_reported"), v[-1].get("out")) for k, v in recs.items()},
              flush=True)
    label = args.label or ("default" if args.model == "default" else Path(args.model).parent.name)
    partial = [r for k, v in recs.items() if k != "whole" for r in v]
    result = {"model": args.model, "machine": machine(), "command": "python bench/partial_films.py " + " ".join(sys.argv[1:]),
              "held_out_films": sorted(table)[: args.films], "whole": summarise(recs["whole"]),
              "partial_all": summarise(partial), "by_view": {k: summarise(v) for k, v in recs.items() if k != "whole"},
              "dx_films": dx_films(loc, shared, None if args.no_overlay else ROOT / "docs" / "img", label),
              "non_hand_shared_dicoms": non_hands(loc, shared), "seconds": round(time.perf_counter() - t0, 1)}
    out = ROOT / "bench" / "results" / f"partial-films-{label}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("whole", "partial_all", "by_view", "dx_films", "non_hand_shared_dicoms")}, indent=1))


if __name__ == "__main__":
    main()
