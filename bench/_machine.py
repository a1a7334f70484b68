"""Describe the machine a benchmark ran on (stored next to every figure)."""

from __future__ import annotations

import os
import platform


def machine() -> dict[str, object]:
    info: dict[str, object] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                               "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info
