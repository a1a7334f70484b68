"""Progression metrics: smallest detectable change, responsiveness and progression agreement."""

from __future__ import annotations

import numpy as np

from .joints import quadratic_kappa

__all__ = ["sdc_of_change", "standardised_response_mean", "progression_agreement", "joint_change_kappa",
           "evaluate_change"]


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


def evaluate_change(base_pred: list[dict], follow_pred: list[dict], base_truth: list[dict],
                    follow_truth: list[dict], *, threshold: float = 1.0) -> dict:
    """Progression metrics of predicted scores at two visits against the reference at both (rows in
    the RA2-DREAM layout, matched by ``Patient_ID``; patients missing anywhere are left out).

    The SDC is measured on the patients whose reference did not change (1.96 x SD of their predicted
    change); a patient is called progressed when the predicted change exceeds it."""
    from .. import schema

    def by_id(rows):
        return {str(r[schema.RA2_ID_COLUMN]): r for r in rows}

    bp, fp, bt, ft = (by_id(r) for r in (base_pred, follow_pred, base_truth, follow_truth))
    ids = sorted(set(bp) & set(fp) & set(bt) & set(ft))
    if len(ids) < 3:
        from ..errors import InputError

        raise InputError(f"progression needs >= 3 patients present in all four files, found {len(ids)}")
    tot = "Overall_Tol"
    pc = np.array([float(fp[i][tot]) - float(bp[i][tot]) for i in ids])
    tc = np.array([float(ft[i][tot]) - float(bt[i][tot]) for i in ids])
    stable = tc == 0
    sdc = float(1.96 * pc[stable].std(ddof=1)) if stable.sum() >= 3 else float("nan")
    called = pc > sdc if np.isfinite(sdc) else np.zeros(len(ids), bool)
    jt, jp = [], []
    for i in ids:
        for c in schema.RA2_JOINT_COLUMNS:
            vals = (bp[i].get(c), fp[i].get(c), bt[i].get(c), ft[i].get(c))
            if all(v is not None and v != "" for v in vals):
                jp.append(float(vals[1]) - float(vals[0]))
                jt.append(float(vals[3]) - float(vals[2]))
    return {"patients": len(ids), "stable_patients": int(stable.sum()),
            "sdc_total": round(sdc, 3), "srm_pred": round(standardised_response_mean(pc), 3),
            "srm_truth": round(standardised_response_mean(tc), 3),
            "change_mae": round(float(np.abs(pc - tc).mean()), 3),
            **progression_agreement(tc, called, threshold=threshold),
            "joint_change_qwk": round(joint_change_kappa(jt, jp), 4) if jt else None}
