"""Growth plates closed on real films (synth.mature): a synthetic bone, then real DHA children's hands
(those skip without ../shared)."""

from __future__ import annotations


import numpy as np
import pytest

from shared_data import dha_film
from sharpscore.api.growth_plates import physis_depths
from sharpscore.jsw import measure_jsw
from sharpscore.spatial import BoneFrame, as_spacing
from sharpscore.synth.mature import Physis, close_growth_plates, close_physis

SPACING = (0.108075, 0.108075)


def _bone_with_physis(depth: float = 0.25):
    """A vertical bone 8 mm wide on soft tissue, a dark physis 1 mm thick crossing it 4 mm below
    the landmark (y grows down; the distal bone lies towards smaller y... here, towards larger y)."""
    sp = 0.1
    img = np.full((400, 300), 0.3, np.float32)
    x = (np.arange(300) - 150) * sp
    y = (np.arange(400) - 100) * sp
    bone = np.abs(x)[None, :] <= 4.0
    img[:, :] += 0.4 * bone
    band = (np.abs(y - 4.0) <= 0.5)[:, None] & bone
    img[band] -= depth
    frame = BoneFrame((150.0, 100.0), (0.0, 1.0), as_spacing((sp, sp)))
    return img, frame, band


def test_a_physis_is_filled_across_the_bone_and_nothing_else_changes():
    img, frame, band = _bone_with_physis()
    out, depth, width = close_physis(img, frame, Physis("pip3", (1.5, 6.5), 6.0))
    assert depth > 0.2 and 6.0 <= width <= 8.5
    assert np.abs(out[band] - 0.7).mean() < 0.03  # the band now reads as the bone around it
    assert (out >= img - 1e-6).all()  # closing only adds bone
    far = np.ones_like(img, bool)
    far[80:220, 60:240] = False  # everything more than ~9 mm from the physis
    assert np.array_equal(out[far], img[far])
    # the joint's own side (t < 0) is never searched
    assert np.array_equal(out[:100], img[:100])


def test_no_physis_no_change_and_a_scar_is_partial():
    img, frame, band = _bone_with_physis(depth=0.0)
    out, depth, _ = close_physis(img, frame, Physis("pip3", (1.5, 6.5), 6.0))
    assert depth == 0 and np.array_equal(out, img)
    img, frame, band = _bone_with_physis()
    half, _, _ = close_physis(img, frame, Physis("pip3", (1.5, 6.5), 6.0), completeness=0.5)
    full, _, _ = close_physis(img, frame, Physis("pip3", (1.5, 6.5), 6.0))
    assert img[band].mean() < half[band].mean() < full[band].mean()


def test_feet_are_left_as_they_are():
    img, _, _ = _bone_with_physis()
    res = close_growth_plates(img, {"mtp3": (150.0, 100.0)}, (0.1, 0.1), "LF")
    assert np.array_equal(res.pixels, img) and res.closed == {}


def _film(image_id: str):
    return dha_film(image_id)


@pytest.mark.slow
@pytest.mark.parametrize("image_id", ["3162", "3296"])
def test_real_childrens_growth_plates_close_and_joint_spaces_stay(image_id):
    pixels, lm = _film(image_id)
    before = physis_depths(pixels, lm, SPACING)
    res = close_growth_plates(pixels, lm, SPACING, "LH", seed=0)
    after = physis_depths(res.pixels, lm, SPACING)
    open_before = [k for k, v in before.items() if v > 0.15]
    assert len(open_before) >= 4  # these films have open growth plates (bench/growth_plates.py)
    still_open = [k for k in open_before if after[k] > 0.15]
    assert len(still_open) <= len(open_before) // 3, (before, after)
    assert (res.pixels >= pixels - 1e-6).all()
    # the joint spaces themselves are not touched
    w0 = measure_jsw(pixels, lm, as_spacing(SPACING), "LH")
    w1 = measure_jsw(res.pixels, lm, as_spacing(SPACING), "LH")
    for site, m in w0.items():
        if m.width_mm is not None and w1[site].width_mm is not None:
            assert abs(w1[site].width_mm - m.width_mm) < 0.15, (site, m.width_mm, w1[site].width_mm)
    # determinism by seed
    again = close_growth_plates(pixels, lm, SPACING, "LH", seed=0)
    assert np.array_equal(again.pixels, res.pixels)
