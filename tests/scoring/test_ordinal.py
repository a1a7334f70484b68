import numpy as np
import pytest
import torch

from sharpscore.scoring.distribution import credible_interval, expected_value, sum_distribution
from sharpscore.scoring.ordinal import corn_loss, corn_probabilities, grade_weights


def test_corn_probabilities_are_distributions_and_decode_grades():
    logits = torch.tensor([[-9.0, -9, -9, -9], [9.0, 9, -9, -9], [9.0, 9, 9, 9]])
    p = corn_probabilities(logits)
    assert torch.allclose(p.sum(1), torch.ones(3), atol=1e-6)
    assert p.argmax(1).tolist() == [0, 2, 4]
    random = corn_probabilities(torch.randn(100, 10))
    assert (random >= 0).all() and torch.allclose(random.sum(1), torch.ones(100), atol=1e-5)


def test_corn_loss_ignores_masked_targets_and_is_minimised_by_the_truth():
    target = torch.tensor([0, 2, 4, -1])
    good = torch.tensor([[-8.0, -8, -8, -8], [8.0, 8, -8, -8], [8.0, 8, 8, 8], [0.0, 0, 0, 0]])
    assert corn_loss(good, target) < 1e-3
    assert corn_loss(-good, target) > 1.0
    assert corn_loss(good, torch.full((4,), -1)) == 0
    # an all-ignored batch keeps the graph (zero gradient, no NaN)
    x = torch.zeros(2, 4, requires_grad=True)
    corn_loss(x, torch.tensor([-1, -1])).backward()
    assert torch.equal(x.grad, torch.zeros(2, 4))


def test_corn_loss_matches_hand_computed_value():
    logits = torch.tensor([[0.3, -0.2]])  # 3 grades, truth 1: tasks k=0 (label 1) and k=1 (label 0)
    expected = -(np.log(1 / (1 + np.exp(-0.3))) + np.log(1 - 1 / (1 + np.exp(0.2)))) / 2
    assert float(corn_loss(logits, torch.tensor([1]))) == pytest.approx(expected, rel=1e-5)


def test_grade_weights_favour_rare_grades():
    w = grade_weights(torch.tensor([1000.0, 100, 10, 0]))
    assert w[0] == 1 and w[1] < w[2] and w[3] == 10


def test_sum_distribution_and_interval():
    d = sum_distribution([[0.2, 0.8], [0.5, 0.25, 0.25]])
    assert d.sum() == pytest.approx(1)
    assert expected_value(d) == pytest.approx(0.8 + 0.75)
    rng = np.random.default_rng(0)
    parts = [rng.dirichlet(np.ones(6)) for _ in range(16)]
    dist = sum_distribution(parts)
    draws = sum(rng.choice(6, size=20000, p=p) for p in parts)
    lo, hi = credible_interval(dist, 0.9)
    assert 0.88 <= np.mean((draws >= lo) & (draws <= hi)) <= 0.96
    assert expected_value(dist) == pytest.approx(draws.mean(), abs=0.1)
