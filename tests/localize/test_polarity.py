"""Inverted (negative) films are refused with a typed error, not scored as something else."""

import numpy as np
import pytest

from shared_data import shared_path
from sharpscore.errors import InvertedImageError
from sharpscore.io import Radiograph, load_radiograph
from sharpscore.localize.polarity import shaft_contrast
from sharpscore.synth import render


def test_phalanges_read_brighter_than_beside_them_on_a_phantom():
    ph = render("LH", seed=3)
    lm = {k: (*v, 1.0) for k, v in ph.landmarks.items()}
    c = shaft_contrast(ph.radiograph.pixels, lm, ph.radiograph.spacing_mm, "hand")
    assert len(c) >= 8 and np.median(c) > 0.1
    c_inv = shaft_contrast(1 - ph.radiograph.pixels, lm, ph.radiograph.spacing_mm, "hand")
    assert np.median(c_inv) < -0.1


def test_the_real_adult_hand_inverted_is_refused(scorer):
    rg = load_radiograph(shared_path("dicom") / "NM_Kakadu44_SOTmarkerincons.dcm")
    assert scorer.localizer.predict(rg).region == "RH"  # as it is: fine
    neg = Radiograph(pixels=np.ascontiguousarray(1 - rg.pixels), spacing_mm=rg.spacing_mm, source="negative.png")
    with pytest.raises(InvertedImageError, match="inverted"):
        scorer.score(neg)


def test_real_hands_are_not_called_inverted(scorer):
    root = shared_path("dha-hands") / "images"
    for name in ("3143.jpg", "3206.jpg", "3292.jpg", "3769.jpg"):
        rg = load_radiograph(root / name, spacing_mm=0.108075)
        loc = scorer.localizer.predict(rg)
        assert np.median(shaft_contrast(rg.pixels, loc.landmarks, loc.spacing_mm, "hand")) > 0.1, name
