import pytest
import torch

from sharpscore import schema
from sharpscore.scoring import JointModel, ScorerNet, ScorerSpec
from sharpscore.scoring.model import HEADS, SITE_LIST, site_index

SMALL = ScorerSpec(size=48, widths=(8, 8, 16, 16), hidden=16, site_embedding=4)


def test_network_outputs_every_head_for_every_site():
    net = ScorerNet(SMALL).eval()
    sites = torch.arange(len(SITE_LIST))
    out = net(torch.randn(len(SITE_LIST), 1, 48, 48), sites)
    assert {k: v.shape for k, v in out.items()} == {h: (len(SITE_LIST), k - 1) for h, k in HEADS.items()}
    assert len(SITE_LIST) == len(schema.HAND_SITES) + len(schema.FOOT_SITES)


@pytest.fixture(scope="module")
def phantoms():
    from sharpscore.synth import render

    hand = render("RH", None, seed=3)
    foot = render("LF", None, seed=4)
    return hand, foot


def test_scores_are_masked_where_svdh_does_not_score(phantoms):
    hand, foot = phantoms
    scorer = JointModel(ScorerNet(SMALL))
    res_h, res_f = scorer.score_many([
        (hand.radiograph.pixels, hand.radiograph.spacing_mm, hand.landmarks, "RH"),
        (foot.radiograph.pixels, foot.radiograph.spacing_mm, foot.landmarks, "LF")])
    ip = res_h.joint("ip")
    assert ip.jsn is None and ip.jsn_probs is None and ip.jsn_set is None
    assert len(ip.erosion_probs) == 6
    assert res_h.joint("radcar").erosion is None and len(res_h.joint("radcar").jsn_probs) == 5
    assert res_h.joint("ulna").jsn is None
    for j in res_f.joints:
        assert len(j.erosion_probs) == 11 and 0 <= j.erosion <= 10 and len(j.jsn_probs) == 5
    assert len(res_h.joints) == 22 and len(res_f.joints) == 6 and not res_h.missing
    # totals carry the distribution of the sum, over 0..region maximum
    assert len(res_h.distributions["erosion"]) == schema.region_max("RH", "erosion") + 1
    assert len(res_f.distributions["total"]) == schema.region_max("LF") + 1
    assert res_h.total == pytest.approx(res_h.erosion + res_h.jsn)
    assert res_h.total == pytest.approx(sum((j.erosion or 0) + (j.jsn or 0) for j in res_h.joints))
    lo, hi = res_h.intervals["total"]
    assert lo <= res_h.total <= hi
    for j in res_h.joints:
        if j.erosion is not None:
            assert j.erosion_grade in j.erosion_set


def test_missing_landmark_is_reported(phantoms):
    hand, _ = phantoms
    lm = {k: v for k, v in hand.landmarks.items() if k != "mcp2"}
    res = JointModel(ScorerNet(SMALL)).score(hand.radiograph.pixels, hand.radiograph.spacing_mm, lm, "RH")
    assert res.missing == ["mcp2"] and len(res.joints) == 21


def test_bundle_round_trip_with_weights_only(tmp_path):
    from sharpscore.models import load_scorer

    net = ScorerNet(SMALL)
    import json

    payload = {"model": net.state_dict(), "meta": json.dumps({"task": "scorer", "spec": SMALL.model_dump(mode="json")})}
    torch.save(payload, tmp_path / "best.pt")
    scorer = load_scorer(tmp_path / "best.pt")
    x, s = torch.randn(3, 1, 48, 48), torch.tensor([0, site_index("foot", "mtp1"), 5])
    net.eval()
    with torch.no_grad():
        a = net(x, s)
    b = scorer.nets[0](x, s)
    assert all(torch.allclose(a[h], b[h]) for h in HEADS)
    bad = tmp_path / "bad.pt"
    torch.save({"model": {}, "meta": json.dumps({"task": "localizer"})}, bad)
    from sharpscore.errors import ModelError

    with pytest.raises(ModelError):
        load_scorer(bad)


def test_ensemble_averages_members():
    a, b = ScorerNet(SMALL).eval(), ScorerNet(SMALL).eval()
    x, s = torch.randn(2, 1, 48, 48), torch.tensor([1, 2])
    from sharpscore.scoring.predict import _normalise

    with torch.no_grad():
        want = (a(_normalise(x), s)["jsn"] + b(_normalise(x), s)["jsn"]) / 2
    got = JointModel([a, b]).logits(x, s)["jsn"]
    assert torch.allclose(got, want, atol=1e-5)


