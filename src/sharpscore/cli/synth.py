"""``sharpscore synth``: write a phantom cohort, or real films with disease drawn in, in the RA2-DREAM layout."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="write a synthetic phantom cohort (RA2-DREAM layout)",
                       description="Render phantom hand/foot radiographs with known SvdH grades: "
                                   "{id}-{LH|RH|LF|RF}.jpg, labelme landmarks and training.csv.")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. n=10 seed=3")
    p.add_argument("--config", help="YAML config (default: built-in defaults, as configs/synth.yaml)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", choices=["jpeg", "png", "dicom"], help="image format (overrides the config)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--real", metavar="FOLDER",
                   help="instead of phantoms: copies of the real films in FOLDER (labelme landmarks beside them "
                        "optional) with disease drawn in; overrides: copies, healthy_copies, seed, severity_shift")
    p.add_argument("--longitudinal", action="store_true",
                   help="instead: the same phantom patients at several visits (out/visit1, out/visit2, ...; damage "
                        "only grows); overrides: n, visits, seed, p_stable, mean_steps, months_between, format")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from ..config import resolve_config
    from ..synth.cohort import SynthConfig, generate_cohort

    if args.longitudinal:
        from ..synth.longitudinal import LongitudinalConfig, write_longitudinal_cohort

        overrides = list(args.overrides) + ([f"format={args.format}"] if args.format else [])
        cfg = resolve_config(LongitudinalConfig, args.config, overrides)
        start = time.perf_counter()
        write_longitudinal_cohort(cfg, args.out, progress=not args.quiet)
        print(f"wrote {cfg.n} patients at {cfg.visits} visits to {args.out}/visit1..visit{cfg.visits} in "
              f"{time.perf_counter() - start:.1f} s; true changes in {args.out}/changes.csv")
        return 0
    if args.real:
        from ..synth.real_cohort import RealCohortConfig, find_films, write_real_cohort

        cfg = resolve_config(RealCohortConfig, args.config, list(args.overrides))
        films = find_films(args.real)
        start = time.perf_counter()
        csv_path = write_real_cohort(films, args.out, cfg, progress=not args.quiet)
        print(f"wrote {cfg.healthy_copies + cfg.copies} copies of each readable film of {len(films)} to {args.out} "
              f"in {time.perf_counter() - start:.1f} s; scores in {csv_path}")
        return 0
    overrides = list(args.overrides) + ([f"format={args.format}"] if args.format else [])
    cfg = resolve_config(SynthConfig, args.config, overrides)
    start = time.perf_counter()
    csv_path = generate_cohort(cfg, args.out, progress=not args.quiet)
    elapsed = time.perf_counter() - start
    n_images = cfg.n * len(cfg.regions)
    print(f"wrote {cfg.n} patients ({n_images} {cfg.format} images) to {args.out} in {elapsed:.1f} s; "
          f"scores in {csv_path}")
    return 0
