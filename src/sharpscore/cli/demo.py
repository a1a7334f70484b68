"""``sharpscore demo``: the built-in example run by ``make demo``.

Writes a phantom patient (four DICOM radiographs with known grades), scores it end to end with the
shipped models exactly as ``sharpscore score`` would, and prints the predicted SvdH totals next to
the phantom's true ones and where the overlays, JSON and CSV are.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the built-in example on a phantom patient",
                       description="Write a phantom patient as DICOM, score it, and compare with the truth.")
    p.add_argument("--out", default="demo-output", help="output folder (default: demo-output)")
    p.add_argument("--seed", type=int, default=9, help="phantom seed (default 9: a patient with total SvdH 23)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from .. import schema
    from ..api.batch import score_cohort
    from ..synth import SynthConfig, generate_cohort

    out = Path(args.out)
    cohort = out / "phantom"
    ours = (cohort / "synth_config.yaml").exists()  # only ever replace a demo we wrote ourselves
    cfg = SynthConfig(n=1, seed=args.seed, format="dicom", id_prefix="DEMO", workers=1, overwrite=ours)
    truth = schema.read_ra2_csv(generate_cohort(cfg, cohort, progress=False))[0]
    results = out / "results"
    if ours and results.exists():  # a fresh phantom: earlier results of this demo no longer apply
        import shutil

        shutil.rmtree(results)
    summary = score_cohort([cohort], results, formats=("json", "csv", "png"), progress=False)
    pred = schema.read_ra2_csv(results / "scores.csv", require_all=False, check_totals=False,
                               extra_columns=schema.PREDICTION_EXTRA_COLUMNS)[0]
    print(f"Phantom patient {truth['Patient_ID']} (4 DICOM films in {cohort}/)")
    print(f"  true SvdH total      {truth['Overall_Tol']:6.1f}  (erosion {truth['Overall_erosion']:g}, "
          f"JSN {truth['Overall_narrowing']:g})")
    print(f"  predicted SvdH total {float(pred['Overall_Tol']):6.1f}  "
          f"[{float(pred['Overall_Tol_lo']):.0f}-{float(pred['Overall_Tol_hi']):.0f}, 90% interval] "
          f"(erosion {float(pred['Overall_erosion']):.1f}, JSN {float(pred['Overall_narrowing']):.1f})")
    for region in schema.REGIONS:
        doc = json.loads((results / "radiographs" / f"DEMO00000-{region}.json").read_text())
        review = "needs review: " + ", ".join(doc["flags"][:3]) if doc["needs_review"] else "no review flags"
        print(f"  {region}: located as {doc['region']}, total {doc['total']:.1f} ({review})")
    print(f"Wrote {results}/scores.csv, {results}/radiographs/*.json and {results}/overlays/*.png "
          f"({summary.seconds:.1f} s)")
    print("Research use only: the shipped scorer learned real hand films only with simulated disease, and feet "
          "from phantoms; check it against your readers and fine-tune it on a scored cohort (docs/finetune.md).")
    return 0
