"""Atomic file writes: a killed process never leaves a half-written output behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write", "remove_stale_temporaries", "die_with_parent"]


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place."""
    from .errors import OutputError

    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({exc.strerror or type(exc).__name__})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs honour the umask like open() does
        os.replace(tmp_path, path)
    except OSError as exc:  # a full disk, a folder in the way, permissions changed meanwhile
        tmp_path.unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot be written ({exc.strerror or type(exc).__name__})") from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))




def remove_stale_temporaries(folder: str | Path) -> int:
    """Delete the temporary files :func:`atomic_write` leaves when a process is killed mid-write
    (``.<name>.<random>.tmp<suffix>``) anywhere under ``folder``; returns how many. Only names of
    that exact pattern are touched, never a file a user made."""
    import re

    pattern = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$")
    n = 0
    root = Path(folder)
    if not root.is_dir():
        return 0
    for f in root.rglob(".*.tmp*"):
        if f.is_file() and pattern.match(f.name):
            f.unlink(missing_ok=True)
            n += 1
    return n


def die_with_parent() -> None:
    """In a worker process: ask Linux to kill it when its parent dies (a ``kill -9`` of the main
    process then leaves no orphaned decoder behind). A no-op elsewhere."""
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # no libc by that name: keep the default behaviour
        pass
