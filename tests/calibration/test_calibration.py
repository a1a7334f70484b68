import numpy as np
import pytest

from sharpscore.calibration import (APSConformal, ConformalInterval, IsotonicCalibrator, TemperatureScaler,
                                    load_calibration, save_calibration)
from sharpscore.evaluation import calibration_error, mean_set_size, set_coverage


def _ordinal_data(rng, n, k=6, sharpness=1.2):
    """True grade distributions from an ordinal latent; labels drawn from them (calibrated)."""
    latent = rng.gamma(0.8, 1.2, n)
    grades = np.arange(k)
    logits = -sharpness * (grades[None, :] - latent[:, None]) ** 2
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    labels = np.array([rng.choice(k, p=p) for p in probs])
    return logits, probs, labels


@pytest.mark.parametrize("coverage", [0.8, 0.9])
def test_aps_coverage_within_3_points_over_repeated_splits(coverage):
    rng = np.random.default_rng(0)
    covs, sizes = [], []
    for rep in range(30):
        _, probs, labels = _ordinal_data(rng, 1500)
        cal, test = slice(0, 500), slice(500, None)
        aps = APSConformal(coverage=coverage, seed=rep).fit(probs[cal], labels[cal])
        sets = aps.predict(probs[test])
        covs.append(set_coverage(labels[test], sets))
        sizes.append(mean_set_size(sets))
    assert abs(np.mean(covs) - coverage) < 0.03, np.mean(covs)
    assert 1.0 <= np.mean(sizes) < 6


def test_aps_sets_are_deterministic_and_never_empty():
    rng = np.random.default_rng(1)
    _, probs, labels = _ordinal_data(rng, 400)
    aps = APSConformal(0.9, seed=3).fit(probs, labels)
    a, b = aps.predict(probs), aps.predict(probs)
    assert np.array_equal(a, b) and a.any(axis=1).all()
    again = APSConformal.from_dict(aps.to_dict())
    assert np.array_equal(again.predict(probs), a)


@pytest.mark.parametrize("adaptive", [False, True])
def test_interval_coverage_within_3_points(adaptive):
    rng = np.random.default_rng(2)
    covs = []
    for _ in range(30):
        truth = rng.gamma(1.2, 15, 1200)
        scale = 2 + 0.2 * truth
        pred = truth + rng.normal(0, scale)
        s = scale if adaptive else None
        ci = ConformalInterval(0.9, low=-np.inf).fit(pred[:400], truth[:400], s[:400] if adaptive else None)
        lo, hi = ci.predict(pred[400:], s[400:] if adaptive else None)
        covs.append(np.mean((truth[400:] >= lo) & (truth[400:] <= hi)))
    assert abs(np.mean(covs) - 0.9) < 0.03


def test_interval_clipped_to_score_range():
    ci = ConformalInterval(0.9, q=10.0, low=0.0, high=448.0)
    lo, hi = ci.predict(np.array([3.0, 445.0]))
    assert lo.tolist() == [0.0, 435.0] and hi.tolist() == [13.0, 448.0]


def test_temperature_scaling_lowers_ece_of_an_overconfident_model():
    rng = np.random.default_rng(4)
    logits, _, labels = _ordinal_data(rng, 4000)
    overconfident = logits * 3.0
    groups = np.where(np.arange(4000) % 2, "erosion/finger", "jsn/finger")
    scaler = TemperatureScaler().fit(overconfident[:2000], labels[:2000], groups[:2000])
    before = calibration_error(labels[2000:], np.exp(overconfident[2000:]) / np.exp(overconfident[2000:]).sum(1, keepdims=True))
    after = calibration_error(labels[2000:], scaler.apply(overconfident[2000:], groups[2000:]))
    assert after["ece"] < 0.5 * before["ece"]
    assert scaler.temperature("erosion/finger") == pytest.approx(3.0, rel=0.2)
    assert set(scaler.temperatures) == {"erosion/finger", "jsn/finger"}


def test_isotonic_recalibration_reduces_error():
    rng = np.random.default_rng(5)
    truth = rng.uniform(0, 5, 2000)
    pred = 0.5 * truth + 1.0 + rng.normal(0, 0.2, 2000)  # biased, compressed
    iso = IsotonicCalibrator().fit(pred[:1000], truth[:1000])
    fixed = iso.apply(pred[1000:])
    assert np.mean((fixed - truth[1000:]) ** 2) < 0.3 * np.mean((pred[1000:] - truth[1000:]) ** 2)
    assert np.all(np.diff(iso.apply(np.linspace(0, 4, 50))) >= 0)


def test_json_round_trip(tmp_path):
    rng = np.random.default_rng(6)
    logits, probs, labels = _ordinal_data(rng, 300)
    cals = {"erosion/temperature": TemperatureScaler().fit(logits, labels),
            "erosion/sets": APSConformal(0.9).fit(probs, labels),
            "total/interval": ConformalInterval(0.9, high=448.0).fit(labels * 1.0, labels + 0.5),
            "erosion/isotonic": IsotonicCalibrator().fit(probs @ np.arange(6), labels)}
    path = save_calibration(cals, tmp_path / "calibration.json")
    back = load_calibration(path)
    assert back["erosion/temperature"].default == pytest.approx(cals["erosion/temperature"].default)
    assert np.array_equal(back["erosion/sets"].predict(probs), cals["erosion/sets"].predict(probs))
    assert back["total/interval"].q == cals["total/interval"].q
    assert np.allclose(back["erosion/isotonic"].apply([0.5, 2.5]), cals["erosion/isotonic"].apply([0.5, 2.5]))


def test_class_bias_corrects_a_prior_shift():
    """A model trained on a cohort with more severe grades over-predicts them on a milder one;
    temperature alone cannot undo that, temperature plus class biases can."""
    rng = np.random.default_rng(3)
    logits, probs, labels = _ordinal_data(rng, 6000)
    shifted = np.log(probs) + np.array([-1.0, 0.0, 0.5, 1.0, 1.5, 2.0])  # inflated rare grades
    fit, test = slice(0, 3000), slice(3000, None)
    plain = TemperatureScaler().fit(shifted[fit], labels[fit])
    biased = TemperatureScaler(class_bias=True).fit(shifted[fit], labels[fit])
    grades = np.arange(6)

    def mean_bias(p):
        return float(np.mean(p @ grades - labels[test]))

    raw = np.exp(shifted[test]) / np.exp(shifted[test]).sum(1, keepdims=True)
    assert mean_bias(raw) > 0.2
    assert abs(mean_bias(biased.apply(shifted[test]))) < 0.05 < abs(mean_bias(plain.apply(shifted[test])))
    back = TemperatureScaler.from_dict(biased.to_dict())
    assert np.allclose(back.apply(shifted[:5]), biased.apply(shifted[:5]))
