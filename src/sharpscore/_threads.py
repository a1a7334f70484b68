"""How many CPU threads torch may use now: the cores this process may run on that other processes
are not already using.

On a machine where other work is running, torch's default (one thread per core) oversubscribes the
cores: its threads wait for each other at every operator while the scheduler shares the cores out,
and a film takes two to four times as long. Before each film, :func:`adapt_threads` counts the
runnable threads of the whole machine (``/proc/loadavg``, sampled a few times: an instantaneous
figure, unlike the load average) and gives torch the cores left over. ``Scorer(threads=n)``,
``sharpscore score --threads n`` or ``SHARPSCORE_NUM_THREADS`` fix the number (no adaptation); a
user's own ``torch.set_num_threads`` call before the first film is respected as the ceiling.

The thread count changes the last digits of a network's output (reductions round differently), so
runs that must be reproducible byte for byte hold it fixed (:func:`held_threads`): training,
calibration and cohort scoring (``sharpscore score``; ``--threads auto`` there adapts per film).
A multi-threaded image decoder (JPEG 2000, :mod:`sharpscore.io.j2k`) takes its count from
:func:`decode_threads`: the same fixed number, else the free cores (its output does not depend on it).
"""

from __future__ import annotations

import logging
import math
import os
import time
from contextlib import contextmanager

__all__ = ["available_cores", "cgroup_cpu_limit", "busy_cores", "adapt_threads", "fix_threads", "held_threads",
           "decode_threads"]

log = logging.getLogger(__name__)
_CEILING: int | None = None
_FIXED: int | None = None


def fix_threads(n: int | None) -> None:
    """Use exactly ``n`` torch threads from now on (``Scorer(threads=n)``, ``--threads``); None
    returns to adapting to the free cores."""
    global _FIXED
    if n is not None and n < 1:
        from .errors import InputError

        raise InputError(f"threads must be at least 1, not {n}")
    _FIXED = n


def available_cores() -> int:
    """Cores this process may use: its CPU affinity (all cores where that is unknown), capped by a
    container's CPU quota (:func:`cgroup_cpu_limit`; e.g. ``docker --cpus``, Kubernetes limits),
    which the affinity does not show."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        n = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    return max(1, min(n, quota)) if quota else n


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def _quota_cores(quota: float, period: float) -> int | None:
    return max(1, math.ceil(quota / period)) if quota > 0 and period > 0 else None


def cgroup_cpu_limit(root: str = "/sys/fs/cgroup", proc_cgroup: str = "/proc/self/cgroup") -> int | None:
    """Whole cores allowed by this process's cgroup CPU quota (v2 ``cpu.max``, v1
    ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), the tightest over the cgroup and its parents;
    None where there is no quota or it cannot be read."""
    text = _read(proc_cgroup)
    if text is None:
        return None
    limits = []
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # cgroup v2
            folders = [os.path.join(root, "unified"), root]
            files = [("cpu.max", None)]
        elif "cpu" in controllers.split(","):
            folders = [os.path.join(root, controllers), os.path.join(root, "cpu")]
            files = [("cpu.cfs_quota_us", "cpu.cfs_period_us")]
        else:
            continue
        for base in folders:
            rel = path.strip("/")
            while True:
                folder = os.path.join(base, rel) if rel else base
                for quota_file, period_file in files:
                    q = _read(os.path.join(folder, quota_file))
                    if q is None:
                        continue
                    if period_file is None:  # v2: "max 100000" or "200000 100000"
                        fields = q.split()
                        if len(fields) == 2 and fields[0] != "max":
                            limits.append(_quota_cores(float(fields[0]), float(fields[1])))
                    else:
                        per = _read(os.path.join(folder, period_file))
                        if per is not None and q.lstrip("-").isdigit() and per.isdigit():
                            limits.append(_quota_cores(float(q), float(per)))
                if not rel:
                    break
                rel = os.path.dirname(rel)
    found = [n for n in limits if n]
    return min(found) if found else None


def _own_running() -> int:
    """Runnable threads of this process (torch's pool may still be spinning after the last operator)."""
    n = 0
    try:
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/stat") as fh:
                    if fh.read().rsplit(")", 1)[1].split()[0] == "R":
                        n += 1
            except OSError:  # the thread ended meanwhile
                continue
    except OSError:
        return 1
    return max(n, 1)


def busy_cores(samples: int = 3, interval_s: float = 0.001) -> int | None:
    """Runnable threads of other processes right now (median of a few samples of
    ``/proc/loadavg``'s running count, less this process's runnable threads); None where unknown."""
    counts = []
    for i in range(samples):
        try:
            with open("/proc/loadavg") as fh:
                running = int(fh.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return None
        counts.append(max(0, running - _own_running()))
        if i + 1 < samples:
            time.sleep(interval_s)
    counts.sort()
    return counts[len(counts) // 2]


def decode_threads() -> int:
    """Threads an image decoder may use now (without importing torch): the fixed number when one is
    set (``Scorer(threads=n)``, ``--threads``, ``SHARPSCORE_NUM_THREADS``, a cohort run's share per
    worker), else the cores other processes leave free."""
    fixed = _FIXED or os.environ.get("SHARPSCORE_NUM_THREADS")
    if fixed:
        return max(1, int(fixed))
    busy = busy_cores()
    return available_cores() if busy is None else max(1, available_cores() - busy)


def adapt_threads() -> int:
    """Set torch's intra-op threads to the free cores (at least one) and return the number."""
    import torch

    global _CEILING
    fixed = _FIXED or os.environ.get("SHARPSCORE_NUM_THREADS")
    if fixed:
        n = max(1, int(fixed))
        if torch.get_num_threads() != n:
            torch.set_num_threads(n)
        return n
    if _CEILING is None:
        _CEILING = max(1, min(torch.get_num_threads(), available_cores()))
    busy = busy_cores()
    n = _CEILING if busy is None else max(1, min(_CEILING, available_cores() - busy))
    if torch.get_num_threads() != n:
        log.debug("torch threads %d -> %d (%s other runnable threads)", torch.get_num_threads(), n, busy)
        torch.set_num_threads(n)
    return n


@contextmanager
def held_threads(n: int | None = None):
    """Hold torch's thread count fixed for a block (``n``, else a fixed setting, else the ceiling
    :func:`adapt_threads` would use on an idle machine): training and cohort scoring, whose results
    must not depend on what else ran meanwhile (a reduction over another number of threads rounds
    differently in the last digits, and resumed runs must give byte-identical outputs)."""
    import torch

    global _FIXED
    before, fixed_before = torch.get_num_threads(), _FIXED
    env = os.environ.get("SHARPSCORE_NUM_THREADS")
    n = n or _FIXED or (max(1, int(env)) if env else None) or _CEILING or max(1, min(torch.get_num_threads(),
                                                                                       available_cores()))
    _FIXED = n
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        _FIXED = fixed_before
        torch.set_num_threads(before)
