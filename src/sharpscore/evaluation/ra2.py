"""The RA2-DREAM challenge metrics (SC1 overall damage, SC2 narrowing, SC3 erosion).

As specified for this project (the organisers' scoring container is not mirrored here): values are
compared on a log2(x + 1) scale after clipping negative predictions to 0; each patient is weighted by
their true total SvdH score (0 -> 1, 1 -> 2, 2-3 -> 2.143547, 4-7 -> 3.863745, 8-20 -> 8,
21-55 -> 16, 56-148 -> 32, > 148 -> 64), and

- SC1 = weighted mean over patients of |log2(pred + 1) - log2(true + 1)| of ``Overall_Tol``;
- SC2 / SC3 = weighted mean over patients of each patient's RMSE (log2 scale) over their
  narrowing / erosion joint columns.

The challenge forum described SC2/SC3 weights as set from the narrowing / erosion ranges;
``weight_by='measure'`` applies the same weight table to ``Overall_narrowing`` /
``Overall_erosion`` instead of the total. Lower is better. Published winners: 0.436 / 0.376 / 0.430.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .. import schema
from ..errors import SchemaError

__all__ = ["patient_weight", "ra2_scores", "WINNERS"]

WINNERS = {"sc1": 0.436, "sc2": 0.376, "sc3": 0.430}
# (upper bound, exclusive; weight) for integer SvdH totals: 0, 1, 2-3, 4-7, 8-20, 21-55, 56-148, > 148.
_BINS = ((1, 1.0), (2, 2.0), (4, 2.143547), (8, 3.863745), (21, 8.0), (56, 16.0), (149, 32.0))


def patient_weight(total: float) -> float:
    """Weight of a patient by their true SvdH total."""
    for upper, weight in _BINS:
        if float(total) < upper:
            return weight
    return 64.0


def _log(x: np.ndarray) -> np.ndarray:
    return np.log2(np.clip(x, 0.0, None) + 1.0)


def _joint_columns(measure: str) -> list[str]:
    return [c for c in schema.RA2_JOINT_COLUMNS if schema.parse_ra2_column(c)[2] == measure]


def ra2_scores(pred_rows: Sequence[Mapping[str, object]], truth_rows: Sequence[Mapping[str, object]],
               weight_by: str = "total") -> dict[str, float]:
    """SC1, SC2, SC3 for predictions and truth given as RA2-DREAM rows (dicts keyed by column).

    Both must hold the same patients; a prediction missing a joint the truth scores raises
    :class:`~sharpscore.errors.SchemaError`.
    """
    pred = {str(r[schema.RA2_ID_COLUMN]): r for r in pred_rows}
    truth = {str(r[schema.RA2_ID_COLUMN]): r for r in truth_rows}
    if set(pred) != set(truth):
        missing, extra = sorted(set(truth) - set(pred)), sorted(set(pred) - set(truth))
        raise SchemaError(f"patients differ between prediction and truth: missing {missing[:10]}, "
                          f"unexpected {extra[:10]}")
    if weight_by not in ("total", "measure"):
        raise ValueError("weight_by must be 'total' or 'measure'")
    ids = sorted(truth)
    for i in ids:
        for row, what in ((truth[i], "truth"), (pred[i], "prediction")):
            if row.get("Overall_Tol") is None:
                raise SchemaError(f"patient {i}: the {what} has no Overall_Tol and not every joint is scored, "
                                  "so its total is unknown")
    cols = {"jsn": _joint_columns("jsn"), "erosion": _joint_columns("erosion")}
    w_total = np.array([patient_weight(truth[i]["Overall_Tol"]) for i in ids])
    err1 = np.array([abs(_log(np.array(float(pred[i]["Overall_Tol"]))) - _log(np.array(float(truth[i]["Overall_Tol"]))))
                     for i in ids])
    out = {"sc1": float(np.sum(w_total * err1) / np.sum(w_total))}
    for key, measure, overall in (("sc2", "jsn", "Overall_narrowing"), ("sc3", "erosion", "Overall_erosion")):
        per_patient = []
        for i in ids:
            present = [c for c in cols[measure] if truth[i].get(c) is not None]
            lacking = [c for c in present if pred[i].get(c) is None]
            if lacking:
                raise SchemaError(f"patient {i}: prediction lacks {', '.join(lacking[:5])}")
            p = np.array([float(pred[i][c]) for c in present])
            t = np.array([float(truth[i][c]) for c in present])
            per_patient.append(float(np.sqrt(np.mean((_log(p) - _log(t)) ** 2))) if present else 0.0)
        w = w_total if weight_by == "total" else np.array([patient_weight(truth[i][overall]) for i in ids])
        out[key] = float(np.sum(w * np.array(per_patient)) / np.sum(w))
    return out
