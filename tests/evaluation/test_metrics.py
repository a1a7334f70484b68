"""Each metric against an independent reference: a published worked example, scipy/numpy, or the
definition computed by hand."""

import numpy as np
import pytest
from scipy import stats

from sharpscore import evaluation as ev

# Shrout & Fleiss (1979), Psychol Bull 86:420, Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])


def test_icc_matches_shrout_fleiss_worked_example():
    icc2 = ev.icc(SHROUT_FLEISS, "2,1")
    icc3 = ev.icc(SHROUT_FLEISS, "3,1")
    assert icc2["icc"] == pytest.approx(0.29, abs=0.005)
    assert icc3["icc"] == pytest.approx(0.71, abs=0.01)
    # 95% confidence intervals as McGraw & Wong (1996) give them for these data.
    assert (icc2["ci_low"], icc2["ci_high"]) == pytest.approx((0.019, 0.761), abs=0.005)
    assert (icc3["ci_low"], icc3["ci_high"]) == pytest.approx((0.342, 0.946), abs=0.005)
    assert ev.icc(np.column_stack([np.arange(5.0), np.arange(5.0)]))["icc"] == 1.0


def _qwk_by_hand(t, p, k):
    o = np.zeros((k, k))
    for a, b in zip(t, p):
        o[a, b] += 1
    w = np.array([[(i - j) ** 2 for j in range(k)] for i in range(k)]) / (k - 1) ** 2
    e = np.outer(o.sum(1), o.sum(0)) / o.sum()
    return 1 - (w * o).sum() / (w * e).sum()


def test_joint_agreement():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 5, 300)
    p = np.clip(t + rng.integers(-2, 3, 300), 0, 4)
    assert ev.exact_agreement(t, p) == pytest.approx(np.mean(t == p))
    assert ev.within_one(t, p + 0.4) == pytest.approx(np.mean(np.abs(t - p) <= 1))  # expected values are rounded
    assert ev.quadratic_kappa(t, p) == pytest.approx(_qwk_by_hand(t, p, 5))
    cm = ev.confusion(t, p, 5)
    assert cm.sum() == 300 and cm[2, 3] == np.sum((t == 2) & (p == 3))


def test_brier_and_calibration_error_by_definition():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2000, 6)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(6, p=q) for q in probs])
    onehot = np.eye(6)[labels]
    assert ev.brier_score(labels, probs) == pytest.approx(np.mean(np.sum((probs - onehot) ** 2, 1)))
    conf, correct = probs.max(1), (probs.argmax(1) == labels)
    edges = np.linspace(0, 1, 11)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, 9)
    gaps = [abs(conf[idx == b].mean() - correct[idx == b].mean()) for b in range(10) if np.any(idx == b)]
    weights = [np.mean(idx == b) for b in range(10) if np.any(idx == b)]
    ce = ev.calibration_error(labels, probs, n_bins=10)
    assert ce["ece"] == pytest.approx(np.dot(gaps, weights), abs=1e-6)
    assert ce["mce"] == pytest.approx(max(gaps), abs=1e-6)
    assert ce["ece"] < 0.05  # labels were drawn from the probabilities: calibrated


def test_sets():
    sets = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]], bool)
    assert ev.set_coverage([0, 0, 2], sets) == pytest.approx(2 / 3)
    assert ev.mean_set_size(sets) == pytest.approx(4 / 3)


def test_totals_against_scipy_and_definitions():
    rng = np.random.default_rng(2)
    t = rng.gamma(1.5, 10, 200)
    p = t + rng.normal(1.0, 3.0, 200)
    assert ev.pearson(t, p) == pytest.approx(stats.pearsonr(t, p).statistic)
    assert ev.spearman(t, p) == pytest.approx(np.corrcoef(stats.rankdata(t), stats.rankdata(p))[0, 1])
    assert ev.rmse(t, p) == pytest.approx(np.sqrt(np.mean((p - t) ** 2)))
    assert ev.mae(t, p) == pytest.approx(np.mean(np.abs(p - t)))
    ba = ev.bland_altman(t, p)
    d = p - t
    assert ba["bias"] == pytest.approx(d.mean()) and ba["loa_high"] == pytest.approx(d.mean() + 1.96 * d.std(ddof=1))
    assert ev.sdc(t, p) == pytest.approx(1.96 * d.std(ddof=1) / np.sqrt(2))
    assert ev.interval_coverage([1, 5, 9], [0, 6, 8], [2, 7, 10]) == pytest.approx(2 / 3)
    assert ev.interval_width([0, 6], [2, 10]) == 3.0
    agg = ev.total_agreement(t, p)
    assert agg["icc2_1"] < agg["icc3_1"]  # the +1 bias lowers absolute agreement only


def test_landmark_errors():
    errs = ev.landmark_errors({"mcp2": (13.0, 4.0, 0.9), "pip2": (0, 0)}, {"mcp2": (10.0, 0.0), "ip": (1, 1)},
                              spacing_mm=0.5)
    assert set(errs) == {"mcp2"} and errs["mcp2"] == {"px": 5.0, "mm": 2.5}
    summary = ev.summarise_landmark_errors([errs, {"mcp2": {"px": 2.0, "mm": 1.0}}])
    assert summary["all"]["median"] == pytest.approx(1.75)
    assert summary["per_landmark"]["mcp2"]["within_2mm"] == 0.5
