"""Progression metrics: smallest detectable change, responsiveness and progression agreement."""

from __future__ import annotations

import numpy as np

from .joints import quadratic_kappa

__all__ = ["sdc_of_change", "standardised_response_mean", "progression_agreement", "joint_change_kappa"]


def sdc_of_change(first, second) -> float:
    """Smallest detectable change between two visits: 1.96 x SD of the differences of repeated
    measurements of unchanged subjects (``first``/``second``: the two measurements)."""
    d = np.asarray(second, float) - np.asarray(first, float)
    return float(1.96 * d.std(ddof=1))


def standardised_response_mean(change) -> float:
    """Mean change over its SD (responsiveness)."""
    c = np.asarray(change, float)
    sd = float(c.std(ddof=1))
    return float(c.mean() / sd) if sd > 0 else float("nan")


def progression_agreement(true_change, called, *, threshold: float = 1.0) -> dict[str, float]:
    """Patient-level agreement of progression calls with the truth: a patient truly progressed when
    its true change is >= ``threshold``, truly stable when it is 0; sensitivity over the progressed,
    specificity over the stable (patients with a true change in between are not counted)."""
    t = np.asarray(true_change, float)
    c = np.asarray(called, bool)
    pos, neg = t >= threshold, t == 0
    return {"sensitivity": float(c[pos].mean()) if pos.any() else float("nan"),
            "specificity": float((~c[neg]).mean()) if neg.any() else float("nan"),
            "progressed": int(pos.sum()), "stable": int(neg.sum())}


def joint_change_kappa(true_change, predicted_change) -> float:
    """Quadratic-weighted kappa of per-joint grade changes (predicted changes rounded)."""
    t = np.asarray(true_change, float).round().astype(int)
    p = np.asarray(predicted_change, float).round().astype(int)
    labels = sorted(set(t.tolist()) | set(p.tolist()))
    return quadratic_kappa(t, p, labels=labels)
