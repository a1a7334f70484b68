"""Disease mix of the default phantom patients: `python bench/synth_disease.py [--n 3000]`.

Samples patients with the default `sharpscore.synth.DiseaseModel` and prints (and saves to
bench/results/synth_disease.json) the distribution of total SvdH scores."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sharpscore.synth.disease import DiseaseModel, patient_total, sample_patient_grades


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=3000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = np.random.default_rng(a.seed)
    patients = [sample_patient_grades(rng, DiseaseModel()) for _ in range(a.n)]
    totals = np.array([patient_total(g) for g in patients])
    joints = np.array([v for g in patients for r in g.values() for s in r.values() for v in s.values() if v is not None])
    left = [sum(v or 0 for s in g["LH"].values() for v in s.values()) for g in patients]
    right = [sum(v or 0 for s in g["RH"].values() for v in s.values()) for g in patients]
    out = {"patients": a.n, "median_total": float(np.median(totals)), "mean_total": round(float(totals.mean()), 1),
           "p90_total": float(np.percentile(totals, 90)), "fraction_over_100": round(float(np.mean(totals > 100)), 3),
           "fraction_zero": round(float(np.mean(totals == 0)), 3), "fraction_joint_scores_zero": round(float(np.mean(joints == 0)), 3),
           "left_right_hand_correlation": round(float(np.corrcoef(left, right)[0, 1]), 3),
           "command": f"python bench/synth_disease.py --n {a.n} --seed {a.seed}"}
    path = Path(__file__).parent / "results" / "synth_disease.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
