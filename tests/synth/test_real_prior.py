import numpy as np
import pytest

from shared_data import shared_path
from sharpscore.synth.real_prior import RealPrior, fit_real_prior, load_real_prior, sample_real_grades


def _total(g):
    return sum(v or 0 for region in g.values() for s in region.values() for v in s.values())


def test_sampled_grades_follow_the_shipped_marginals():
    prior = load_real_prior()
    rng = np.random.default_rng(0)
    draws = [sample_real_grades(rng, ("LH", "RF")) for _ in range(1500)]
    for region, kind, site, measure in (("LH", "hand", "mcp2", "erosion"), ("LH", "hand", "radcar", "jsn"),
                                        ("RF", "foot", "mtp5", "erosion")):
        zero = np.mean([d[region][site][measure] == 0 for d in draws])
        assert zero == pytest.approx(prior.marginals[RealPrior.key(kind, site, measure)][0], abs=0.04)


def test_severity_shift_and_healthy_patients():
    rng = np.random.default_rng(1)
    base = np.median([_total(sample_real_grades(rng)) for _ in range(300)])
    shifted = np.median([_total(sample_real_grades(rng, severity_shift=1.0)) for _ in range(300)])
    assert shifted > 1.8 * base
    assert _total(sample_real_grades(rng, healthy_fraction=1.0)) == 0
    # left and right go together (the copula's shared site effect)
    d = [sample_real_grades(rng, ("LH", "RH"), severity_shift=1.0) for _ in range(400)]
    left = [x["LH"]["mcp2"]["jsn"] for x in d]
    right = [x["RH"]["mcp2"]["jsn"] for x in d]
    assert np.corrcoef(left, right)[0, 1] > 0.3


def test_fit_on_the_real_scores_reproduces_the_shipped_prior():
    csv = shared_path("ra2-scores", "training.csv")
    fitted, shipped = fit_real_prior(csv), load_real_prior()
    assert fitted.rho_patient == pytest.approx(shipped.rho_patient, abs=1e-3)
    for key, p in shipped.marginals.items():
        assert np.allclose(fitted.marginals[key], p, atol=1e-4)
