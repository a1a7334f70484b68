"""The localiser network: coarse heatmaps of the whole film and fine heatmaps of millimetre crops."""

from __future__ import annotations

import torch
from monai.networks.nets import BasicUNet
from torch import nn

from ..config import ConfigModel
from .geometry import CHANNELS

__all__ = ["LocalizerSpec", "LocalizerNet"]


class LocalizerSpec(ConfigModel):
    """Architecture and geometry of a localiser (stored in every bundle)."""

    coarse_size: int = 192  # letterboxed whole-image input (about 1.3 mm/px for a hand)
    fine_size: int = 64  # refinement crop, pixels
    fine_mm_per_px: float = 0.25  # refinement crop resolution
    # Wider refinement crop for the wrist sites (same network, same resolution): the scaphoid is
    # longer than a 16 mm crop and the radius site lies inside the bone, so their positions need
    # context. None: wrist sites use ``fine_size`` too (older bundles).
    wrist_fine_size: int | None = None
    coarse_features: tuple[int, int, int, int, int, int] = (16, 16, 32, 64, 128, 32)
    fine_features: tuple[int, int, int, int, int, int] = (8, 16, 32, 64, 96, 16)
    coarse_sigma_px: float = 3.0
    fine_sigma_px: float = 1.6
    cache_mm_per_px: float = 0.25  # training cache resolution


class LocalizerNet(nn.Module):
    """``coarse(x)``: (B, 1, S, S) -> (B, C, S, S) heatmaps; ``fine(x)``: (N, 1, s, s) -> (N, C, s, s).

    The region (hand, foot or other) is read from the coarse heatmaps, which are trained to stay
    silent on films that are not hands or feet; left or right from the digit geometry."""

    def __init__(self, spec: LocalizerSpec | None = None):
        super().__init__()
        self.spec = spec or LocalizerSpec()
        n = len(CHANNELS)
        self.coarse_net = BasicUNet(spatial_dims=2, in_channels=1, out_channels=n, features=self.spec.coarse_features)
        self.fine_net = BasicUNet(spatial_dims=2, in_channels=1, out_channels=n, features=self.spec.fine_features)

    def forward(self, coarse: torch.Tensor, fine: torch.Tensor, wrist: torch.Tensor | None = None):
        """Both stages in one call (what training and DistributedDataParallel use); ``wrist``: the
        wider wrist crops, refined by the same fine network (a third output when given)."""
        if wrist is None:
            return self.coarse_net(coarse), self.fine_net(fine)
        return self.coarse_net(coarse), self.fine_net(fine), self.fine_net(wrist)

    def clip_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameter groups whose gradients are clipped separately: one head's large gradients
        must not shrink another's (the training engine uses this when present)."""
        return {"coarse": list(self.coarse_net.parameters()), "fine": list(self.fine_net.parameters())}

    def coarse(self, x: torch.Tensor) -> torch.Tensor:
        return self.coarse_net(x)

    def fine(self, x: torch.Tensor) -> torch.Tensor:
        return self.fine_net(x)

