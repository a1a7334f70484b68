"""The ``sharpscore`` command line. Each subcommand lives in its own module with a ``register``
function; errors from :mod:`sharpscore.errors` become one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import SharpScoreError

__all__ = ["main", "build_parser"]

_COMMANDS = ("info", "synth", "demo", "score", "merge", "progress", "compare", "evaluate", "train", "calibrate", "locate", "models")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sharpscore",
        description="Sharp/van der Heijde scoring of RA hand and foot radiographs (research use).",
    )
    parser.add_argument("--version", action="version", version=f"sharpscore {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    import importlib

    for name in _COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # `key=value` overrides may follow options (`synth --out d n=3`); anything else is an error.
    stray = [a for a in extra if a.startswith("-") or "=" not in a or not hasattr(args, "overrides")]
    if stray:
        parser.error(f"unrecognized arguments: {' '.join(stray)}")
    if extra:
        args.overrides = list(args.overrides) + extra
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="sharpscore: %(levelname)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except SharpScoreError as exc:
        print(f"sharpscore: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("sharpscore: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: still one line unless --debug
        if args.debug:
            raise
        print(f"sharpscore: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
