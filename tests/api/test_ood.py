"""Out-of-distribution crops: a chest where a hand should be is flagged; held-out real hands are not."""

import csv

import numpy as np

from shared_data import shared_path
from sharpscore.io import load_radiograph

HELD_OUT = ["3144", "3221", "3300", "3769"]  # test films of configs/scorer-real.yaml (never trained on)


def test_a_chest_where_a_hand_should_be_is_out_of_distribution(scorer):
    rg = load_radiograph(shared_path("dicom", "966_fixed.dcm"))
    h, w = rg.shape
    ys, xs = np.mgrid[0.3:0.7:5j, 0.3:0.7:5j]
    sites = ["mcp2", "mcp3", "mcp4", "mcp5", "pip2", "pip3", "pip4", "pip5", "radius", "ulna", "lunate", "nav"]
    lm = {s: (float(x * w), float(y * h)) for s, x, y in zip(sites, xs.ravel(), ys.ravel())}
    res = scorer.score(rg, landmarks=lm, region="RH")
    flagged = [j.site for j in res.joints if j.out_of_distribution]
    assert len(flagged) >= 0.75 * len(sites), flagged
    assert res.needs_review and any(f.startswith("out_of_distribution:") for f in res.flags)


def test_held_out_real_hands_are_in_distribution(scorer):
    root = shared_path("dha-hands")
    n = flagged = 0
    for image_id in HELD_OUT:
        res = scorer.score(load_radiograph(root / "images" / f"{image_id}.jpg", spacing_mm=0.108075))
        n += len(res.joints)
        flagged += sum(j.out_of_distribution for j in res.joints)
        assert all(j.ood is not None for j in res.joints)
    assert flagged <= 0.1 * n
