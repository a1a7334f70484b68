"""Distributions of SvdH sums: the law of a total is the convolution of its joints' grade laws.

Joints are treated as independent given the image, so region and patient totals get a full
distribution (not just a sum of expectations) from which intervals are read.

>>> d = sum_distribution([[0.5, 0.5], [0.5, 0.5]])
>>> d.tolist()
[0.25, 0.5, 0.25]
>>> credible_interval(d, 0.5)
(1, 1)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["sum_distribution", "expected_value", "credible_interval", "most_likely", "ExpectedTotals"]


def sum_distribution(distributions: Iterable) -> np.ndarray:
    """Probability of every total 0..sum(max) of independent non-negative integer scores."""
    out = np.ones(1)
    for p in distributions:
        p = np.asarray(p, float)
        out = np.convolve(out, p / p.sum() if p.sum() > 0 else p)
    return out


def expected_value(distribution) -> float:
    p = np.asarray(distribution, float)
    return float(p @ np.arange(len(p)))


def most_likely(distribution) -> int:
    return int(np.argmax(np.asarray(distribution)))


def credible_interval(distribution, coverage: float = 0.9) -> tuple[int, int]:
    """Central interval holding at least ``coverage`` of the probability (equal tails)."""
    p = np.asarray(distribution, float)
    cdf = np.cumsum(p) / p.sum()
    tail = (1.0 - coverage) / 2.0
    lo = int(np.searchsorted(cdf, tail + 1e-12, side="right"))
    hi = int(np.searchsorted(cdf, 1.0 - tail - 1e-12, side="left"))
    return min(lo, len(p) - 1), min(max(hi, lo), len(p) - 1)


class ExpectedTotals:
    """The expected ``erosion``, ``jsn`` and ``total`` of a result holding ``distributions``
    (``{'erosion' | 'jsn' | 'total': P(sum = k)}``): one definition for a region's scores
    (:class:`~sharpscore.scoring.RegionScores`, :class:`~sharpscore.RadiographScore`) and a
    patient's (:class:`~sharpscore.PatientScore`)."""

    distributions: dict[str, np.ndarray]

    def expected(self, measure: str) -> float:
        return expected_value(self.distributions[measure])

    @property
    def erosion(self) -> float:
        return self.expected("erosion")

    @property
    def jsn(self) -> float:
        return self.expected("jsn")

    @property
    def total(self) -> float:
        return self.expected("total")
