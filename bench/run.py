"""Speed, memory, scaling and accuracy of the shipped pipeline: `python bench/run.py`.

    .venv/bin/python bench/run.py [--quick] [--accuracy] [--device cuda]

- latency per radiograph, end to end (decode + localise + score + calibrate + review), median and
  p95, split per stage, on the real 2500 x 2048 JPEG 2000 hand DICOM (../shared/data) and on
  phantom JPEG hands; decode alone is the floor;
- `sharpscore score` throughput with 1 and 2 workers on a 200-radiograph phantom folder and on 48
  copies of the real JPEG 2000 hand, and its peak resident memory;
- the same 200 films scored by 2 torchrun ranks (gloo): are scores.csv and errors.csv byte-identical
  to one process's?
- scaling: latency against image size (1, 2, 4, 8 MP) and throughput against cohort size
  (50, 200, 800 radiographs);
- on a GPU (`--device cuda`, when one is present): throughput at batch sizes 1-64;
- accuracy: the figures of bench/localizer.py and bench/scorer.py (rerun with --accuracy).

Writes bench/results.json and bench/results.md (the table in README's Performance section).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
REAL_HAND = SHARED / "dicom" / "NM_Kakadu44_SOTmarkerincons.dcm"
CACHE = Path.home() / ".cache" / "sharpscore" / "bench"


def _stats(values: list[float]) -> dict:
    return {"median": round(float(np.median(values)), 4), "p95": round(float(np.percentile(values, 95)), 4),
            "n": len(values)}


def latency(scorer, source, repeats: int) -> dict:
    """Per-stage seconds for one file, repeated (first call excluded as warm-up)."""
    from sharpscore.api.review import needs_review, review_flags
    from sharpscore.io import load_radiograph

    stages = {"decode": [], "localise": [], "score": [], "review": [], "end_to_end": []}
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        rg = load_radiograph(source)
        t1 = time.perf_counter()
        loc = scorer.localizer.predict(rg)
        t2 = time.perf_counter()
        rs = scorer.joint_model.score(rg.pixels, loc.spacing_mm, loc.landmarks, loc.region)
        t3 = time.perf_counter()
        needs_review(review_flags(rg, loc, rs, scorer.review))
        t4 = time.perf_counter()
        if i == 0:
            continue
        for k, v in (("decode", t1 - t0), ("localise", t2 - t1), ("score", t3 - t2), ("review", t4 - t3),
                     ("end_to_end", t4 - t0)):
            stages[k].append(v)
    out = {k: _stats(v) for k, v in stages.items()}
    dec = out["decode"]["median"]
    out["end_to_end_over_decode"] = round(out["end_to_end"]["median"] / dec, 2) if dec > 1e-4 else None
    return out


def phantom_folder(n_patients: int, seed: int) -> Path:
    from sharpscore.synth import SynthConfig, generate_cohort

    folder = CACHE / f"speed-n{n_patients}-s{seed}"
    if not (folder / "training.csv").exists():
        generate_cohort(SynthConfig(n=n_patients, seed=seed, id_prefix="SPD"), folder, progress=False)
    return folder


def subset(folder: Path, n_files: int, dest: Path) -> Path:
    """A folder with the first ``n_files`` radiographs of ``folder`` (symlinks)."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(folder.glob("*.jpg"))[:n_files]:
        (dest / f.name).symlink_to(f)
    return dest


def cohort_run(folder: Path, workers: int, device: str | None = None, ranks: int = 1,
               keep: Path | None = None) -> dict:
    """`sharpscore score` in a fresh process (under `torchrun` with ``ranks`` > 1): wall time,
    files/s and peak resident memory (its largest process); outputs kept in ``keep``."""
    out = keep or Path(tempfile.mkdtemp(prefix="sharpscore-bench-"))
    launch = ([str(Path(sys.executable).with_name("torchrun")), "--standalone", "--nproc-per-node", str(ranks), "-m",
               "sharpscore"] if ranks > 1 else [sys.executable, "-m", "sharpscore"])
    cmd = launch + ["score", str(folder), "--out", str(out), "--quiet", "--salt", "bench",
                    "--workers", str(workers)] + (["--device", device] if device else [])
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    stats = out.parent / f"{out.name}.rss"
    if timer:  # GNU time: this run's own peak resident memory (ru_maxrss of the process it waits for)
        cmd = [timer, "-f", "%M", "-o", str(stats)] + cmd
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if timer and stats.exists():
        peak_kb = int(stats.read_text().split()[-1])
        stats.unlink()
    else:  # cumulative over this bench's children: an upper bound
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    n = len(list((out / "radiographs").glob("*.json")))
    if keep is None:
        shutil.rmtree(out, ignore_errors=True)
    if res.returncode != 0:
        raise RuntimeError(res.stderr)
    return {"files": n, "workers": workers, "ranks": ranks, "seconds": round(wall, 2),
            "files_per_second": round(n / wall, 2), "peak_rss_mb": round(peak_kb / 1024, 1)}


