"""Phantom cohort speed: `python bench/synth_speed.py [--n 100] [--workers 2]`.

Writes a cohort with `sharpscore.synth.generate_cohort` into a temporary folder and records
wall-clock time to bench/results/synth_speed.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

from sharpscore.config import resolve_config  # noqa: E402
from sharpscore.synth import SynthConfig, generate_cohort  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--format", default="jpeg")
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "synth_speed.json"))
    args = p.parse_args()
    cfg = resolve_config(SynthConfig, Path(__file__).parents[1] / "configs" / "synth.yaml",
                         [f"n={args.n}", f"workers={args.workers}", f"format={args.format}", "seed=1000"])
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        generate_cohort(cfg, tmp, progress=False)
        elapsed = time.perf_counter() - start
        size = sum(f.stat().st_size for f in Path(tmp).iterdir())
    images = cfg.n * len(cfg.regions)
    result = {"patients": cfg.n, "images": images, "format": cfg.format, "workers": args.workers or "all cores",
              "seconds": round(elapsed, 1), "images_per_second": round(images / elapsed, 2),
              "megabytes": round(size / 1e6, 1), "machine": machine(),
              "command": "python bench/synth_speed.py " + " ".join(sys.argv[1:])}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
