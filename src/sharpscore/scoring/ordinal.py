"""Ordinal regression with conditional binary tasks (CORN; Shi, Cao & Raschka 2023).

A head with ``K`` grades outputs ``K - 1`` logits; logit ``k`` models P(y > k | y > k - 1).
Grade probabilities follow from the chain rule, so they are always a valid, rank-consistent
distribution.

>>> import torch
>>> p = corn_probabilities(torch.zeros(1, 4))  # every conditional probability 0.5
>>> [round(v, 4) for v in p[0].tolist()]
[0.5, 0.25, 0.125, 0.0625, 0.0625]
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["corn_loss", "corn_probabilities", "grade_weights"]


def corn_probabilities(logits: torch.Tensor) -> torch.Tensor:
    """(..., K-1) logits -> (..., K) grade probabilities."""
    exceed = torch.cumprod(torch.sigmoid(logits.float()), dim=-1)  # P(y > k)
    ones = torch.ones_like(exceed[..., :1])
    zeros = torch.zeros_like(exceed[..., :1])
    upper = torch.cat([ones, exceed], -1)  # P(y > k - 1)
    lower = torch.cat([exceed, zeros], -1)  # P(y > k)
    return (upper - lower).clamp(min=0.0)


def corn_loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean conditional binary cross-entropy.

    Args:
        logits: (N, K-1).
        target: (N,) integer grades; entries < 0 are ignored (site not scored / grade unknown).
        weight: optional (K,) per-grade weights (class re-weighting).
    """
    valid = target >= 0
    if not bool(valid.any()):
        return logits.sum() * 0.0
    logits, target = logits[valid].float(), target[valid]
    k = torch.arange(logits.shape[-1], device=logits.device)
    at_risk = (target[:, None] >= k[None, :]).float()  # samples that reached threshold k
    label = (target[:, None] > k[None, :]).float()
    bce = F.binary_cross_entropy_with_logits(logits, label, reduction="none") * at_risk
    w = weight[target].float() if weight is not None else torch.ones_like(target, dtype=torch.float32)
    return (bce.sum(-1) * w).sum() / (at_risk.sum(-1) * w).sum().clamp(min=1.0)


def grade_weights(counts: torch.Tensor, power: float = 0.5, cap: float = 10.0) -> torch.Tensor:
    """Per-grade weights ``(count / max count) ** -power``, capped, for imbalanced grades
    (most joints score 0). Grades never seen get the cap."""
    c = counts.float()
    w = torch.where(c > 0, (c / c.max().clamp(min=1.0)).clamp(min=1e-9) ** -power, torch.full_like(c, cap))
    return w.clamp(max=cap)
