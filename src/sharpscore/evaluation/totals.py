"""Agreement of continuous totals (region or patient SvdH scores) with a reference reader."""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["icc", "pearson", "spearman", "rmse", "mae", "bland_altman", "sdc", "interval_coverage",
           "interval_width", "total_agreement"]


def icc(ratings, kind: str = "2,1", confidence: float = 0.95) -> dict[str, float]:
    """Intraclass correlation of an (n subjects, k raters) array, with its confidence interval.

    ``kind`` ``'2,1'``: two-way random effects, absolute agreement, single rater; ``'3,1'``: two-way
    mixed effects, consistency, single rater (Shrout & Fleiss 1979; CIs as McGraw & Wong 1996).
    For model-versus-reader agreement pass ``np.column_stack([pred, truth])``.
    """
    x = np.asarray(ratings, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError("ratings must be an (n >= 2 subjects, k >= 2 raters) array")
    n, k = x.shape
    grand = x.mean()
    ss_rows = k * np.sum((x.mean(axis=1) - grand) ** 2)
    ss_cols = n * np.sum((x.mean(axis=0) - grand) ** 2)
    ss_err = np.sum((x - grand) ** 2) - ss_rows - ss_cols
    msr, msc = ss_rows / (n - 1), ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    alpha = 1.0 - confidence
    if mse == 0:  # perfect agreement
        return {"icc": 1.0, "ci_low": 1.0, "ci_high": 1.0, "f": float("inf")}
    f_obs = msr / mse
    df1, df2 = n - 1, (n - 1) * (k - 1)
    if kind == "3,1":
        value = (msr - mse) / (msr + (k - 1) * mse)
        fl = f_obs / stats.f.ppf(1 - alpha / 2, df1, df2)
        fu = f_obs * stats.f.ppf(1 - alpha / 2, df2, df1)
        low, high = (fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1)
    elif kind == "2,1":
        value = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        a = k * value / (n * (1 - value))
        b = 1 + k * value * (n - 1) / (n * (1 - value))
        v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / df2)
        fl = stats.f.ppf(1 - alpha / 2, df1, v)
        fu = stats.f.ppf(1 - alpha / 2, v, df1)
        low = n * (msr - fl * mse) / (fl * (k * msc + (k * n - k - n) * mse) + n * msr)
        high = n * (fu * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fu * msr)
    else:
        raise ValueError(f"unknown ICC kind {kind!r}; use '2,1' or '3,1'")
    return {"icc": float(value), "ci_low": float(low), "ci_high": float(high), "f": float(f_obs)}


def pearson(truth, pred) -> float:
    return float(stats.pearsonr(np.asarray(truth, float), np.asarray(pred, float)).statistic)


def spearman(truth, pred) -> float:
    return float(stats.spearmanr(np.asarray(truth, float), np.asarray(pred, float)).statistic)


def rmse(truth, pred) -> float:
    return float(np.sqrt(np.mean((np.asarray(pred, float) - np.asarray(truth, float)) ** 2)))


def mae(truth, pred) -> float:
    return float(np.mean(np.abs(np.asarray(pred, float) - np.asarray(truth, float))))


def bland_altman(truth, pred) -> dict[str, float]:
    """Bias (mean of prediction - truth) and 95% limits of agreement (bias +- 1.96 SD)."""
    diff = np.asarray(pred, float) - np.asarray(truth, float)
    bias, sd = float(diff.mean()), float(diff.std(ddof=1))
    return {"bias": bias, "sd": sd, "loa_low": bias - 1.96 * sd, "loa_high": bias + 1.96 * sd}


def sdc(truth, pred) -> float:
    """Smallest detectable change of a single measurement, 1.96 * SD(differences) / sqrt(2)
    (Bruynesteyn et al., Ann Rheum Dis 2005, with one reader)."""
    diff = np.asarray(pred, float) - np.asarray(truth, float)
    return float(1.96 * diff.std(ddof=1) / np.sqrt(2))


def interval_coverage(truth, low, high) -> float:
    t = np.asarray(truth, float)
    return float(np.mean((t >= np.asarray(low, float)) & (t <= np.asarray(high, float))))


def interval_width(low, high) -> float:
    return float(np.mean(np.asarray(high, float) - np.asarray(low, float)))


def total_agreement(truth, pred, low=None, high=None) -> dict[str, object]:
    """Every total-score statistic at once (used by ``sharpscore evaluate``)."""
    truth, pred = np.asarray(truth, float), np.asarray(pred, float)
    pair = np.column_stack([pred, truth])
    out: dict[str, object] = {"n": int(len(truth)), "rmse": rmse(truth, pred), "mae": mae(truth, pred),
                              "bland_altman": bland_altman(truth, pred), "sdc": sdc(truth, pred)}
    varied = np.ptp(truth) > 0 and np.ptp(pred) > 0
    out["pearson"] = pearson(truth, pred) if varied else float("nan")
    out["spearman"] = spearman(truth, pred) if varied else float("nan")
    for kind in ("2,1", "3,1"):
        res = icc(pair, kind)
        key = "icc" + kind.replace(",", "_")
        out[key] = res["icc"]
        out[key + "_ci"] = [res["ci_low"], res["ci_high"]]
    if low is not None and high is not None:
        out["interval_coverage"] = interval_coverage(truth, low, high)
        out["interval_width"] = interval_width(low, high)
    return out
