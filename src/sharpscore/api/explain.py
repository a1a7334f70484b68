"""Per-joint attribution maps: which part of each crop drove its score.

Two methods, both MONAI's (:mod:`monai.visualize`), on the same severity output (the summed ordinal
logits of the site's heads; higher = more damage):

- ``"occlusion"`` (the default): occlusion sensitivity. A 16 px patch of the crop is blurred out
  at every position (stride 8 px); the map is the severity lost when that part is hidden, signed
  (positive: the part raised the score; negative: it lowered it) and divided by the largest
  absolute value, so 0 means "no effect" on every map.
- ``"gradcam"``: Grad-CAM of the last backbone stage (a 6 x 6 grid upsampled; ReLU, scaled to
  [0, 1] per map). Nearly uniform on these small crops, so it does not point at lesions
  (bench/results/explain.json: pointing game).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .._fsutil import atomic_write

__all__ = ["joint_gradcam", "joint_occlusion", "explain_joints", "check_method", "METHODS", "draw_explanations"]

METHODS = ("occlusion", "gradcam")


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


class _SeverityOne(nn.Module):
    """The severity of one site for a batch of (occluded) copies of its crop."""

    def __init__(self, net, site: int, heads: list[str]):
        super().__init__()
        self.net, self.site, self.heads = net, site, heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x, torch.full((x.shape[0],), self.site, dtype=torch.long, device=x.device))
        return sum(out[h].sum(1) for h in self.heads)[:, None]


def joint_occlusion(net, crops: torch.Tensor, sites: torch.Tensor, heads: list[list[str]], *,
                    mask_px: int = 16, overlap: float = 0.5) -> np.ndarray:
    """(N, S, S) signed occlusion-sensitivity maps in [-1, 1] for standardised ``crops``: the
    severity lost when each part is hidden (positive: that part raised the score)."""
    from monai.visualize import OcclusionSensitivity

    was_training = net.training
    net.eval()
    maps = []
    with torch.inference_mode():
        for i in range(len(crops)):
            # eval: MONAI runs the module in its own train/eval mode, and a new module is in train
            # mode (batch-norm statistics would be used and overwritten)
            one = _SeverityOne(net, int(sites[i]), heads[i]).eval()
            base = float(one(crops[i:i + 1])[0, 0])
            occ = OcclusionSensitivity(one, mask_size=mask_px, n_batch=64, verbose=False, mode="gaussian",
                                       overlap=overlap, activate=False)
            with warnings.catch_warnings():  # MONAI's own deprecation notices, nothing the user can act on
                warnings.simplefilter("ignore")
                sens, _ = occ(crops[i:i + 1])
            size = crops.shape[-1]
            m = base - sens.float().cpu().numpy().reshape(-1, size, size)[0]
            peak = float(np.abs(m).max())
            maps.append(m / peak if peak > 1e-9 else m)
    net.train(was_training)
    return np.stack(maps)


def check_method(method: str) -> str:
    """``method`` when it is one of :data:`METHODS`; a one-line InputError otherwise."""
    if method not in METHODS:
        from ..errors import InputError

        raise InputError(f"unknown explanation method {method!r}; choose one of {', '.join(METHODS)}")
    return method


def explain_joints(net, crops: torch.Tensor, sites: torch.Tensor, heads: list[list[str]],
                   method: str = "occlusion") -> np.ndarray:
    """Attribution maps (N, S, S) by ``method`` (:data:`METHODS`)."""
    explain = joint_occlusion if check_method(method) == "occlusion" else joint_gradcam
    return explain(net, crops, sites, heads)


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
        m = result.explanations[name]
        if float(m.min()) < 0:  # signed (occlusion): red raises the score, blue lowers it, white neither
            ax.imshow(m, cmap="RdBu_r", alpha=0.45, vmin=-1, vmax=1)
        else:
            ax.imshow(m, cmap="jet", alpha=0.35, vmin=0, vmax=1)
        j = result.joint(name)
        txt = " ".join(f"{m[0].upper()}{v:.1f}" for m, v in (("erosion", j.erosion), ("jsn", j.jsn)) if v is not None)
        ax.set_title(f"{name} {txt}", fontsize=7)
    method = getattr(result, "explanation_method", None) or "attribution"
    key = "red raises the score, blue lowers it" if method == "occlusion" else "Grad-CAM, [0, 1]"
    fig.suptitle(f"{result.region} {method} ({key}; distal up, left mirrored to right) - research use only",
                 fontsize=8)
    fig.tight_layout()
    out = atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110))
    return out
