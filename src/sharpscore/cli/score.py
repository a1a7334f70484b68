"""``sharpscore score PATH... --out DIR``: score a cohort of radiographs."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score radiographs (files or folders) into a results folder",
                       description="Localise and score every hand and foot radiograph under PATH (folders are "
                                   "searched recursively; DICOM is recognised by content). Writes one JSON per "
                                   "radiograph, scores.csv (one RA2-DREAM row per patient, for `sharpscore "
                                   "evaluate`) and errors.csv (files that could not be scored: a bad file never "
                                   "stops the run). Rerunning with the same --out skips finished files. "
                                   "Research use: a reader must review the scores.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="radiograph files or folders")
    p.add_argument("--out", required=True, help="results folder (created; existing results are kept and reused)")
    p.add_argument("--format", default="json,csv",
                   help="comma-separated outputs: json, csv, png (overlays), html (a report per patient in "
                        "DIR/reports/), sr (DICOM SR + overlay, needs sharpscore[dicom]); default json,csv")
    p.add_argument("--explain", action="store_true", help="also write per-joint attribution grids (occlusion sensitivity) to DIR/explain/")
    p.add_argument("--workers", type=int, default=1, help="decoding processes (default 1)")
    p.add_argument("--batch-size", type=int, default=8, help="radiographs per network batch (default 8)")
    p.add_argument("--model", default="default", help="scorer: shipped name, best.pt, or a folder of fold bundles")
    p.add_argument("--device", default=None, help="cpu (default) or cuda")
    p.add_argument("--tta", action="store_true", help="test-time augmentation: average 5 views of every joint")
    p.add_argument("--landmarks", metavar="FILE_OR_DIR",
                   help="a reader's landmarks: a labelme file (one film) or a folder of <name>.json files, as "
                        "`sharpscore locate --labelme` writes them; those films are (re)scored at them")
    p.add_argument("--threads", default=None,
                   help="torch threads, held for the run so that outputs are byte-identical run to run (default: "
                        "the machine's cores); 'auto': each film gets the cores other processes leave free "
                        "(faster on a busy machine; last digits may differ between runs)")
    p.add_argument("--keep-identifiers", action="store_true",
                   help="write DICOM PatientID/StudyInstanceUID as they are (default: a salted pseudonym, anon-...)")
    p.add_argument("--salt", default=None,
                   help="salt of the pseudonyms (default: $SHARPSCORE_SALT, else a random one kept in "
                        "OUT/.pseudonym-salt; keep it private)")
    p.add_argument("--shard", metavar="RANK/WORLD", default=None,
                   help="score only shard RANK of WORLD (files RANK, RANK+WORLD, ... of the sorted inputs) into the "
                        "shared --out, e.g. a SLURM array's $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT; then "
                        "`sharpscore merge OUT` writes scores.csv and errors.csv. Under torchrun the shard is the "
                        "rank's, and rank 0 merges when every rank is done")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..api.batch import score_cohort
    from ..api.shards import merge_under_torchrun, parse_shard, shard_from_env
    from ..errors import InputError

    if args.workers < 1 or args.batch_size < 1:
        raise InputError("--workers and --batch-size must be at least 1")
    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    threads = args.threads
    if threads is not None and threads != "auto":
        try:
            threads = int(threads)
        except ValueError:
            raise InputError(f"--threads must be a number or 'auto', not {threads!r}") from None
    shard = parse_shard(args.shard) if args.shard else shard_from_env()
    s = score_cohort(args.paths, args.out, formats=formats, explain=args.explain, workers=args.workers,
                     batch_size=args.batch_size, progress=not args.quiet, model=args.model, device=args.device,
                     tta=args.tta, landmarks=args.landmarks, keep_identifiers=args.keep_identifiers,
                     salt=args.salt, threads=threads, shard=shard)
    where = f"shard {shard.rank}/{shard.world}: " if shard else ""
    msg = (f"{where}scored {s.scored} radiographs in {s.seconds:.1f} s ({s.files_per_second:.2f} files/s)"
           + (f", {s.skipped} already done" if s.skipped else ""))
    if shard is None:
        msg += f"; {s.patients} patients in {s.out}/scores.csv"
    print(msg)
    if s.failed:
        print(f"{where}{s.failed} files could not be scored" + ("" if shard else f": see {s.out}/errors.csv"))
    if shard is not None and args.shard is None:  # torchrun: rank 0 merges once every rank is done
        merge_under_torchrun(s.out, shard)
        if shard.rank == 0:
            print(f"merged {shard.world} ranks into {s.out}/scores.csv and {s.out}/errors.csv")
    elif shard is not None:
        print(f"when every shard is done: sharpscore merge {s.out}")
    print("research use only: review flagged results (needs_review) before use")
    if s.failed and not s.scored and not s.skipped:
        print(f"sharpscore: error: none of the {s.failed} files could be scored", file=sys.stderr)
        return 2
    return 0
