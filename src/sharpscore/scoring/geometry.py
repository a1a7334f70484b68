"""Scoring crops in physical units, oriented along the local bone axis, left mirrored to right.

Every crop is ``size`` x ``size`` pixels covering ``fov_mm`` (per site family) centred on the site's
landmark. Its vertical axis follows the bone (distal end at the top) as given by neighbouring
landmarks; crops of left hands and feet are mirrored so that every crop looks like a right one.
"""

from __future__ import annotations

import numpy as np

from ..spatial import SITE_AXES, as_spacing, bone_frame, distal_direction  # noqa: F401

__all__ = ["distal_direction", "site_crop_matrix", "SITE_AXES"]

# The bone axis of a site is owned by the spatial layer; re-exported here for the scorer's callers.
__all__ += ["bone_frame"]


def site_crop_matrix(centre_px: tuple[float, float], distal: np.ndarray, spacing_mm: tuple[float, float],
                     fov_mm: float, size: int, *, mirror: bool = False, rotate_deg: float = 0.0,
                     scale: float = 1.0, shift_mm: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """3x3 matrix mapping crop pixels (x, y, 1) to source pixels.

    The crop is centred on ``centre_px`` (shifted by ``shift_mm`` in the crop's own frame), covers
    ``fov_mm / scale`` millimetres, has ``distal`` pointing up (rotated by ``rotate_deg``), and is
    mirrored left-right when ``mirror`` is set."""
    d = np.asarray(distal, float)
    t = np.deg2rad(rotate_deg)
    c, s = np.cos(t), np.sin(t)
    d = np.array([c * d[0] - s * d[1], s * d[0] + c * d[1]])
    right = np.array([-d[1], d[0]])  # the crop's +x direction in mm space
    if mirror:
        right = -right
    down = -d  # the crop's +y direction
    step = fov_mm / scale / size  # mm per crop pixel
    sp = as_spacing(spacing_mm)
    to_px = np.diag([1.0 / sp.col, 1.0 / sp.row])
    half = (size - 1) / 2.0
    a = to_px @ np.column_stack([right * step, down * step])
    centre = np.asarray(centre_px, float) + to_px @ (right * shift_mm[0] + down * shift_mm[1])
    m = np.eye(3)
    m[:2, :2] = a
    m[:2, 2] = centre - a @ np.array([half, half])
    return m
