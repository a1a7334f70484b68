"""A reader's landmarks in place of the localiser's."""

import numpy as np
import pytest

from sharpscore.errors import InputError, NotHandOrFootError
from sharpscore.io import Radiograph, load_radiograph


def test_reader_landmarks_replace_the_localisers(jpeg_patient, scorer):
    src = jpeg_patient / "P00000-RH.jpg"
    auto = scorer.score(src)
    x, y, _ = auto.landmarks["mcp2"]
    fixed = scorer.score(src, landmarks={"mcp2": (x + 6.0, y)})
    assert fixed.landmarks["mcp2"] == (x + 6.0, y, 1.0)
    assert fixed.landmarks["mcp3"] == auto.landmarks["mcp3"]
    assert "reader_landmarks:1" in fixed.flags
    assert fixed.joint("mcp2").erosion_probs != auto.joint("mcp2").erosion_probs  # rescored from the new crop
    assert fixed.joint("mcp4").erosion_probs == auto.joint("mcp4").erosion_probs


def test_a_film_the_localiser_refuses_is_scored_at_the_readers_sites(scorer):
    film = Radiograph(pixels=np.random.default_rng(0).random((600, 600), dtype=np.float32), spacing_mm=(0.14, 0.14))
    with pytest.raises(NotHandOrFootError):
        scorer.score(film)
    with pytest.raises(NotHandOrFootError):  # landmarks alone do not say what the film is
        scorer.score(film, landmarks={"radius": (300, 400)})
    res = scorer.score(film, landmarks={"radius": (300, 400), "ulna": (150, 420)}, region="LH")
    assert [j.site for j in res.joints] == ["radius", "ulna"]
    assert "localizer_refused_film" in res.flags and res.needs_review


@pytest.mark.parametrize("landmarks, message", [({"wrist": (1, 2)}, "unknown site"), ({"mcp2": (5000, 10)}, "outside"),
                                                ({"mcp2": ("a", 2)}, r"not an \(x, y\)"), ({"mtp1": (10, 10)}, "not sites of a hand"),
                                                (["mcp2"], "mapping or a labelme file")])
def test_bad_reader_landmarks_are_typed_errors(jpeg_patient, scorer, landmarks, message):
    rg = load_radiograph(jpeg_patient / "P00000-RH.jpg")
    with pytest.raises(InputError, match=message):
        scorer.score(rg, landmarks=landmarks)
