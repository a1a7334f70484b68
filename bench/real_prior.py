"""How well the shipped real disease prior reproduces the real cohort's totals.

    .venv/bin/python bench/real_prior.py [--n 2000]

Draws patients from sharpscore.synth.real_prior (shift 0 and 1) and compares the distribution of
the total SvdH with the 364 real RA2-DREAM patients in ../shared/data/ra2-scores/training.csv.
Writes bench/results/real-prior.json.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

SCORES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ra2-scores" / "training.csv"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2000)
    a = p.parse_args()
    from sharpscore.synth.real_prior import sample_real_grades

    def stats(t):
        t = np.asarray(t, float)
        return {"median": float(np.median(t)), "p25": float(np.percentile(t, 25)), "p75": float(np.percentile(t, 75)),
                "p95": float(np.percentile(t, 95)), "zero_fraction": round(float(np.mean(t == 0)), 4)}

    real = [float(r["Overall_Tol"]) for r in csv.DictReader(open(SCORES, newline=""))]
    out = {"real_patients": len(real), "real": stats(real)}
    rng = np.random.default_rng(0)
    for shift in (0.0, 1.0):
        t = [sum(v or 0 for reg in sample_real_grades(rng, severity_shift=shift).values()
                 for s in reg.values() for v in s.values()) for _ in range(a.n)]
        out[f"sampled_shift_{shift:g}"] = stats(t)
    dest = Path(__file__).parent / "results" / "real-prior.json"
    dest.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
