"""Intensity helpers shared by the format readers: everything ends as float32 in [0, 1]."""

from __future__ import annotations

import numpy as np

__all__ = ["to_unit_range", "integer_full_scale"]


def integer_full_scale(arr: np.ndarray) -> float:
    """Full-scale value of an integer image: 255 for 8-bit data, else 2**bits - 1 for the smallest
    bit depth (>= 10) that holds the data, so a 12-bit image in a 16-bit container keeps its
    contrast instead of looking nearly black."""
    if arr.dtype == np.uint8:
        return 255.0
    top = int(arr.max()) if arr.size else 0
    bits = max(10, int(top).bit_length())
    return float(2**bits - 1)


def to_unit_range(arr: np.ndarray, *, low: float | None = None, high: float | None = None) -> np.ndarray:
    """Map ``arr`` linearly so ``low`` -> 0 and ``high`` -> 1 (defaults: its min and max), clip,
    and return a C-contiguous float32 array. A constant image maps to zeros."""
    out = np.asarray(arr, dtype=np.float32)
    lo = float(out.min()) if low is None else float(low)
    hi = float(out.max()) if high is None else float(high)
    if hi <= lo:
        return np.zeros(out.shape, dtype=np.float32)
    out = (out - np.float32(lo)) * np.float32(1.0 / (hi - lo))
    np.clip(out, 0.0, 1.0, out=out)
    return np.ascontiguousarray(out)
