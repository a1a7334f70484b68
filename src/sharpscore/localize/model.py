"""The localiser network: coarse heatmaps, fine (crop) heatmaps and a region head, in one module."""

from __future__ import annotations

import torch
from monai.networks.nets import BasicUNet, Classifier
from torch import nn

from ..config import ConfigModel
from .geometry import CHANNELS

__all__ = ["LocalizerSpec", "LocalizerNet", "REGION_CLASSES"]

REGION_CLASSES = ("LH", "RH", "LF", "RF", "other")


class LocalizerSpec(ConfigModel):
    """Architecture and geometry of a localiser (stored in every bundle)."""

    coarse_size: int = 192  # letterboxed whole-image input (about 1.3 mm/px for a hand)
    fine_size: int = 64  # refinement crop, pixels
    fine_mm_per_px: float = 0.25  # refinement crop resolution
    region_size: int = 128  # region-head input
    coarse_features: tuple[int, int, int, int, int, int] = (16, 16, 32, 64, 128, 32)
    fine_features: tuple[int, int, int, int, int, int] = (8, 16, 32, 64, 96, 16)
    region_channels: tuple[int, ...] = (16, 32, 64, 128, 128)
    coarse_sigma_px: float = 3.0
    fine_sigma_px: float = 1.6
    cache_mm_per_px: float = 0.25  # training cache resolution


class LocalizerNet(nn.Module):
    """``coarse(x)``: (B, 1, S, S) -> (B, C, S, S) heatmaps; ``fine(x)``: (N, 1, s, s) -> (N, C, s, s);
    ``region(x)``: (B, 1, R, R) -> (B, 5) logits over LH, RH, LF, RF, other."""

    def __init__(self, spec: LocalizerSpec | None = None):
        super().__init__()
        self.spec = spec or LocalizerSpec()
        n = len(CHANNELS)
        self.coarse_net = BasicUNet(spatial_dims=2, in_channels=1, out_channels=n, features=self.spec.coarse_features)
        self.fine_net = BasicUNet(spatial_dims=2, in_channels=1, out_channels=n, features=self.spec.fine_features)
        r = self.spec.region_size
        self.region_net = Classifier(in_shape=(1, r, r), classes=len(REGION_CLASSES),
                                     channels=self.spec.region_channels, strides=(2,) * len(self.spec.region_channels))

    def forward(self, coarse: torch.Tensor, fine: torch.Tensor, region: torch.Tensor):
        """All three heads in one call (what training and DistributedDataParallel use)."""
        return self.coarse_net(coarse), self.fine_net(fine), self.region_net(region)

    def coarse(self, x: torch.Tensor) -> torch.Tensor:
        return self.coarse_net(x)

    def fine(self, x: torch.Tensor) -> torch.Tensor:
        return self.fine_net(x)

    def region(self, x: torch.Tensor) -> torch.Tensor:
        return self.region_net(x)
