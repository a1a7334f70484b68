"""Per-joint agreement: grades, probabilities and prediction sets.

Inputs are arrays over joints: ``truth`` integer grades, ``pred`` predicted grades (or expected
values, rounded where a grade is needed), ``probs`` (N, K) class probabilities, ``sets`` a boolean
(N, K) membership matrix of prediction sets.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss, cohen_kappa_score, confusion_matrix

__all__ = ["exact_agreement", "within_one", "quadratic_kappa", "confusion", "brier_score",
           "calibration_bins", "calibration_error", "set_coverage", "mean_set_size"]


def _grades(values) -> np.ndarray:
    return np.rint(np.asarray(values, dtype=float)).astype(int)


def exact_agreement(truth, pred) -> float:
    """Fraction of joints whose (rounded) predicted grade equals the true grade."""
    return float(np.mean(_grades(truth) == _grades(pred)))


def within_one(truth, pred) -> float:
    """Fraction of joints within one grade of the truth."""
    return float(np.mean(np.abs(_grades(truth) - _grades(pred)) <= 1))


def quadratic_kappa(truth, pred, labels=None) -> float:
    """Quadratic weighted Cohen's kappa (scikit-learn); 1.0 when both are one constant grade."""
    t, p = _grades(truth), _grades(pred)
    if labels is None and np.unique(np.concatenate([t, p])).size == 1:
        return 1.0
    return float(cohen_kappa_score(t, p, weights="quadratic", labels=labels))


def confusion(truth, pred, n_grades: int) -> np.ndarray:
    """Confusion matrix (rows: truth, columns: prediction) over grades 0..n_grades-1."""
    return confusion_matrix(_grades(truth), np.clip(_grades(pred), 0, n_grades - 1), labels=list(range(n_grades)))


def brier_score(truth, probs) -> float:
    """Multi-class Brier score: mean over joints of sum_k (p_k - [y = k])^2 (scikit-learn)."""
    probs = np.asarray(probs, dtype=float)
    return float(brier_score_loss(_grades(truth), probs, labels=list(range(probs.shape[1])), scale_by_half=False))


def calibration_bins(truth, probs, n_bins: int = 10) -> dict[str, np.ndarray]:
    """Top-label reliability bins (MONAI ``calibration_binning``): per bin the mean confidence,
    the accuracy and the number of joints."""
    import torch
    from monai.metrics.calibration import calibration_binning

    probs = np.asarray(probs, dtype=float)
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == _grades(truth)).astype(float)
    mean_p, mean_gt, counts = calibration_binning(torch.as_tensor(conf)[None, None], torch.as_tensor(correct)[None, None],
                                                  num_bins=n_bins)
    return {"confidence": mean_p[0, 0].numpy(), "accuracy": mean_gt[0, 0].numpy(), "count": counts[0, 0].numpy()}


def calibration_error(truth, probs, n_bins: int = 10) -> dict[str, float]:
    """Expected and maximum top-label calibration error over equal-width confidence bins."""
    bins = calibration_bins(truth, probs, n_bins)
    counts = bins["count"]
    filled = counts > 0
    gaps = np.abs(bins["confidence"][filled] - bins["accuracy"][filled])
    return {"ece": float(np.sum(gaps * counts[filled]) / counts.sum()), "mce": float(gaps.max(initial=0.0))}


def set_coverage(truth, sets) -> float:
    """Fraction of joints whose true grade lies in its prediction set."""
    sets = np.asarray(sets, dtype=bool)
    t = _grades(truth)
    return float(np.mean(sets[np.arange(len(t)), t]))


def mean_set_size(sets) -> float:
    return float(np.asarray(sets, dtype=bool).sum(axis=1).mean())
