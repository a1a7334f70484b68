"""``sharpscore evaluate``: agreement of predictions with a reference, RA2-DREAM layout."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="compare predicted scores with reference scores",
                       description="Both files in the RA2-DREAM training.csv layout. Writes metrics.json, "
                                   "report.md and PNG plots into --out.")
    p.add_argument("--pred", required=True, help="predicted scores (e.g. scores.csv from sharpscore score)")
    p.add_argument("--truth", required=True, help="reference scores (training.csv layout)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--by", action="append", default=[], metavar="COLUMN",
                   help="also break metrics down by this metadata column of --truth (repeatable)")
    p.add_argument("--weight-by", choices=["total", "measure"], default="total",
                   help="RA2-DREAM SC2/SC3 patient weights from the total SvdH (default) or from the "
                        "narrowing/erosion totals")
    p.add_argument("--landmarks", nargs=2, metavar=("PRED_DIR", "TRUTH_DIR"),
                   help="also score localisation: labelme files of the same name in two folders")
    p.add_argument("--baseline", nargs=2, metavar=("PRED", "TRUTH"),
                   help="progression: predicted and reference scores of the baseline visit (--pred/--truth then "
                        "being the follow-up); adds SDC, responsiveness, progression sensitivity/specificity and "
                        "per-joint change QWK to metrics.json")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate_files

    m = evaluate_files(args.pred, args.truth, args.out, by=args.by, weight_by=args.weight_by,
                       landmarks=tuple(args.landmarks) if args.landmarks else None)
    ra2, total = m["ra2"], m["total"]
    print(f"{m['n_patients']} patients: RA2-DREAM SC1 {ra2['sc1']:.3f}, SC2 {ra2['sc2']:.3f}, SC3 {ra2['sc3']:.3f}; "
          f"total SvdH ICC(2,1) {total['icc2_1']:.3f}, RMSE {total['rmse']:.2f}")
    if args.baseline:
        import json
        from pathlib import Path

        from .. import schema
        from ..evaluation.progression import evaluate_change

        read = lambda f, pred: schema.read_ra2_csv(f, require_all=False, check_totals=not pred,  # noqa: E731
                                                   extra_columns=schema.PREDICTION_EXTRA_COLUMNS if pred else ())
        prog = evaluate_change(read(args.baseline[0], True), read(args.pred, True), read(args.baseline[1], False),
                               read(args.truth, False))
        path = Path(args.out) / "metrics.json"
        doc = json.loads(path.read_text())
        doc["progression"] = prog
        path.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"progression, {prog['patients']} patients: SDC {prog['sdc_total']:.2f}, sensitivity "
              f"{prog['sensitivity']:.2f}, specificity {prog['specificity']:.2f}, joint change QWK "
              f"{prog['joint_change_qwk']}")
    if m.get("excluded_patients"):
        print(f"{len(m['excluded_patients'])} patients left out (no prediction, or a region missing): see "
              f"excluded_patients in {args.out}/metrics.json")
    print(f"wrote {args.out}/metrics.json, report.md and plots")
    return 0
