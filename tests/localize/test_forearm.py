"""The distal ulna read from the film (localize.forearm): a drawn forearm, held-out real hands
(against the atlas's ulna) and the adult hand DICOM (those skip without ../shared)."""

from __future__ import annotations

import numpy as np
import pytest

from shared_data import shared_path
from sharpscore.localize.forearm import HEAD_DEPTH_MM, find_ulna
from sharpscore.localize.wrist_template import _HELD_OUT, derived_sites, dha_points

SP = 0.1


def _forearm(ulna: bool = True):
    """A right hand's forearm, fingers up: radius under radcar (x 400-640 px), a 4 mm gap, then the
    ulna (x 680-800 px) ending 3 mm below the radiocarpal line (y = 500); mcp2 left, mcp5 right."""
    img = np.full((1200, 1200), 0.3, np.float32)
    img[500:, 400:640] = 0.8
    if ulna:
        img[530:, 680:800] = 0.7
    lm = {"radcar": (520.0, 500.0), "mcp3": (520.0, 100.0), "mcp2": (400.0, 120.0), "mcp5": (700.0, 150.0)}
    return img, lm


def test_the_ulna_is_found_beside_the_radius_at_its_head():
    img, lm = _forearm()
    x, y = find_ulna(img, lm, (SP, SP))
    assert abs(x - 740.0) < 5  # the middle of the ulna (0.5 mm)
    assert abs(y - (530.0 + HEAD_DEPTH_MM / SP)) < 8  # its head, proximal to where it ends
    # mirrored (a left hand): found on the other side
    x2, _ = find_ulna(img[:, ::-1].copy(), {k: (1199 - v[0], v[1]) for k, v in lm.items()}, (SP, SP))
    assert abs(x2 - (1199 - 740.0)) < 5


def test_no_ulna_no_answer():
    img, lm = _forearm(ulna=False)
    assert find_ulna(img, lm, (SP, SP)) is None
    assert find_ulna(img, {"radcar": lm["radcar"]}, (SP, SP)) is None  # which side is ulnar is unknown


@pytest.mark.slow
def test_held_out_real_hands_ulna_nearer_than_the_template():
    """On the 21 held-out atlas hands (landmarks from the shipped localiser, the ulna from the film
    where it shows it, else the template): median within 3 mm of the atlas's ulna. (Three of these
    films were looked at while the profile reading was written: 3144, 3206, 3300.)"""
    import sharpscore
    from sharpscore.models import load_localizer

    table = dha_points(shared_path("dha-hands", "landmarks.csv"))
    loc = load_localizer("default")
    errors, found, hidden = [], 0, 0
    for film in _HELD_OUT:
        rg = sharpscore.load_radiograph(shared_path("dha-hands", "images", f"{film}.jpg"), spacing_mm=0.108075)
        located = loc.predict(rg)
        truth = derived_sites(table[film])["ulna"]
        if "ulna" in located.not_in_view:  # 3769: the film ends at the distal ulna (a miss here)
            hidden += 1
            errors.append(np.inf)
            continue
        errors.append(np.linalg.norm(np.array(located.landmarks["ulna"][:2]) * 0.108075 - truth))
        found += located.landmarks["ulna"][2] == pytest.approx(0.6)
    assert hidden <= 1
    # the template alone: median 3.8 mm, 90th percentile 9.5 mm (it misses the ulna itself)
    assert found >= 15 and np.median(errors) < 3.0 and np.percentile(errors, 90) < 5.0, errors
