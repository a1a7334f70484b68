import numpy as np
import pytest

from sharpscore.api.growth_plates import PHYSIS_JOINTS, open_growth_plates, physis_depth, physis_depths
from sharpscore.scoring.geometry import distal_direction
from sharpscore.synth import render


def _with_physes(pixels, landmarks, spacing, at_mm=3.0, width_mm=0.6, half_mm=3.0, darken=0.35):
    """Draw a growth plate (a dark transverse band) ``at_mm`` beyond each phalangeal joint."""
    out = pixels.copy()
    yy, xx = np.mgrid[0:out.shape[0], 0:out.shape[1]]
    for site in PHYSIS_JOINTS:
        d = distal_direction("hand", site, landmarks, spacing)
        x0, y0 = landmarks[site][:2]
        dx, dy = (xx - x0) * spacing[1], (yy - y0) * spacing[0]
        along, across = dx * d[0] + dy * d[1], -dx * d[1] + dy * d[0]
        band = (np.abs(along - at_mm) < width_mm / 2) & (np.abs(across) < half_mm)
        out[band] *= 1.0 - darken
    return out


@pytest.fixture(scope="module")
def phantom_hand():
    img = render("RH", None, seed=31, spacing_mm=0.12)
    lm = {k: (x, y, 1.0) for k, (x, y) in img.landmarks.items()}
    return img.radiograph.pixels.astype(np.float32), lm, img.radiograph.spacing_mm


def test_trough_depth_of_a_profile():
    t = np.arange(-2, 8, 0.1)
    adult = np.where(t < 0.5, 0.2, 0.8)  # joint space, then solid bone
    child = adult.copy()
    child[(t > 3.0) & (t < 3.6)] = 0.5  # a physis 3 mm beyond the joint
    assert physis_depth(t, adult) == 0.0
    assert physis_depth(t, child) == pytest.approx(0.5, abs=0.05)


def test_adult_phantom_hand_has_closed_plates_and_drawn_physes_open_them(phantom_hand):
    pixels, lm, spacing = phantom_hand
    suspected, n, checked = open_growth_plates(pixels, lm, spacing)
    assert checked == len(PHYSIS_JOINTS) and not suspected and n <= 1
    child = _with_physes(pixels, lm, spacing)
    suspected, n, _ = open_growth_plates(child, lm, spacing)
    assert suspected and n >= 10


def test_unsure_joints_are_not_read(phantom_hand):
    pixels, lm, spacing = phantom_hand
    lm = dict(lm, pip3=(lm["pip3"][0], lm["pip3"][1], 0.1))
    assert "pip3" not in physis_depths(pixels, lm, spacing)


def test_real_child_hands_are_flagged_for_open_growth_plates(scorer):
    from shared_data import shared_path

    from sharpscore.io import load_radiograph

    files = sorted(shared_path("dha-hands", "images").glob("*.jpg"))[::14]  # 8 films spread over the atlas
    results = [scorer.score(load_radiograph(f, spacing_mm=0.108075)) for f in files]
    flagged = [any(x.startswith("open_growth_plates") for x in r.flags) for r in results]
    assert sum(flagged) >= 6
    assert all(r.needs_review for r, f in zip(results, flagged) if f)


def test_real_adult_hand_is_not_flagged_for_open_growth_plates(scorer):
    from shared_data import shared_path

    res = scorer.score(shared_path("dicom", "NM_Kakadu44_SOTmarkerincons.dcm"))
    assert not any(x.startswith("open_growth_plates") for x in res.flags)
