"""Geometry shared by localiser training and inference: affine resampling in physical units.

Every resampling is an affine map from output pixels to source pixels, applied with
``torch.nn.functional.grid_sample`` so that many crops of one image run as one batch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .. import schema
from ..spatial import as_spacing

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


def letterbox_matrix(src_hw: tuple[int, int], size: int, *, scale: float = 1.0, rotate_deg: float = 0.0,
                     shift: tuple[float, float] = (0.0, 0.0), flip: bool = False) -> np.ndarray:
    """3x3 matrix mapping output pixel (x, y, 1) of a ``size`` x ``size`` canvas to source pixels.

    With defaults the whole source fits the canvas, aspect preserved and centred; ``scale`` > 1
    zooms in, ``rotate_deg``/``shift`` (fraction of the canvas)/``flip`` augment."""
    h, w = src_hw
    fit = max(h, w) / size  # source pixels per output pixel
    s = fit / scale
    t = np.deg2rad(rotate_deg)
    c, si = np.cos(t), np.sin(t)
    fx = -1.0 if flip else 1.0
    half = size / 2.0
    # out -> centred out -> rotate/scale/flip -> source centre
    A = np.array([[fx * s * c, -s * si], [fx * s * si, s * c]])
    centre_src = np.array([w / 2.0, h / 2.0]) + np.array(shift) * size * fit
    m = np.eye(3)
    m[:2, :2] = A
    m[:2, 2] = centre_src - A @ np.array([half, half])
    return m


def crop_matrix(centre_px: tuple[float, float], size: int, src_mm_per_px: tuple[float, float], out_mm_per_px: float,
                *, rotate_deg: float = 0.0, scale: float = 1.0) -> np.ndarray:
    """Matrix mapping output pixels of a ``size`` crop at ``out_mm_per_px`` centred on ``centre_px``
    (source pixels) to source pixels."""
    sp = as_spacing(src_mm_per_px)
    t = np.deg2rad(rotate_deg)
    c, si = np.cos(t), np.sin(t)
    step = out_mm_per_px / scale
    A = np.array([[step / sp.col * c, -step / sp.col * si], [step / sp.row * si, step / sp.row * c]])
    half = (size - 1) / 2.0
    m = np.eye(3)
    m[:2, :2] = A
    m[:2, 2] = np.asarray(centre_px, float) - A @ np.array([half, half])
    return m


def warp(image: torch.Tensor, matrices: np.ndarray, size: int) -> torch.Tensor:
    """Resample ``image`` (H, W) or (1, H, W) through each 3x3 out->src matrix: (N, 1, size, size).
    Outside the source is 0 (air)."""
    img = image.reshape(1, 1, *image.shape[-2:]).float()
    h, w = img.shape[-2:]
    mats = torch.as_tensor(np.asarray(matrices, dtype=np.float64).reshape(-1, 3, 3))
    n = mats.shape[0]
    # normalised coords: x_n = (2 x + 1) / W - 1 (align_corners=False); build theta for grid in out space
    ys, xs = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                            indexing="ij")
    pts = torch.stack([xs.ravel(), ys.ravel(), torch.ones(size * size, dtype=torch.float64)])  # (3, P)
    src = mats @ pts  # (n, 3, P)
    gx = (2 * src[:, 0] + 1) / w - 1
    gy = (2 * src[:, 1] + 1) / h - 1
    grid = torch.stack([gx, gy], dim=-1).reshape(n, size, size, 2).float()
    return F.grid_sample(img.expand(n, -1, -1, -1), grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def warp_points(points_src: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Map source pixel points (N, 2) into the output frame of an out->src matrix."""
    inv = np.linalg.inv(matrix)
    pts = np.column_stack([np.asarray(points_src, float), np.ones(len(points_src))])
    return (pts @ inv.T)[:, :2]


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
