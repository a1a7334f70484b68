"""``sharpscore calibrate CONFIG.yaml [key=value ...]``: fit a trained scorer's calibrators."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="fit calibration (temperature, prediction sets, intervals) for a scorer",
                       description="Fit temperature scaling per head and site family, APS prediction sets per head "
                                   "and conformal intervals of region and patient totals on a patient-level "
                                   "calibration split (the config's validation split, or calibration.sources). "
                                   "Half the calibration patients are held out to measure coverage. Writes "
                                   "<weights stem>.calibration.json beside the weights and, under "
                                   "out_dir/calibration/, predictions.csv and truth.csv for `sharpscore evaluate`.")
    p.add_argument("config", help="the training config of the model, e.g. configs/finetune-ra2.yaml")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. out_dir=runs/mine calibration.coverage=0.8")
    p.add_argument("--model", help="weights to calibrate (default: out_dir/best.pt)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..training.calibrate import calibrate_scorer
    from ..config import resolve_config
    from ..training import TrainConfig

    cfg = resolve_config(TrainConfig, args.config, args.overrides)
    s = calibrate_scorer(cfg, args.model)
    print(f"calibration written to {s['calibration']} (fitted on {s['fit_patients']} patients)")
    ev = s.get("eval")
    if ev:
        print(f"held-out {ev['patients']} patients: patient-total {s['coverage']:.0%} interval coverage "
              f"{ev['patient_total_interval_coverage']:.1%} (mean width {ev['patient_total_interval_mean_width']:.1f}), "
              f"region-total coverage {ev['region_total_interval_coverage']:.1%}")
        for head, m in ev.items():
            if isinstance(m, dict) and "ece_before" in m:  # the heads (not the per-source breakdowns)
                print(f"  {head}: ECE {m['ece_before']:.3f} -> {m['ece_after']:.3f}, prediction-set coverage "
                      f"{m['set_coverage']:.1%}, mean set size {m['mean_set_size']:.2f}")
        print(f"next: sharpscore evaluate --pred {s['predictions']} --truth {s['truth']} --out "
              f"{cfg.out_dir}/report")
    return 0
