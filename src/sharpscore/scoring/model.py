"""The joint scorer: one network for every site (a MONAI ResNet, a site embedding, ordinal heads)."""

from __future__ import annotations

from typing import Literal

import torch
from monai.networks.nets import ResNet
from pydantic import Field
from torch import nn

from .. import schema
from ..config import ConfigModel

__all__ = ["ScorerSpec", "ScorerNet", "SitePooling", "SITE_LIST", "site_index", "HEADS", "head_for"]

# Every scoring site of a hand, then of a foot: the rows of the site embedding.
SITE_LIST: tuple[tuple[str, str], ...] = tuple(("hand", s.name) for s in schema.HAND_SITES) + \
    tuple(("foot", s.name) for s in schema.FOOT_SITES)
_SITE_INDEX = {k: i for i, k in enumerate(SITE_LIST)}

# Ordinal heads and their number of grades: erosion 0-5 per hand site, 0-10 per foot site
# (the SvdH foot score adds both sides of the joint), JSN 0-4 everywhere it is scored.
HEADS: dict[str, int] = {"erosion_hand": 6, "erosion_foot": 11, "jsn": 5}


def site_index(kind: str, site: str) -> int:
    return _SITE_INDEX[(kind, site)]


def head_for(kind: str, measure: str) -> str:
    return f"erosion_{kind}" if measure == "erosion" else "jsn"


class ScorerSpec(ConfigModel):
    """Architecture and preprocessing of a scorer (saved with its weights)."""

    size: int = Field(96, ge=32)  # crop side in pixels
    fov_mm: dict[str, float] = {"finger": 19.2, "wrist": 28.8, "foot": 24.0}  # crop side per site family
    context_scale: float | None = Field(None, gt=1)  # second channel: the same site at this many times the FOV
    cache_mm_per_px: float = 0.15  # training images are held at about this spacing
    backbone: Literal["resnet"] = "resnet"
    layers: tuple[int, int, int, int] = (1, 1, 1, 1)
    widths: tuple[int, int, int, int] = (32, 64, 128, 256)
    stem_stride: int = 2
    site_embedding: int = Field(16, ge=1)
    hidden: int = Field(128, ge=8)
    dropout: float = Field(0.1, ge=0, lt=1)
    # How the backbone's last feature map becomes one vector. 'mean': global average pooling (every
    # position counts alike). 'site': a learned spatial weighting per site (SitePooling): wrist crops
    # hold neighbouring sites' bones and lesions, which a site's grade must not be read from.
    pooling: Literal["mean", "site"] = "mean"

    @property
    def in_channels(self) -> int:
        return 2 if self.context_scale else 1


class SitePooling(nn.Module):
    """Average of a feature map (N, C, H, W) under a learned spatial weighting per site.

    ``softmax(gain * logits[site])`` over the map's positions; ``logits`` start as a broad centred
    Gaussian (``sigma`` of the map's side), so a site starts read mostly from its centre and learns
    from the data where its own structure lies. ``gain`` lets the weighting learn at the rate of the
    rest of the network (a logit of this module moves ``gain`` times faster). A map whose size is not
    ``grid`` (another crop size) gets the weighting resampled to it."""

    def __init__(self, n_sites: int, grid: int, sigma: float = 0.35, gain: float = 20.0):
        super().__init__()
        self.gain = gain
        c = torch.arange(grid, dtype=torch.float32) - (grid - 1) / 2
        r2 = c[:, None] ** 2 + c[None, :] ** 2
        prior = -r2 / (2 * (sigma * grid) ** 2) / gain
        self.logits = nn.Parameter(prior.expand(n_sites, grid, grid).clone())

    def weights(self, site: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """(N, H, W) weights summing to 1 per item."""
        w = self.logits[site] * self.gain
        if tuple(w.shape[-2:]) != tuple(size):
            w = nn.functional.interpolate(w[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
        return torch.softmax(w.flatten(1), 1).view(w.shape[0], *size)

    def forward(self, fmap: torch.Tensor, site: torch.Tensor) -> torch.Tensor:
        w = self.weights(site, fmap.shape[-2:]).to(fmap.dtype)
        return torch.einsum("nchw,nhw->nc", fmap, w)


class ScorerNet(nn.Module):
    """``forward(crops (N, C, S, S), site (N,)) -> {head: (N, grades - 1) CORN logits}``."""

    def __init__(self, spec: ScorerSpec | None = None):
        super().__init__()
        self.spec = spec = spec or ScorerSpec()
        self.backbone = ResNet("basic", list(spec.layers), list(spec.widths), spatial_dims=2,
                               n_input_channels=spec.in_channels, conv1_t_size=7, conv1_t_stride=spec.stem_stride,
                               no_max_pool=True, feed_forward=False)
        features = spec.widths[-1]
        self.site = nn.Embedding(len(SITE_LIST), spec.site_embedding)
        self.neck = nn.Sequential(nn.Linear(features + spec.site_embedding, spec.hidden), nn.ReLU(inplace=True),
                                  nn.Dropout(spec.dropout))
        self.heads = nn.ModuleDict({name: nn.Linear(spec.hidden + spec.site_embedding, k - 1)
                                    for name, k in HEADS.items()})
        # the last feature map's side: the stem's stride, then three stride-2 stages (no max pool)
        grid = max(1, -(-spec.size // (spec.stem_stride * 8)))
        self.pool = SitePooling(len(SITE_LIST), grid) if spec.pooling == "site" else None

    def feature_map(self, crops: torch.Tensor) -> torch.Tensor:
        """The backbone's last feature map (N, widths[-1], h, w), before pooling."""
        b = self.backbone
        x = b.act(b.bn1(b.conv1(crops)))
        if not b.no_max_pool:
            x = b.maxpool(x)
        return b.layer4(b.layer3(b.layer2(b.layer1(x))))

    def features(self, crops: torch.Tensor, site: torch.Tensor | None = None) -> torch.Tensor:
        """Pooled backbone features (N, widths[-1]): under the site's weighting when the spec pools
        per site (``site`` then required), averaged otherwise."""
        if self.pool is None:
            return self.backbone(crops)
        if site is None:
            raise ValueError("this scorer pools features per site: pass the site indices")
        return self.pool(self.feature_map(crops), site)

    def forward(self, crops: torch.Tensor, site: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.forward_with_features(crops, site)[0]

    def forward_with_features(self, crops: torch.Tensor, site: torch.Tensor
                              ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """CORN logits of every head and the backbone features (N, widths[-1]) they came from."""
        e = self.site(site)
        f = self.features(crops, site)
        h = self.neck(torch.cat([f, e], 1))
        h = torch.cat([h, e], 1)
        return {name: head(h) for name, head in self.heads.items()}, f

    def clip_groups(self) -> dict[str, list[nn.Parameter]]:
        return {"backbone": list(self.backbone.parameters()),
                "heads": [p for n, p in self.named_parameters() if not n.startswith("backbone.")]}
