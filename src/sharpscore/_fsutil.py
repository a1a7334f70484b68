"""Atomic file writes: a killed process never leaves a half-written output behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write", "create_once", "remove_stale_temporaries", "die_with_parent"]


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place."""
    from .errors import OutputError

    path = Path(path)
    tmp_path = _temporary(path)
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


def _temporary(path: Path) -> Path:
    """A new empty file beside ``path``, named as :func:`remove_stale_temporaries` recognises."""
    from .errors import OutputError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_host()}-{os.getpid()}.", suffix=".tmp" + path.suffix,
                                   dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot be written ({exc.strerror or type(exc).__name__})") from None
    os.close(fd)
    return Path(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _host() -> str:
    """This machine's name as a temporary's name carries it (with the writer's pid)."""
    import re
    import socket

    return re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def create_once(path: str | Path, text: str) -> str:
    """Write ``text`` to ``path`` unless it exists; either way return what ``path`` holds. Safe when
    several processes race (the first to finish wins; a hard link never overwrites)."""
    path = Path(path)
    if not path.exists():
        tmp = _temporary(path)
        try:
            tmp.write_text(text, encoding="utf-8")
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError:  # a filesystem without hard links: a rename (the last of racing writers wins)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8")


def remove_stale_temporaries(folder: str | Path, live_for_s: float = 3600.0) -> int:
    """Delete the temporary files :func:`atomic_write` leaves when a process is killed mid-write
    (``.<name>.<host>-<pid>.<random>.tmp<suffix>``) anywhere under ``folder``; returns how many.
    Only names of that exact pattern are touched, never a file a user made, and never one that a
    live process is writing: another rank of a sharded run may share the folder (a writer on this
    host is live while its pid runs; one on another host for ``live_for_s`` seconds)."""
    import re
    import time

    pattern = re.compile(r"^\..+?(?:\.(?P<host>[A-Za-z0-9]+)-(?P<pid>\d+))?\.[A-Za-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$")
    here = _host()
    n = 0
    root = Path(folder)
    if not root.is_dir():
        return 0
    for f in root.rglob(".*.tmp*"):
        m = pattern.match(f.name)
        if not (f.is_file() and m):
            continue
        if m["pid"] is not None:
            try:
                young = time.time() - f.stat().st_mtime < live_for_s
            except OSError:  # finished meanwhile
                continue
            if young and (m["host"] != here or _alive(int(m["pid"]))):
                continue
        f.unlink(missing_ok=True)
        n += 1
    return n


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process writes nothing while it cleans up
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


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
