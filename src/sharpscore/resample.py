"""Image resampling in physical units: the affine kernels every stage shares.

Every resampling is an affine map from output pixels to source pixels (3x3, ``out -> src``), applied
with ``torch.nn.functional.grid_sample`` so that many crops of one image run as one batch. A leaf
module (numpy, torch and :mod:`sharpscore.spatial`): the localiser, the scorer and the training
cache all resample through it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .spatial import as_spacing

__all__ = ["letterbox_matrix", "crop_matrix", "warp", "warp_points", "shrink", "scale_matrix", "ImagePyramid"]


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


def shrink(img: torch.Tensor, factor: float) -> torch.Tensor:
    """Antialiased downscale of an (H, W) image by ``factor`` (>= 1); returns (H', W')."""
    if factor <= 1.0:
        return img
    h, w = img.shape[-2:]
    size = (max(1, int(round(h / factor))), max(1, int(round(w / factor))))
    return F.interpolate(img.reshape(1, 1, h, w), size=size, mode="bilinear", antialias=True,
                         align_corners=False)[0, 0]


class ImagePyramid:
    """One image and its antialiased downscales (:func:`shrink`), each made once.

    A level is made from the finest level already made rather than from the full image again, so
    a call that asks for its finest level first reads the full-resolution image once (the
    localiser's coarse and fine views and the scorer's crops of one film all come from it).
    ``full_resamples`` counts the reads. Levels are keyed by their factor; ``scale_matrix`` of
    ``full.shape / level.shape`` maps a level's pixels back to the original's."""

    def __init__(self, pixels: np.ndarray | torch.Tensor):
        if isinstance(pixels, torch.Tensor):
            self.full = pixels.float()
        else:
            arr = np.ascontiguousarray(pixels, dtype=np.float32)
            if any(st < 0 for st in arr.strides):  # a flipped view numpy still calls contiguous (a size-1 axis)
                arr = arr.copy()
            self.full = torch.from_numpy(arr)
        self._levels: dict[float, torch.Tensor] = {}
        self.full_resamples = 0

    def shrunk(self, factor: float) -> torch.Tensor:
        """The image downscaled by ``factor`` (>= 1; 1 or less: the full image)."""
        if factor <= 1.0:
            return self.full
        key = round(float(factor), 6)
        level = self._levels.get(key)
        if level is None:
            base_factor, base = max(((f, t) for f, t in self._levels.items() if f < key),
                                    default=(1.0, self.full), key=lambda ft: ft[0])
            if base is self.full:
                self.full_resamples += 1
            level = self._levels[key] = shrink(base, key / base_factor)
        return level


def scale_matrix(factor_x: float, factor_y: float) -> np.ndarray:
    """Pixel (x, y) of a shrunk image -> pixel of the original (pixel-centre convention)."""
    m = np.eye(3)
    m[0, 0], m[1, 1] = factor_x, factor_y
    m[0, 2], m[1, 2] = 0.5 * factor_x - 0.5, 0.5 * factor_y - 0.5
    return m
