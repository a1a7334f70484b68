"""Real-anatomy shape prior, held out: `python bench/shape_prior.py [--shared ../shared/data]`.

The hand and foot shape models are refitted on 80% of the RA2-DREAM landmark files (split by
patient) and checked on the other 20% (real RA joint positions the model never saw), each shape
under a random pose (rotation +-30 deg, scale 0.8-1.2):
- false alarms: shapes with any joint called implausible (nothing was moved);
- detection: one joint moved by 15 / 25 / 35 mm in a random direction (a ring or an overlapping
  toe pulling its heatmap away), how often that joint is called implausible, how often the other
  joints are then consistent (the localiser only re-searches a joint then; otherwise the film is
  flagged), and how far from its true position the model then puts it;
- side: left/right from the configuration, with and without a moved joint.

Writes bench/results/shape-prior.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

from sharpscore.localize.shape_check import check_shape  # noqa: E402
from sharpscore.synth.shape_model import _FILE_LABELS, fit_shape_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _held_out(name: str) -> bool:
    patient = name.split("-")[0].split(".")[0]
    return int(hashlib.sha1(patient.encode()).hexdigest(), 16) % 5 == 0


def _read(path: Path, kind: str, names: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    data = json.loads(path.read_text())
    pts = {s["label"]: s["points"][0] for s in data.get("shapes", []) if s.get("points")}
    labels = _FILE_LABELS[kind]
    if not all(lbl in pts for lbl in labels):
        return None
    return {n: np.asarray(pts[lbl], float) for n, lbl in zip(names, labels)}


def _side_truth(name: str) -> str | None:
    stem = Path(name).stem
    return stem[-2] if "-" in stem else None


def run(shared: Path, kind: str, rng: np.random.Generator) -> dict:
    sub = shared / "ra2-landmarks" / ("hands" if kind == "hand" else "feet")
    files = sorted(p.name for p in sub.glob("*.json"))
    train = [f for f in files if not _held_out(f)]
    test = [f for f in files if _held_out(f)]
    t0 = time.perf_counter()
    model = fit_shape_model(sub, kind, files=train, limits=True)
    fit_s = time.perf_counter() - t0
    joints = [n for n in model.names if not n.startswith("w")]  # w1-w3 are not sharpscore sites
    shapes = []
    for f in test:
        pts = _read(sub / f, kind, model.names)
        if pts is None:
            continue
        # pixel scale of the RA2 files: mm from the MCP3-PIP3 / MTP1-IP reference of the model
        a, b = ("mcp3", "pip3") if kind == "hand" else ("mtp1", "ip")
        ref = float(np.linalg.norm(model.mean[model.names.index(a)] - model.mean[model.names.index(b)]))
        mm_per_px = ref / max(float(np.linalg.norm(pts[a] - pts[b])), 1.0)
        shapes.append((f, {n: pts[n] * mm_per_px for n in joints}))

    def pose(pts):
        ang, sc = np.deg2rad(rng.uniform(-30, 30)), rng.uniform(0.8, 1.2)
        r = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
        return {n: sc * p @ r.T for n, p in pts.items()}, sc

    false_alarm, side_ok, side_n = 0, 0, 0
    moved: dict[int, dict[str, list]] = {d: {"found": [], "fixable": [], "err": [], "side": []} for d in (15, 25, 35)}
    for f, pts in shapes:
        posed, _ = pose(pts)
        chk = check_shape(posed, kind, model=model)
        false_alarm += bool(chk.outliers)
        truth = _side_truth(f)
        if truth:
            side_n += 1
            side_ok += chk.side == truth
        for d in moved:
            victim = joints[int(rng.integers(len(joints)))]
            posed, sc = pose(pts)
            ang = rng.uniform(0, 2 * np.pi)
            true_pos = posed[victim].copy()
            posed[victim] = posed[victim] + sc * d * np.array([np.cos(ang), np.sin(ang)])
            chk = check_shape(posed, kind, model=model)
            moved[d]["found"].append(victim in chk.outliers)
            moved[d]["fixable"].append(victim in chk.outliers and chk.consistent)
            moved[d]["err"].append(float(np.linalg.norm(chk.predicted[victim] - true_pos)) / sc)
            if truth:
                moved[d]["side"].append(chk.side == truth)
    n = len(shapes)
    return {
        "fit": {"train_files": len(train), "seconds": round(fit_s, 1),
                "loo_limit_mm": dict(zip(model.names, np.round(model.limit, 2).tolist()))},
        "held_out_shapes": n,
        "false_alarm_rate": round(false_alarm / n, 4),
        "side_accuracy": round(side_ok / max(side_n, 1), 4), "side_n": side_n,
        "moved_joint": {f"{d}mm": {"detected": round(float(np.mean(v["found"])), 4),
                                   "detected_and_rest_consistent": round(float(np.mean(v["fixable"])), 4),
                                   "model_position_error_mm_median": round(float(np.median(v["err"])), 2),
                                   "model_position_error_mm_p90": round(float(np.percentile(v["err"], 90)), 2),
                                   "side_accuracy": round(float(np.mean(v["side"])), 4) if v["side"] else None}
                        for d, v in moved.items()},
    }


def dha_children(shared: Path) -> dict:
    """False alarms on the 112 Digital Hand Atlas hands (children, reader landmarks; the model is
    of adults): the shipped model."""
    import csv

    table: dict[str, dict] = {}
    with (shared / "dha-hands" / "landmarks.csv").open() as fh:
        for row in csv.DictReader(fh):
            name = {"ip1": "ip"}.get(row["landmark"], row["landmark"])
            table.setdefault(row["image_id"], {})[name] = (float(row["x_px"]) * 0.108, float(row["y_px"]) * 0.108)
    alarms, left = 0, 0
    for pts in table.values():
        chk = check_shape(pts, "hand")
        alarms += bool(chk.outliers)
        left += chk.side == "L"
    return {"hands": len(table), "false_alarm_rate": round(alarms / len(table), 4),
            "side_left_fraction (all are left hands)": round(left / len(table), 4)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    shared = Path(a.shared)
    if not (shared / "ra2-landmarks").is_dir():
        sys.exit(f"{shared}/ra2-landmarks not found")
    rng = np.random.default_rng(a.seed)
    out = {"what": __doc__.split("\n\n")[1], "machine": machine(),
           "command": "python bench/shape_prior.py", "hand": run(shared, "hand", rng), "foot": run(shared, "foot", rng),
           "dha_children_shipped_model": dha_children(shared) if (shared / "dha-hands").is_dir() else None}
    path = ROOT / "bench" / "results" / "shape-prior.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("hand", "foot", "dha_children_shipped_model")}, indent=1))


if __name__ == "__main__":
    main()
