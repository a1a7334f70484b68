"""Localiser figures: `python bench/localizer.py [--model PATH_OR_NAME] [--shared ../shared/data]`.

- real held-out Digital Hand Atlas hands (the 21 `dataset/valid` images): error in mm, % within 2/4/10 mm;
  and the eight carpal/forearm sites against their definitions from the atlas's carpal points
  (`dha_wrist`; `--no-real-wrist` gives the fine network's own finds, before the real-wrist pass);
- an unseen phantom test cohort (seed 9001, hands and feet): % of all sites within 2 mm;
- the real adult hand DICOM: overlay PNG (docs/img/localizer_real_hand.png) and its finger joints;
- every other shared DICOM: refused as not a hand or foot;
- speed: model time per radiograph (after loading), median over repeats, on this machine.

Writes bench/results/localizer[-NAME].json.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import sharpscore  # noqa: E402
from sharpscore import schema  # noqa: E402
from sharpscore.errors import NotHandOrFootError, SharpScoreError  # noqa: E402
from sharpscore.models import load_localizer  # noqa: E402
from sharpscore.synth import render  # noqa: E402
from sharpscore.synth.cohort import patient_seeds  # noqa: E402
from sharpscore.synth.disease import sample_patient_grades  # noqa: E402
from sharpscore.localize.wrist_template import SITES as WRIST_SITES, dha_points, derived_sites  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DHA_VALID = ["3144", "3147", "3162", "3164", "3167", "3173", "3183", "3184", "3206", "3221", "3224", "3239", "3240",
             "3269", "3296", "3300", "3301", "3316", "3755", "3769", "3819"]
DHA_MAP = {"ip1": "ip", "cmc1": "mc1"}
DHA_SPACING = 0.108075
FINGER = ("ip", "mcp", "pip", "dip")


def _is_finger(name: str) -> bool:
    return name == "ip" or name[:3] in FINGER


def dha_truth(shared: Path) -> dict[str, dict[str, tuple[float, float]]]:
    """The held-out atlas hands' annotated landmarks in sharpscore's names: ``{image_id: {name: (x, y)}}``."""
    table: dict[str, dict[str, tuple[float, float]]] = {}
    with (shared / "dha-hands" / "landmarks.csv").open() as fh:
        for row in csv.DictReader(fh):
            name = DHA_MAP.get(row["landmark"], row["landmark"])
            if row["image_id"] in DHA_VALID and name in schema.HAND_LANDMARKS:
                table.setdefault(row["image_id"], {})[name] = (float(row["x_px"]), float(row["y_px"]))
    return table


def dha(loc, shared: Path) -> dict:
    table = dha_truth(shared)
    derived = dha_points(shared / "dha-hands" / "landmarks.csv")
    errors, finger, regions, conf = [], [], [], []
    wrist: dict[str, list[float]] = {k: [] for k in WRIST_SITES}
    from_anatomy: list[bool] = []
    not_in_view = 0
    for image_id, pts in sorted(table.items()):
        rg = sharpscore.load_radiograph(shared / "dha-hands" / "images" / f"{image_id}.jpg", spacing_mm=DHA_SPACING)
        try:
            pred = loc.predict(rg)
        except NotHandOrFootError:
            regions.append("refused")
            continue
        regions.append(pred.region)
        from_anatomy.append(any(f.kind == "wrist_from_anatomy" for f in pred.flags))
        not_in_view += len(pred.not_in_view)
        for name, (x, y) in pts.items():
            # a site reported not in view (the film ends there) counts as a miss: no position given
            p = pred.landmarks.get(name, (np.inf, np.inf, 0.0))
            e = float(np.hypot(p[0] - x, p[1] - y) * DHA_SPACING)
            errors.append(e)
            conf.append(p[2])
            if _is_finger(name):
                finger.append(e)
        truth = derived_sites(derived[image_id])
        for name in WRIST_SITES:
            p = pred.landmarks.get(name, (np.inf, np.inf, 0.0))
            wrist[name].append(float(np.linalg.norm(np.array(p[:2]) * DHA_SPACING - truth[name])))
    e, f = np.array(errors), np.array(finger)
    if not e.size:
        return {"images": len(table), "refused": regions.count("refused")}
    return {"images": len(table), "refused": regions.count("refused"), "landmarks": int(e.size), "median_mm": float(np.median(e)),
            "mean_mm": float(e.mean()), "within_2mm": float(np.mean(e <= 2)), "within_4mm": float(np.mean(e <= 4)),
            "within_10mm": float(np.mean(e <= 10)), "finger_median_mm": float(np.median(f)),
            "finger_within_4mm": float(np.mean(f <= 4)), "region_LH_fraction": regions.count("LH") / len(regions),
            "by_confidence": _by_confidence(e, np.array(conf)), "sites_not_in_view": not_in_view,
            "dha_wrist": {**_wrist_summary(wrist), "films_with_sites_from_anatomy": int(sum(from_anatomy))}}


def _wrist_summary(wrist: dict[str, list[float]]) -> dict:
    """Carpal/forearm sites against their definitions from the atlas's carpal points
    (sharpscore.localize.wrist_template.DEFINITIONS; the atlas marks no SvdH wrist site itself)."""
    every = np.concatenate([np.array(v) for v in wrist.values()])
    return {"truth": "SvdH sites derived from the atlas's carpal and forearm points (wrist_template.DEFINITIONS)",
            "median_mm": round(float(np.median(every)), 2), "within_4mm": round(float(np.mean(every <= 4)), 4),
            "within_8mm": round(float(np.mean(every <= 8)), 4),
            "per_site_median_mm": {k: round(float(np.median(v)), 2) for k, v in wrist.items()},
            "per_site_p90_mm": {k: round(float(np.percentile(v, 90)), 2) for k, v in wrist.items()}}


def _by_confidence(err: np.ndarray, conf: np.ndarray, threshold: float = 0.3) -> dict:
    """What the confidence threshold (below it: flagged low_confidence) means on held-out films."""
    out = {}
    for label, m in ((f">={threshold}", conf >= threshold), (f"<{threshold}", conf < threshold)):
        out[label] = {"landmarks": int(m.sum()),
                      "within_2mm": round(float(np.mean(err[m] <= 2)), 4) if m.any() else None,
                      "within_4mm": round(float(np.mean(err[m] <= 4)), 4) if m.any() else None}
    return out


def phantoms(loc, n_patients: int, seed: int = 9001) -> dict:
    errors: dict[str, list[float]] = {"hand": [], "foot": []}
    wrist: dict[str, list[float]] = {k: [] for k in WRIST_SITES}
    conf: list[float] = []
    ordered: list[float] = []  # every error in the order of ``conf``
    correct = 0
    total = 0
    from_anatomy = 0  # hands whose carpal sites the real-wrist template placed (not coherent)
    not_in_view = 0
    for i in range(n_patients):
        seeds = patient_seeds(seed, i)
        grades = sample_patient_grades(np.random.default_rng(seeds["disease"]))
        for region in schema.REGIONS:
            img = render(region, grades[region], seed=seeds[region], person_seed=seeds[schema.region_kind(region)])
            pred = loc.predict(img.radiograph)
            total += 1
            from_anatomy += int(any(f.kind == "wrist_from_anatomy" for f in pred.flags))
            correct += int(pred.region == region)
            sp = img.radiograph.spacing_mm[0]
            not_in_view += len(pred.not_in_view)
            for name, (x, y) in img.landmarks.items():
                p = pred.landmarks.get(name, (np.inf, np.inf, 0.0))  # not in view: a miss
                errors[schema.region_kind(region)].append(float(np.hypot(p[0] - x, p[1] - y) * sp))
                conf.append(p[2])
                ordered.append(errors[schema.region_kind(region)][-1])
                if name in wrist:
                    wrist[name].append(ordered[-1])
    every = np.array(errors["hand"] + errors["foot"])
    carpal = np.concatenate([np.array(v) for v in wrist.values()])
    return {"hands_with_sites_from_anatomy": from_anatomy, "sites_not_in_view": not_in_view,
            "carpal_sites_within_2mm": float(np.mean(carpal <= 2)), "carpal_sites_within_4mm": float(np.mean(carpal <= 4)),
            "carpal_sites_median_mm": {k: round(float(np.median(v)), 2) for k, v in wrist.items()},
"images": total, "seed": seed, "region_accuracy": correct / total, "median_mm": float(np.median(every)),
            "within_2mm": float(np.mean(every <= 2)), "within_4mm": float(np.mean(every <= 4)),
            "hand_within_2mm": float(np.mean(np.array(errors["hand"]) <= 2)),
            "foot_within_2mm": float(np.mean(np.array(errors["foot"]) <= 2)),
            "by_confidence": _by_confidence(np.array(ordered), np.array(conf))}


def shared_dicoms(loc, shared: Path, overlay: Path | None) -> dict:
    out = {}
    for path in sorted((shared / "dicom").glob("*.dcm")):
        rg = sharpscore.load_radiograph(path)
        try:
            pred = loc.predict(rg)
        except NotHandOrFootError:
            out[path.name] = {"result": "refused: not a hand or foot"}
            continue
        except SharpScoreError as exc:
            out[path.name] = {"result": f"refused: {type(exc).__name__}"}
            continue
        fingers = {k: v for k, v in pred.landmarks.items() if _is_finger(k)}
        out[path.name] = {"result": f"located {pred.region}", "flags": pred.flags,
                          "finger_joints_confident": sum(v[2] >= 0.3 for v in fingers.values()),
                          "finger_joints": len(fingers)}
        if overlay is not None and path.name.startswith("NM_Kakadu"):
            pred.save_overlay(overlay)
            out[path.name]["overlay"] = str(overlay.relative_to(ROOT))
    return out


def speed(loc, shared: Path | None, repeats: int = 7) -> dict:
    cases = {"phantom hand JPEG-size image": render("RH", None, seed=5, spacing_mm=0.1).radiograph}
    if shared is not None:
        cases["real hand DICOM 2500x2048"] = sharpscore.load_radiograph(
            shared / "dicom" / "NM_Kakadu44_SOTmarkerincons.dcm")
    out = {}
    for name, rg in cases.items():
        loc.predict(rg)  # warm-up
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            loc.predict(rg)
            times.append(time.perf_counter() - t)
        out[name] = {"median_s": round(statistics.median(times), 4), "max_s": round(max(times), 4),
                     "size": f"{rg.shape[1]}x{rg.shape[0]}"}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="default")
    p.add_argument("--label", default=None, help="name of the result file (default: from --model)")
    p.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--phantom-patients", type=int, default=25)
    p.add_argument("--no-overlay", action="store_true")
    p.add_argument("--no-real-wrist", action="store_true",
                   help="ablation: keep the fine network's own carpal/forearm finds (no real-wrist template pass)")
    args = p.parse_args()
    import torch

    torch.set_num_threads(2)
    loc = load_localizer(args.model)
    loc.real_wrist = not args.no_real_wrist
    shared = Path(args.shared) if Path(args.shared).exists() else None
    result = {"model": args.model, "machine": machine(), "command": "python bench/localizer.py " + " ".join(sys.argv[1:])}
    if shared is not None:
        result["dha_heldout"] = dha(loc, shared)
        overlay = None if args.no_overlay else ROOT / "docs" / "img" / "localizer_real_hand.png"
        result["shared_dicoms"] = shared_dicoms(loc, shared, overlay)
    result["phantom_test"] = phantoms(loc, args.phantom_patients)
    result["speed"] = speed(loc, shared)
    label = args.label or ("default" if args.model == "default" else Path(args.model).parent.name)
    out = ROOT / "bench" / "results" / f"localizer-{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
