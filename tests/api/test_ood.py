"""Out-of-distribution crops: a chest where a hand should be is flagged; held-out real hands are not."""

import csv

import numpy as np

from shared_data import shared_path
from sharpscore.io import load_radiograph

HELD_OUT = ["3144", "3221", "3300", "3769"]  # test films of configs/scorer-real.yaml (never trained on)


def _far_sites(scorer, rg, sites):
    h, w = rg.shape
    ys, xs = np.mgrid[0.3:0.7:4j, 0.3:0.7:3j]
    lm = {s: (float(x * w), float(y * h)) for s, x, y in zip(sites, xs.ravel(), ys.ravel())}
    return scorer.score(rg, landmarks=lm, region="RH")


SITES = ["mcp2", "mcp3", "mcp4", "mcp5", "pip2", "pip3", "pip4", "pip5", "radius", "ulna", "lunate", "nav"]


def test_a_blank_region_where_a_hand_should_be_is_out_of_distribution(scorer):
    from sharpscore.io import Radiograph

    blank = 0.5 + np.random.default_rng(0).normal(0, 0.01, (1500, 1500)).astype(np.float32)
    res = _far_sites(scorer, Radiograph(pixels=blank, spacing_mm=(0.15, 0.15)), SITES)
    flagged = [j.site for j in res.joints if j.out_of_distribution]
    assert len(flagged) >= 0.5 * len(SITES), [round(j.ood, 2) for j in res.joints]
    assert res.needs_review and any(f.startswith("out_of_distribution:") for f in res.flags)
    for j in res.joints:
        if j.out_of_distribution and j.erosion_set is not None:
            assert len(j.erosion_set) >= 2  # widened


def test_a_chest_lies_farther_than_real_hands(scorer):
    """Known limit: chest crops lie farther than real hand crops but mostly under the threshold."""
    chest = _far_sites(scorer, load_radiograph(shared_path("dicom", "966_fixed.dcm")), SITES)
    hand = scorer.score(load_radiograph(shared_path("dha-hands", "images", "3300.jpg"), spacing_mm=0.108075))
    assert np.mean([j.ood for j in chest.joints]) > 1.2 * np.mean([j.ood for j in hand.joints])


def test_held_out_real_hands_are_in_distribution(scorer):
    root = shared_path("dha-hands")
    n = flagged = 0
    for image_id in HELD_OUT:
        res = scorer.score(load_radiograph(root / "images" / f"{image_id}.jpg", spacing_mm=0.108075))
        n += len(res.joints)
        flagged += sum(j.out_of_distribution for j in res.joints)
        assert all(j.ood is not None for j in res.joints)
    assert flagged <= 0.1 * n
