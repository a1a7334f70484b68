import numpy as np

from sharpscore.calibration import FeatureDistance, load_calibration, save_calibration


PROJECTION = np.random.default_rng(7).standard_normal((8, 64))


def _features(rng, n):
    return rng.standard_normal((n, 8)) @ PROJECTION * 0.5 + 0.05 * rng.standard_normal((n, 64))


def test_far_features_are_flagged_and_near_ones_are_not(tmp_path):
    rng = np.random.default_rng(0)
    fit = _features(np.random.default_rng(1), 2000)
    fams = ["finger"] * 1000 + ["wrist"] * 1000
    fit[1000:] += 0.3  # the families differ
    det = FeatureDistance(n_components=12, quantile=0.99).fit(fit, fams)
    held = _features(np.random.default_rng(2), 1000)
    assert det.flag(held, ["finger"] * 1000).mean() < 0.03
    far = held + rng.normal(0, 3.0, held.shape)  # a different kind of image
    assert det.flag(far, ["finger"] * 1000).mean() > 0.95
    # round trip through the calibration file
    path = save_calibration({"ood": det}, tmp_path / "c.json")
    back = load_calibration(path)["ood"]
    assert np.allclose(back.score(held[:20], ["wrist"] * 20), det.score(held[:20], ["wrist"] * 20), rtol=1e-3)
