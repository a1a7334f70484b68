"""Patient totals from region scores: distributions of the sum and RA2-DREAM rows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import schema
from .distribution import expected_value, sum_distribution
from .predict import RegionScores

__all__ = ["patient_distributions", "ra2_row", "distribution_sd"]


def patient_distributions(regions: Sequence[RegionScores]) -> dict[str, np.ndarray]:
    """Distribution of the patient's erosion, JSN and total scores over the given regions."""
    return {m: sum_distribution(r.distributions[m] for r in regions) for m in ("erosion", "jsn", "total")}


def distribution_sd(distribution: np.ndarray) -> float:
    k = np.arange(len(distribution))
    mean = expected_value(distribution)
    return float(np.sqrt(max(float(distribution @ (k - mean) ** 2), 0.0)))


def ra2_row(patient_id: str, regions: Sequence[RegionScores],
            intervals: dict[str, tuple[float, float]] | None = None) -> dict[str, object]:
    """One RA2-DREAM row of expected scores (joint columns of missing regions stay blank; totals
    are over the regions given). ``intervals`` adds ``Overall_*_lo``/``_hi`` columns."""
    records = []
    for r in regions:
        for j in r.joints:
            records.append(schema.JointRecord(r.region, j.site, erosion=_clip(j.erosion, r.region, j.site, "erosion"),
                                              jsn=_clip(j.jsn, r.region, j.site, "jsn")))
    row = schema.records_to_ra2_row(patient_id, records)
    names = {"erosion": "Overall_erosion", "jsn": "Overall_narrowing", "total": "Overall_Tol"}
    for measure, (lo, hi) in (intervals or {}).items():
        row[names[measure] + "_lo"], row[names[measure] + "_hi"] = round(lo, 3), round(hi, 3)
    for c in ("Overall_erosion", "Overall_narrowing", "Overall_Tol"):
        row[c] = round(float(row[c]), 4)
    return row


def _clip(value: float | None, region: str, site: str, measure: str) -> float | None:
    if value is None:
        return None
    top = schema.site(region, site).max_for(measure)
    return round(float(min(max(value, 0.0), top)), 4)
