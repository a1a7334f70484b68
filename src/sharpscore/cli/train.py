"""``sharpscore train CONFIG.yaml [key=value ...]``: run the shared training engine."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a model from a YAML config",
                       description="Train a localiser or scorer. The resolved config, library versions, a "
                                   "checkpoint per epoch (resume=true continues), best.pt and metrics.csv go to out_dir.")
    p.add_argument("config", help="training config, e.g. configs/localizer.yaml")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. epochs=2 out_dir=runs/try resume=true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..training import train

    result = train(args.config, args.overrides)
    best = result["best_metric"]
    shown = f"{best:.4g}" if isinstance(best, float) else "n/a"
    print(f"trained {result['epochs_run']} epochs; best {result['monitor']} {shown} at epoch {result['best_epoch']}; "
          f"weights {result['best_path']}")
    return 0
