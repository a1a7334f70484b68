"""Localiser geometry: heatmap channels and pixel spacing from anatomy (the resampling kernels live
in :mod:`sharpscore.resample` and are re-exported here)."""

from __future__ import annotations

import numpy as np

from .. import schema
from ..resample import crop_matrix, letterbox_matrix, warp, warp_points

__all__ = ["letterbox_matrix", "crop_matrix", "warp", "warp_points", "estimate_spacing", "CHANNELS",
           "channel_index", "kind_channels"]

# Heatmap channels: every hand landmark, then every foot landmark.
CHANNELS: tuple[tuple[str, str], ...] = tuple(("hand", n) for n in schema.HAND_LANDMARKS) + \
    tuple(("foot", n) for n in schema.FOOT_LANDMARKS)
_INDEX = {c: i for i, c in enumerate(CHANNELS)}


def channel_index(kind: str, name: str) -> int:
    return _INDEX[(kind, name)]


def kind_channels(kind: str) -> list[int]:
    return [i for i, (k, _) in enumerate(CHANNELS) if k == kind]


# Typical adult distances (mm) between landmark pairs, from the shipped shape models' mean shapes.
def _reference_pairs() -> dict[str, list[tuple[str, str, float]]]:
    from ..shape_model import load_shape_model

    pairs = {}
    for kind, names in (("hand", [("mcp2", "pip2"), ("mcp3", "pip3"), ("mcp4", "pip4"), ("mcp5", "pip5"),
                                  ("mcp2", "mcp5"), ("mcp1", "ip")]),
                        ("foot", [("mtp1", "mtp5"), ("mtp1", "ip"), ("mtp2", "mtp5")])):
        model = load_shape_model(kind)
        idx = {n: i for i, n in enumerate(model.names)}
        pairs[kind] = [(a, b, float(np.linalg.norm(model.mean[idx[a]] - model.mean[idx[b]]))) for a, b in names]
    return pairs


_PAIRS: dict[str, list[tuple[str, str, float]]] | None = None


def estimate_spacing(landmarks_px: dict[str, tuple[float, ...]], kind: str) -> float | None:
    """Pixel size (mm) from anatomy: the median ratio of typical adult joint-to-joint distances to the
    measured pixel distances (about +-10% for an individual adult)."""
    global _PAIRS
    if _PAIRS is None:
        _PAIRS = _reference_pairs()
    ratios = []
    for a, b, mm in _PAIRS[kind]:
        if a in landmarks_px and b in landmarks_px:
            d = float(np.hypot(landmarks_px[a][0] - landmarks_px[b][0], landmarks_px[a][1] - landmarks_px[b][1]))
            if d > 1:
                ratios.append(mm / d)
    return float(np.median(ratios)) if ratios else None