def test_batching_across_radiographs_gives_the_same_scores(phantoms):
    hand, foot = phantoms
    items = [(hand.radiograph.pixels, hand.radiograph.spacing_mm, hand.landmarks, "RH"),
             (foot.radiograph.pixels, foot.radiograph.spacing_mm, foot.landmarks, "LF")]
    scorer = JointModel(ScorerNet(SMALL))
    alone = scorer.score_many(items)
    scorer.batch_across = True  # the GPU path: crops of both films in shared batches of 7
    together = scorer.score_many(items, batch_size=7)
    for a, b in zip(alone, together):
        assert [j.site for j in a.joints] == [j.site for j in b.joints]
        assert a.total == pytest.approx(b.total, abs=1e-3)
        assert all(x.erosion == pytest.approx(y.erosion, abs=1e-4) for x, y in zip(a.joints, b.joints)
                   if x.erosion is not None)


def test_test_time_augmentation_averages_views(phantoms):
    hand, _ = phantoms
    item = (hand.radiograph.pixels, hand.radiograph.spacing_mm, hand.landmarks, "RH")
    net = ScorerNet(SMALL)
    plain = JointModel(net).score_many([item])[0]
    tta = JointModel(net, tta=True).score_many([item])[0]
    for j in tta.joints:
        for p in (j.erosion_probs, j.jsn_probs):
            if p is not None:
                assert sum(p) == pytest.approx(1.0, abs=1e-6)
    assert any(abs(a.erosion - b.erosion) > 1e-6 for a, b in zip(plain.joints, tta.joints) if a.erosion is not None)


def test_total_intervals_per_region_kind_fall_back_to_the_one_over_all_films():
    import numpy as np

    from sharpscore.calibration import ConformalInterval

    d = np.zeros(41)
    d[8:13] = 0.2  # mean 10, sd ~1.41
    cal = {"interval/region/hand": ConformalInterval(0.9, q=1.0), "interval/region": ConformalInterval(0.9, q=3.0)}
    scorer = JointModel(ScorerNet(SMALL), calibration=cal)
    lo_h, hi_h = scorer.interval(d, "region/hand")
    lo_f, hi_f = scorer.interval(d, "region/foot")  # no foot interval: the one over all films
    assert hi_h - lo_h == pytest.approx(2 * np.sqrt(2), rel=1e-6)
    assert hi_f - lo_f == pytest.approx(3 * (hi_h - lo_h), rel=1e-6)
    assert scorer.interval(d, "region") == (lo_f, hi_f)
    assert scorer.interval(d, None) == (8.0, 12.0)  # uncalibrated: the distribution's own interval


def test_site_pooling_reads_each_site_where_its_weighting_lies():
    from sharpscore.scoring.model import SitePooling

    pool = SitePooling(n_sites=3, grid=6)
    sites = torch.tensor([0, 1, 2])
    w = pool.weights(sites, (6, 6)).detach()
    assert torch.allclose(w.sum((1, 2)), torch.ones(3))
    # it starts as a broad centred Gaussian: the centre counts more than a corner, but not alone
    assert 2.0 < float(w[0, 2, 2] / w[0, 0, 0]) < 8.0
    with torch.no_grad():  # site 1 learned to look at the top-left corner only
        pool.logits[1] = -1.0
        pool.logits[1, 0, 0] = 1.0
    fmap = torch.zeros(3, 2, 6, 6)
    fmap[:, 0, 0, 0] = 1.0  # something in the top-left corner
    fmap[:, 1, 2:4, 2:4] = 1.0  # something in the centre
    out = pool(fmap, sites)
    assert out[1, 0] > 0.99 and out[1, 1] < 0.01
    assert out[0, 1] > 4 * out[0, 0]
    assert pool.weights(sites, (4, 4)).shape == (3, 4, 4)  # another crop size: resampled


def test_a_site_pooled_scorer_starts_from_a_mean_pooled_one_and_round_trips(tmp_path):
    import json

    from sharpscore.models import load_scorer

    spec = SMALL.model_copy(update={"pooling": "site"})
    mean_net, net = ScorerNet(SMALL), ScorerNet(spec)
    missing, unexpected = net.load_state_dict(mean_net.state_dict(), strict=False)
    assert missing == ["pool.logits"] and not unexpected
    x, s = torch.randn(3, 1, 48, 48), torch.tensor([0, site_index("foot", "mtp1"), 5])
    with pytest.raises(ValueError, match="site"):
        net.features(x)
    net.eval()
    payload = {"model": net.state_dict(), "meta": json.dumps({"task": "scorer", "spec": spec.model_dump(mode="json")})}
    torch.save(payload, tmp_path / "best.pt")
    loaded = load_scorer(tmp_path / "best.pt").nets[0]
    assert loaded.spec.pooling == "site"
    with torch.no_grad():
        a, b = net(x, s), loaded(x, s)
    assert all(torch.allclose(a[h], b[h], atol=1e-6) for h in HEADS)
