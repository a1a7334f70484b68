"""Figures for evaluation reports (matplotlib, written as PNG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

__all__ = ["bland_altman_plot", "confusion_plot", "reliability_plot", "landmark_error_plot"]


def _subplots(nrows: int = 1, ncols: int = 1, **kw):
    """A figure and its axes without pyplot (no global state, the user's backend untouched)."""
    figsize = kw.pop("figsize", None)
    fig = Figure(figsize=figsize)
    axes = fig.subplots(nrows, ncols, **kw)
    return fig, axes


def _save(fig, path: Path) -> Path:
    from .._fsutil import atomic_write

    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, dpi=100, format="png"))
    return path


def bland_altman_plot(truth, pred, path: Path, title: str = "Total SvdH") -> Path:
    truth, pred = np.asarray(truth, float), np.asarray(pred, float)
    mean, diff = (truth + pred) / 2, pred - truth
    bias, sd = diff.mean(), diff.std(ddof=1) if len(diff) > 1 else 0.0
    fig, ax = _subplots(figsize=(6, 4.5))
    ax.scatter(mean, diff, s=14, alpha=0.7)
    for y, style in ((bias, "-"), (bias + 1.96 * sd, "--"), (bias - 1.96 * sd, "--")):
        ax.axhline(y, color="tab:red", linestyle=style, linewidth=1)
    ax.set_xlabel("mean of prediction and reference")
    ax.set_ylabel("prediction - reference")
    ax.set_title(f"Bland-Altman: {title} (bias {bias:.2f}, LoA +-{1.96 * sd:.2f})")
    return _save(fig, path)


def confusion_plot(matrices: dict[str, np.ndarray], path: Path) -> Path:
    n = len(matrices)
    fig, axes = _subplots(1, n, figsize=(3.6 * n, 3.6), squeeze=False)
    for ax, (name, m) in zip(axes[0], matrices.items()):
        ax.imshow(np.log1p(m), cmap="Blues")
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, int(v), ha="center", va="center", fontsize=7)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("predicted grade")
        ax.set_ylabel("reference grade")
    return _save(fig, path)


def reliability_plot(bins: dict[str, dict[str, np.ndarray]], path: Path) -> Path:
    fig, ax = _subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "k:", linewidth=1, label="perfect calibration")
    for name, b in bins.items():
        ok = b["count"] > 0
        ax.plot(b["confidence"][ok], b["accuracy"][ok], "o-", label=name, markersize=4)
    ax.set_xlabel("confidence (top-grade probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("Reliability diagram")
    return _save(fig, path)


def landmark_error_plot(summary: dict, path: Path) -> Path:
    per = summary["per_landmark"]
    names = list(per)
    fig, ax = _subplots(figsize=(max(6, 0.35 * len(names)), 4))
    ax.bar(names, [per[n]["median"] for n in names])
    ax.set_ylabel(f"median error ({summary['unit']})")
    ax.tick_params(axis="x", rotation=90)
    ax.set_title("Localisation error per landmark")
    return _save(fig, path)
