"""Per-joint Grad-CAM (MONAI) maps: which part of each crop drove its score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._fsutil import atomic_write

__all__ = ["joint_gradcam", "draw_explanations"]


class _Severity(nn.Module):
    """One output per crop: the summed ordinal logits of the heads scored at that site (higher =
    more damage), so Grad-CAM shows what pushes the score up."""

    def __init__(self, net, sites: torch.Tensor, heads: list[list[str]]):
        super().__init__()
        self.net, self.sites, self.heads = net, sites, heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x, self.sites.to(x.device))
        rows = [sum(out[h][i].sum() for h in hs) for i, hs in enumerate(self.heads)]
        return torch.stack(rows)[:, None]


def joint_gradcam(net, crops: torch.Tensor, sites: torch.Tensor, heads: list[list[str]]) -> np.ndarray:
    """(N, S, S) Grad-CAM maps in [0, 1] of the last backbone stage for standardised ``crops``."""
    from monai.visualize import GradCAM

    model = _Severity(net, sites, heads)
    cam = GradCAM(nn_module=model, target_layers="net.backbone.layer4")
    was_training = net.training
    net.eval()
    with torch.enable_grad():
        maps = cam(x=crops.clone().requires_grad_(True), class_idx=0)
    net.train(was_training)
    return maps[:, 0].detach().cpu().numpy()


def draw_explanations(result, path: str | Path, cols: int = 6) -> Path:
    from matplotlib.figure import Figure

    if not result.explanations:
        from ..errors import InputError

        raise InputError("no explanations to draw: score with explain=True (sharpscore score --explain)")
    names = list(result.explanations)
    rows = int(np.ceil(len(names) / cols))
    fig = Figure(figsize=(cols * 1.9, rows * 2.1))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, name in zip(axes.ravel(), names):
        crop = result.crops[name]
        ax.imshow(crop, cmap="gray")
        ax.imshow(result.explanations[name], cmap="jet", alpha=0.35, vmin=0, vmax=1)
        j = result.joint(name)
        txt = " ".join(f"{m[0].upper()}{v:.1f}" for m, v in (("erosion", j.erosion), ("jsn", j.jsn)) if v is not None)
        ax.set_title(f"{name} {txt}", fontsize=7)
    fig.suptitle(f"{result.region} Grad-CAM (distal up, left mirrored to right) - research use only", fontsize=8)
    fig.tight_layout()
    out = atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110))
    return out