def scaling_pair(folder: Path) -> dict:
    """`sharpscore score` with 1 and 2 workers on one folder, and the throughput ratio."""
    one, two = cohort_run(folder, 1), cohort_run(folder, 2)
    return {"runs": [one, two], "two_over_one": round(two["files_per_second"] / one["files_per_second"], 2)}


def distributed(folder: Path, work: Path) -> dict:
    """A 2-rank torchrun (gloo) run against one process over the same films: are scores.csv and
    errors.csv byte-identical?"""
    single, ranks = work / "single", work / "ranks"
    runs = [cohort_run(folder, 1, keep=single), cohort_run(folder, 1, ranks=2, keep=ranks)]
    same = {name: (single / name).read_bytes() == (ranks / name).read_bytes() for name in ("scores.csv", "errors.csv")}
    return {"runs": runs, "identical": same}


def size_scaling(scorer, repeats: int) -> list[dict]:
    """End-to-end latency of one phantom hand rendered at 1, 2, 4 and 8 megapixels."""
    from sharpscore.synth import render

    base = render("RH", None, seed=5, spacing_mm=0.15)
    h, w = base.radiograph.shape
    rows = []
    for mp in (1, 2, 4, 8):
        spacing = 0.15 * np.sqrt(h * w / (mp * 1e6))
        img = render("RH", None, seed=5, spacing_mm=float(spacing)).radiograph
        lat = latency(scorer, img, repeats)
        rows.append({"megapixels": round(img.pixels.size / 1e6, 2), "spacing_mm": round(float(spacing), 4),
                     "end_to_end": lat["end_to_end"], "localise": lat["localise"]["median"],
                     "score": lat["score"]["median"]})
    return rows


def gpu_batches(folder: Path) -> list[dict]:
    """Scoring throughput (localise + score, decoded images in memory) at batch sizes 1-64 on CUDA."""
    import torch

    from sharpscore.api import Scorer
    from sharpscore.io import load_radiograph

    scorer = Scorer(device="cuda")
    images = [load_radiograph(p) for p in sorted(folder.glob("*.jpg"))[:128]]
    rows = []
    for bs in (1, 4, 16, 64):
        scorer.score_many(images[:bs], batch_size=bs)  # warm-up
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        scorer.score_many(images, batch_size=bs)
        torch.cuda.synchronize()
        rows.append({"batch_size": bs, "radiographs_per_second": round(len(images) / (time.perf_counter() - t0), 1)})
    return rows


