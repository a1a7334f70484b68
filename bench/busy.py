"""End-to-end latency of the real JPEG 2000 hand DICOM, idle and beside one CPU-bound process.

    .venv/bin/python bench/busy.py [--runs 7] [--no-imagecodecs]

Scores ../shared/data/dicom/NM_Kakadu44_SOTmarkerincons.dcm ``--runs`` times on the idle machine, then
again while one other process spins on a core, and reports medians, their ratio and the decode time
measured in the same loops. Writes bench/results/busy.json (``busy-no-imagecodecs.json`` with
``--no-imagecodecs``: JPEG 2000 decoded by pydicom's one-thread plugin, as without ``sharpscore[fast]``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

FILM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dicom" / "NM_Kakadu44_SOTmarkerincons.dcm"


def _spin(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10000))


def _measure(scorer, runs: int) -> dict:
    from sharpscore.io import load_radiograph

    total, decode = [], []
    for _ in range(runs):
        t = time.perf_counter()
        load_radiograph(FILM)
        decode.append(time.perf_counter() - t)
        t = time.perf_counter()
        scorer.score(FILM)
        total.append(time.perf_counter() - t)
    return {"end_to_end_median_s": round(statistics.median(total), 3), "decode_median_s": round(statistics.median(decode), 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--no-imagecodecs", action="store_true", help="decode as if imagecodecs were not installed")
    a = p.parse_args()
    if a.no_imagecodecs:
        sys.modules["imagecodecs"] = None  # an import of it now fails: sharpscore.io.j2k steps aside
    import torch

    from sharpscore.api import Scorer

    scorer = Scorer()
    scorer.score(FILM)  # warm-up
    idle = _measure(scorer, a.runs)
    stop = mp.Event()
    proc = mp.Process(target=_spin, args=(stop,), daemon=True)
    proc.start()
    time.sleep(1.0)
    try:
        busy = _measure(scorer, a.runs)
    finally:
        stop.set()
        proc.join(5)
    out = {"machine": machine(), "torch_threads": torch.get_num_threads(), "film": FILM.name, "idle": idle, "busy_one_cpu_bound_process": busy,
           "busy_over_idle": round(busy["end_to_end_median_s"] / idle["end_to_end_median_s"], 2),
           "busy_over_its_decode": round(busy["end_to_end_median_s"] / busy["decode_median_s"], 2),
           "idle_over_its_decode": round(idle["end_to_end_median_s"] / idle["decode_median_s"], 2),
           "command": "python bench/busy.py " + " ".join(sys.argv[1:])}
    dest = Path(__file__).parent / "results" / ("busy-no-imagecodecs.json" if a.no_imagecodecs else "busy.json")
    dest.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
