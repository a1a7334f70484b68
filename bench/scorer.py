"""Scoring accuracy and speed on an unseen phantom cohort.

    .venv/bin/python bench/scorer.py [--n 120] [--seed 9001] [--model default]

Renders a phantom test cohort (default disease mix, an unseen seed), then scores it twice:

- end to end, exactly as ``sharpscore score`` does (shipped localiser + scorer + calibration), and
- with the phantoms' true landmarks (the scorer alone, without localisation error).

Both are evaluated by the code behind ``sharpscore evaluate`` (QWK per site family, ICC of the
patient total, RA2-DREAM SC1-3, interval coverage). Speed: seconds to score all sites of one
radiograph once it is loaded and localised. Writes bench/results/scorer-<model>.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402


def summarise(m: dict) -> dict:
    out = {"n_patients": m["n_patients"], "qwk": {k: round(v["qwk"], 3) for k, v in m["joints"].items()},
           "exact": {k: round(v["exact"], 3) for k, v in m["joints"].items()},
           "total_icc2_1": round(m["total"]["icc2_1"], 4),
           "total_icc2_1_ci": [round(v, 4) for v in m["total"]["icc2_1_ci"]],
           "total_mae": round(m["total"]["mae"], 2),
           "ra2": {k: round(v, 4) for k, v in m["ra2"].items() if k in ("sc1", "sc2", "sc3")},
           "ra2_winners": m["ra2"]["winners"]}
    if "interval_coverage" in m["total"]:
        out["total_interval_coverage"] = round(m["total"]["interval_coverage"], 4)
        out["total_interval_width"] = round(m["total"]["interval_width"], 2)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=120)
    p.add_argument("--seed", type=int, default=9001)
    p.add_argument("--model", default="default")
    p.add_argument("--label", default=None)
    p.add_argument("--work", default=str(Path.home() / ".cache" / "sharpscore" / "bench"))
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from sharpscore import schema
    from sharpscore.api import Scorer
    from sharpscore.api.batch import score_cohort
    from sharpscore.evaluation.report import evaluate_files
    from sharpscore.scoring.patient import patient_distributions, ra2_row
    from sharpscore.synth import SynthConfig, generate_cohort
    from sharpscore.training.data import RA2DreamSource

    label = a.label or Path(str(a.model)).stem.replace("scorer-", "")
    work = Path(a.work)
    cohort = work / f"phantom-test-n{a.n}-s{a.seed}"
    if not (cohort / "training.csv").exists():
        generate_cohort(SynthConfig(n=a.n, seed=a.seed, id_prefix="TEST"), cohort)
    truth_csv = cohort / "training.csv"
    out = work / f"scorer-{label}"
    import shutil

    shutil.rmtree(out, ignore_errors=True)
    scorer = Scorer(a.model)

    # End to end, as `sharpscore score` runs it.
    t0 = time.perf_counter()
    s = score_cohort([cohort], out / "e2e", scorer=scorer, progress=True)
    e2e_seconds = time.perf_counter() - t0
    # A patient with a film that could not be placed (refused, or shown as another region than its
    # name) lacks columns; the RA2-DREAM metrics need complete rows, so such patients are left out
    # of the end-to-end evaluation and counted.
    extra = schema.PREDICTION_EXTRA_COLUMNS
    pred_rows = schema.read_ra2_csv(out / "e2e" / "scores.csv", require_all=False, check_totals=False,
                                    extra_columns=extra)
    complete = {r["Patient_ID"] for r in pred_rows if all(r.get(c) is not None for c in schema.RA2_JOINT_COLUMNS)}
    truth_rows = [r for r in schema.read_ra2_csv(truth_csv) if r["Patient_ID"] in complete]
    schema.write_ra2_csv(out / "e2e" / "scores-complete.csv", [r for r in pred_rows if r["Patient_ID"] in complete],
                         extra_columns=extra)
    schema.write_ra2_csv(out / "e2e" / "truth-complete.csv", truth_rows)
    e2e = evaluate_files(out / "e2e" / "scores-complete.csv", out / "e2e" / "truth-complete.csv", out / "e2e-report")
    import csv as _csv

    with (out / "e2e" / "errors.csv").open() as fh:
        e2e_errors = list(_csv.DictReader(fh))

    # True landmarks: the scorer alone. Time the scoring of each radiograph after loading/localising.
    js = scorer.joint_model
    times, by_patient = {"hand": [], "foot": []}, {}
    for smp in RA2DreamSource(root=str(cohort)).samples():
        rg = smp.load()
        t = time.perf_counter()
        rs = js.score(rg.pixels, rg.spacing_mm, smp.landmarks, smp.region)
        times[schema.region_kind(smp.region)].append(time.perf_counter() - t)
        by_patient.setdefault(smp.patient_id, []).append(rs)
    rows = []
    for pid, regs in sorted(by_patient.items()):
        d = patient_distributions(regs)
        rows.append(ra2_row(pid, regs, {m: js.interval(v, "patient" if m == "total" else None) for m, v in d.items()}))
    schema.write_ra2_csv(out / "oracle.csv", rows, extra_columns=extra)
    oracle = evaluate_files(out / "oracle.csv", truth_csv, out / "oracle-report")

    result = {
        "model": str(a.model), "machine": machine(),
        "cohort": {"n_patients": a.n, "seed": a.seed, "radiographs": 4 * a.n,
                   "note": "phantoms, default disease mix (configs/synth.yaml); not real patients"},
        "end_to_end": {**summarise(e2e), "patients_left_out": a.n - len(complete),
                       "errors": [f"{Path(e['file']).name}: {e['error']}: {e['message']}" for e in e2e_errors],
                       "seconds": round(e2e_seconds, 1),
                       "files_per_second": round(s.scored / e2e_seconds, 2)},
        "true_landmarks": summarise(oracle),
        "speed_scoring_only_s": {k: {"median": round(float(np.median(v)), 4), "p95": round(float(np.percentile(v, 95)), 4),
                                     "n": len(v)} for k, v in times.items()},
        "command": "python bench/scorer.py " + " ".join(sys.argv[1:]),
    }
    dest = Path(__file__).parent / "results" / f"scorer-{label}.json"
    dest.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {dest}")


if __name__ == "__main__":
    main()
