"""``sharpscore merge OUT``: scores.csv and errors.csv of a cohort scored in shards."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="merge the shards of `sharpscore score --shard` into scores.csv and errors.csv",
                       description="Check that every shard of a sharded `sharpscore score` run in OUT is done over "
                                   "the same inputs and options, then write OUT/scores.csv and OUT/errors.csv "
                                   "(and the HTML reports when they were asked for), identical to a single-process "
                                   "run's. Safe to rerun.")
    p.add_argument("out", metavar="OUT", help="the results folder the shards wrote into")
    p.add_argument("--model", default=None,
                   help="scorer whose intervals fill scores.csv (default: the one the shards used)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api.shards import merge_shards

    scorer = None
    if args.model:
        from ..api.scorer import Scorer

        scorer = Scorer(args.model)
    s = merge_shards(args.out, scorer=scorer)
    print(f"merged: {s.patients} patients in {s.out}/scores.csv; {s.failed} files in {s.out}/errors.csv")
    return 0
