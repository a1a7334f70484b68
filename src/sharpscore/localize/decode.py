"""Sub-pixel landmark positions and confidences from heatmaps."""

from __future__ import annotations

import torch

__all__ = ["decode_heatmaps"]


def decode_heatmaps(heatmaps: torch.Tensor, window: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Peak of each (..., H, W) heatmap with a sub-pixel offset.

    The integer argmax is refined per axis by a quadratic fit to the log of the peak and its two
    neighbours (exact for Gaussian heatmaps); where a neighbour is not positive the centroid of
    the positive values in a ``(2 * window + 1)``-pixel square is used instead. Confidence is the
    peak value clipped to [0, 1] (targets are Gaussians of height 1).
    Returns ``xy`` (..., 2) in heatmap pixels and ``confidence`` (...).
    """
    *lead, h, w = heatmaps.shape
    flat = heatmaps.reshape(-1, h, w).float()
    n = flat.shape[0]
    peak, idx = flat.reshape(n, -1).max(dim=1)
    py, px = (idx // w), (idx % w)
    rows = torch.arange(n)

    def at(y, x):
        return flat[rows, y.clamp(0, h - 1), x.clamp(0, w - 1)]

    eps = 1e-6
    c = at(py, px).clamp(min=eps).log()
    offsets = []
    for dy, dx, pos, size in ((0, 1, px, w), (1, 0, py, h)):
        lo = at(py - dy, px - dx)
        hi = at(py + dy, px + dx)
        ok = (lo > eps) & (hi > eps) & (pos > 0) & (pos < size - 1)
        llo, lhi = lo.clamp(min=eps).log(), hi.clamp(min=eps).log()
        denom = llo - 2 * c + lhi
        off = torch.where(ok & (denom < -eps), 0.5 * (llo - lhi) / denom.clamp(max=-eps), torch.zeros_like(c))
        offsets.append(off.clamp(-1.0, 1.0))
    cx, cy = px.float() + offsets[0], py.float() + offsets[1]
    # Fallback: centroid of positive values around the peak.
    offs = torch.arange(-window, window + 1)
    yy = (py[:, None] + offs[None, :]).clamp(0, h - 1)
    xx = (px[:, None] + offs[None, :]).clamp(0, w - 1)
    patch = flat[rows[:, None, None], yy[:, :, None], xx[:, None, :]].clamp(min=0)
    total = patch.sum(dim=(1, 2)).clamp(min=1e-8)
    gy = (patch * yy[:, :, None].float()).sum(dim=(1, 2)) / total
    gx = (patch * xx[:, None, :].float()).sum(dim=(1, 2)) / total
    fit = (offsets[0] != 0) | (offsets[1] != 0)
    cx = torch.where(fit, cx, gx)
    cy = torch.where(fit, cy, gy)
    xy = torch.stack([cx, cy], dim=-1).reshape(*lead, 2)
    return xy, peak.clamp(0, 1).reshape(*lead)
