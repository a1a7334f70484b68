"""Threads follow the free cores: a busy machine gets fewer torch threads, never zero."""

import subprocess
import sys
import time

import pytest
import torch

from sharpscore import _threads


def test_fixed_by_environment(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv("SHARPSCORE_NUM_THREADS", "1")
    try:
        assert _threads.adapt_threads() == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux")
def test_another_process_spinning_is_counted_and_threads_stay_positive(monkeypatch):
    monkeypatch.delenv("SHARPSCORE_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert _threads.busy_cores(samples=7) >= 1
        n = _threads.adapt_threads()
        assert 1 <= n <= max(1, _threads.available_cores() - 1)
    finally:
        spinner.kill()
        spinner.wait()
        torch.set_num_threads(before)


def test_fixed_by_api_and_refused_below_one():
    from sharpscore.errors import InputError

    before = torch.get_num_threads()
    try:
        _threads.fix_threads(1)
        assert _threads.adapt_threads() == 1
        with pytest.raises(InputError):
            _threads.fix_threads(0)
    finally:
        _threads.fix_threads(None)
        torch.set_num_threads(before)


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_container_cpu_quota_caps_the_cores(tmp_path, monkeypatch):
    """A container limited to fewer cores than it can see (docker --cpus, Kubernetes limits): the
    quota, not the affinity, sets how many threads may run; the tightest over the cgroup's parents."""
    from sharpscore import _threads

    proc = tmp_path / "cgroup"
    # cgroup v2: a job's own 1.5 cores (-> 2 whole cores) under a parent limited to 1
    _write(proc, "0::/user.slice/job\n")
    _write(tmp_path / "fs" / "user.slice" / "job" / "cpu.max", "150000 100000\n")
    assert _threads.cgroup_cpu_limit(str(tmp_path / "fs"), str(proc)) == 2
    _write(tmp_path / "fs" / "user.slice" / "cpu.max", "100000 100000\n")
    assert _threads.cgroup_cpu_limit(str(tmp_path / "fs"), str(proc)) == 1
    _write(tmp_path / "fs" / "user.slice" / "cpu.max", "max 100000\n")
    _write(tmp_path / "fs" / "user.slice" / "job" / "cpu.max", "max 100000\n")
    assert _threads.cgroup_cpu_limit(str(tmp_path / "fs"), str(proc)) is None  # no quota
    # cgroup v1: cpu,cpuacct controller, quota 3 cores; -1 means none
    _write(proc, "4:memory:/x\n3:cpu,cpuacct:/docker/abc\n")
    v1 = tmp_path / "v1" / "cpu,cpuacct" / "docker" / "abc"
    _write(v1 / "cpu.cfs_quota_us", "300000\n")
    _write(v1 / "cpu.cfs_period_us", "100000\n")
    assert _threads.cgroup_cpu_limit(str(tmp_path / "v1"), str(proc)) == 3
    _write(v1 / "cpu.cfs_quota_us", "-1\n")
    assert _threads.cgroup_cpu_limit(str(tmp_path / "v1"), str(proc)) is None
    assert _threads.cgroup_cpu_limit(str(tmp_path / "v1"), str(tmp_path / "absent")) is None
    # the cap reaches the thread budget
    monkeypatch.setattr(_threads, "cgroup_cpu_limit", lambda: 1)
    assert _threads.available_cores() == 1