def markdown(r: dict) -> str:
    lines = [f"Measured by `python bench/run.py` on {r['machine'].get('cpu', '?')} ({r['machine']['cpus']} cores"
             f"{', GPU ' + r['machine']['cuda'] if r['machine'].get('cuda') else ''}), torch {r['machine'].get('torch')}.",
             "", "| measurement | result |", "|---|---|"]
    for name, lat in r["latency"].items():
        e2e, dec = lat["end_to_end"], lat["decode"]
        lines.append(f"| {name}: end to end per radiograph | median {e2e['median']:.3f} s, p95 {e2e['p95']:.3f} s "
                     f"(decode {dec['median']:.3f} s, localise {lat['localise']['median']:.3f} s, score "
                     f"{lat['score']['median']:.3f} s"
                     + (f"; {lat['end_to_end_over_decode']}x decode) |" if lat.get("end_to_end_over_decode") else ") |"))
    for key, what in (("cohort", "phantom JPEGs"), ("cohort_jpeg2000", "copies of the real JPEG 2000 hand")):
        if key not in r:
            continue
        for c in r[key]["runs"]:
            lines.append(f"| `sharpscore score`, {c['files']} {what}, {c['workers']} worker(s) | "
                         f"{c['files_per_second']} radiographs/s, peak memory {c['peak_rss_mb']:.0f} MB |")
        lines.append(f"| same, 2 workers / 1 worker | {r[key]['two_over_one']:.2f} x the throughput |")
    if "distributed" in r:
        d = r["distributed"]
        same = " and ".join(f"{k} {'identical' if v else 'DIFFERENT'}" for k, v in d["identical"].items())
        lines.append(f"| `torchrun --nproc-per-node 2` (gloo) over the {d['runs'][1]['files']} phantom JPEGs | "
                     f"{d['runs'][1]['files_per_second']} radiographs/s; {same} to one process's |")
    if r.get("cohort_scaling"):
        s = ", ".join(f"{c['files']}: {c['seconds']} s" for c in r["cohort_scaling"])
        lines.append(f"| cohort size vs time (1 worker) | {s} |")
    if r.get("size_scaling"):
        s = ", ".join(f"{c['megapixels']} MP: {c['end_to_end']['median']:.3f} s" for c in r["size_scaling"])
        lines.append(f"| image size vs latency | {s} |")
    for g in r.get("gpu", []):
        lines.append(f"| GPU batch {g['batch_size']} | {g['radiographs_per_second']} radiographs/s |")
    acc = r.get("accuracy", {})
    if "scorer" in acc:
        e, o = acc["scorer"]["end_to_end"], acc["scorer"]["true_landmarks"]
        q = ", ".join(f"{k} {v:.2f}" for k, v in e["qwk"].items())
        lines.append(f"| scoring, unseen phantom cohort ({e['n_patients']} patients), end to end | QWK {q}; ICC(2,1) of "
                     f"the total {e['total_icc2_1']:.3f}; RA2 SC1/2/3 {e['ra2']['sc1']:.3f}/{e['ra2']['sc2']:.3f}/"
                     f"{e['ra2']['sc3']:.3f}; 90% interval coverage {e.get('total_interval_coverage', float('nan')):.1%} |")
        q = ", ".join(f"{k} {v:.2f}" for k, v in o["qwk"].items())
        lines.append(f"| same, true landmarks (scorer alone) | QWK {q}; ICC(2,1) {o['total_icc2_1']:.3f} |")
    if "localizer" in acc:
        d, p = acc["localizer"]["dha_heldout"], acc["localizer"]["phantom_test"]
        lines.append(f"| localisation, 21 held-out real DHA hands | finger joints median {d['finger_median_mm']:.2f} mm, "
                     f"{d['finger_within_4mm']:.1%} within 4 mm |")
        lines.append(f"| localisation, unseen phantoms | all sites {p['within_2mm']:.1%} within 2 mm |")
    lines.append("")
    lines.append("Phantom accuracy is not clinical accuracy: the shipped scorer has never seen a real scored film.")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer repeats and no 800-radiograph run")
    p.add_argument("--accuracy", action="store_true", help="rerun bench/localizer.py and bench/scorer.py first")
    p.add_argument("--device", default=None, help="cuda: add the GPU batch-size figures")
    a = p.parse_args()
    import torch

    from sharpscore.api import Scorer

    if a.accuracy:
        for script in ("localizer.py", "scorer.py"):
            subprocess.run([sys.executable, str(Path(__file__).parent / script), *(["--no-overlay"] if
                            script == "localizer.py" else [])], check=True)
    repeats = 3 if a.quick else 10
    scorer = Scorer()
    result: dict = {"machine": machine(), "torch_threads": torch.get_num_threads(), "latency": {}}
    if REAL_HAND.exists():
        result["latency"]["real hand DICOM (2500 x 2048, JPEG 2000)"] = latency(scorer, REAL_HAND, repeats)
    folder = phantom_folder(200 if not a.quick else 50, seed=7001)
    hands = sorted(folder.glob("*-RH.jpg"))[:repeats]
    per = [latency(scorer, f, 1) for f in hands]
    result["latency"]["phantom JPEG hand"] = {
        k: _stats([q[k]["median"] for q in per]) for k in ("decode", "localise", "score", "review", "end_to_end")}
    result["latency"]["phantom JPEG hand"]["end_to_end_over_decode"] = round(
        result["latency"]["phantom JPEG hand"]["end_to_end"]["median"] /
        result["latency"]["phantom JPEG hand"]["decode"]["median"], 2)
    result["size_scaling"] = size_scaling(scorer, 2 if a.quick else 5)
    work = Path(tempfile.mkdtemp(prefix="sharpscore-subsets-"))
    try:
        n200 = subset(folder, 200, work / "n200")
        result["cohort"] = scaling_pair(n200)
        if REAL_HAND.exists():  # a slow codec: 48 copies of the real JPEG 2000 hand
            j2k = work / "j2k"
            j2k.mkdir()
            for i in range(48):
                shutil.copy(REAL_HAND, j2k / f"copy{i:02d}.dcm")  # copies: symlinks are one file to `score`
            result["cohort_jpeg2000"] = scaling_pair(j2k)
        result["distributed"] = distributed(n200, work)
        sizes = (50, 200) if a.quick else (50, 200, 800)
        scaling = []
        for n in sizes:
            src = folder if n <= 4 * (200 if not a.quick else 50) else phantom_folder(n // 4, seed=7002)
            scaling.append(cohort_run(subset(src, n, work / f"s{n}"), 1))
        result["cohort_scaling"] = scaling
        if a.device == "cuda" and torch.cuda.is_available():
            result["gpu"] = gpu_batches(folder)
            result["gpu_cohort"] = [cohort_run(n200, 2, device="cuda")]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    acc = {}
    for name in ("localizer", "scorer"):
        path = Path(__file__).parent / "results" / f"{name}-default.json"
        if path.exists():
            acc[name] = json.loads(path.read_text())
    result["accuracy"] = acc
    result["command"] = "python bench/run.py " + " ".join(sys.argv[1:])
    (Path(__file__).parent / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (Path(__file__).parent / "results.md").write_text(md)
    print(md)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
