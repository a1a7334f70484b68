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
