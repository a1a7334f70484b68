import numpy as np
import pytest

from sharpscore.localize.template import ANCHORS, WRIST, fit_template, load_template, similarity_fit
from sharpscore.synth.hand_template import build_template


def test_similarity_fit_recovers_a_mirrored_rotated_scaled_copy():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(12, 2)) * 30
    t = np.deg2rad(25)
    r = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) @ np.diag([-1, 1])  # with a reflection
    dst = 1.7 * src @ r.T + np.array([100.0, -40.0])
    s, r_fit, t_fit = similarity_fit(src, dst)
    assert s == pytest.approx(1.7) and np.allclose(r_fit, r) and np.allclose(t_fit, [100, -40])


def test_shipped_template_is_reproducible():
    shipped = load_template()
    fresh = build_template(n=60, seed=0)
    assert set(fresh) == set(shipped) >= set(ANCHORS) | set(WRIST)
    # same construction, fewer hands: the means agree within a few millimetres
    diffs = [np.linalg.norm(np.asarray(fresh[k]) - shipped[k]) for k in WRIST]
    assert max(diffs) < 4.0


def test_template_fit_is_robust_to_an_outlier():
    tpl = load_template()
    spacing = (0.1, 0.1)
    pts = {k: tuple(tpl[k] / 0.1 + 2000) for k in ANCHORS}
    pts["mcp3"] = (pts["mcp3"][0] + 300, pts["mcp3"][1])  # 30 mm off
    pred, res = fit_template(pts, spacing, trim_mm=4.0)
    assert res["mcp3"] > 25 and max(v for k, v in res.items() if k != "mcp3") < 1.0
    assert np.hypot(*(np.array(pred["lunate"]) - (tpl["lunate"] / 0.1 + 2000))) < 5
