"""Side markers read from the film: the letter, and whether the film is displayed mirrored."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from sharpscore.localize.marker import read_side_marker
from lead_letters import lead_letter
from shared_data import DHA_SPACING, dha_film, shared_path

SPACING = (0.15, 0.15)


def _film(texts=("R",), angle=0.0, seed=0) -> np.ndarray:
    """A dark film with a bright 'bone' band and lead letters (about 8 mm high) in the top corners."""
    rng = np.random.default_rng(seed)
    film = rng.normal(0.15, 0.02, (900, 700)).astype(np.float32)
    film[400:850, 250:450] = 0.6 + rng.normal(0, 0.03, (450, 200))  # anatomy, not a marker
    for i, text in enumerate(texts):
        glyph = ndi.rotate(lead_letter(text, 54), angle, reshape=True, order=1)
        y, x = 40, 40 + i * 380
        h, w = glyph.shape
        film[y:y + h, x:x + w] = np.maximum(film[y:y + h, x:x + w], 0.97 * glyph)
    return ndi.gaussian_filter(film, 0.7)


@pytest.mark.parametrize("letter", ["L", "R"])
@pytest.mark.parametrize("angle", [0.0, 25.0, -160.0])
def test_a_turned_letter_is_read_and_its_mirror_image_says_the_film_is_mirrored(letter, angle):
    film = _film((letter,), angle)
    upright = read_side_marker(film, SPACING)
    assert upright is not None and upright.side == letter and not upright.mirrored
    mirrored = read_side_marker(np.ascontiguousarray(film[:, ::-1]), SPACING)
    assert mirrored is not None and mirrored.side == letter and mirrored.mirrored
    assert mirrored.film_side != letter
    # the position is given in the film's own pixels
    assert abs(upright.centre_px[1] - mirrored.centre_px[1]) < 2
    assert abs(upright.centre_px[0] - (film.shape[1] - 1 - mirrored.centre_px[0])) < 2


def test_other_letters_are_not_read_and_markers_that_disagree_give_no_reading():
    assert read_side_marker(_film(("T",)), SPACING) is None
    p = _film(("P",))  # the 'P' of a burned-in 'PA': an 'R' without its leg, as it is and mirrored
    assert read_side_marker(p, SPACING) is None and read_side_marker(np.ascontiguousarray(p[:, ::-1]), SPACING) is None
    assert read_side_marker(_film(("O",)), SPACING) is None
    assert read_side_marker(_film(("L", "R")), SPACING) is None  # which one is right?
    assert read_side_marker(_film(()), SPACING) is None


def test_a_letter_over_a_joint_is_taken_for_anatomy():
    film = _film(("R",))
    found = read_side_marker(film, SPACING)
    assert found is not None
    assert read_side_marker(film, SPACING, landmarks={"mcp2": (*found.centre_px, 1.0)}) is None


@pytest.mark.parametrize("name,side", [("dicom-dx/adult-gout-R-PA.dcm", "R"), ("dicom-dx/adult-gout-L-PA.dcm", "L"),
                                       ("dicom/NM_Kakadu44_SOTmarkerincons.dcm", "R")])
def test_real_markers_are_read_and_mirrored_films_are_told(name, side):
    from sharpscore.io import load_radiograph

    rg = load_radiograph(shared_path(*name.split("/")))
    found = read_side_marker(rg.pixels, rg.spacing_mm)
    assert found is not None and (found.side, found.mirrored) == (side, False)
    flipped = read_side_marker(np.ascontiguousarray(rg.pixels[:, ::-1]), rg.spacing_mm)
    assert flipped is not None and (flipped.side, flipped.mirrored) == (side, True)


def test_real_atlas_films_read_their_own_side_or_nothing():
    """The atlas films are all left hands; some carry a lead 'L' (3754, 3757, 3819 among them)."""
    read = {}
    for image_id in ("3754", "3757", "3819", "3144", "3300", "3769"):
        pixels, _ = dha_film(image_id)
        found = read_side_marker(pixels, DHA_SPACING)
        read[image_id] = None if found is None else (found.side, found.mirrored)
    assert all(v in (None, ("L", False)) for v in read.values()), read
    assert [read[i] for i in ("3754", "3757", "3819")] == [("L", False)] * 3


def _decide(marker, laterality=None, confident=True):
    """The localiser's side decision for a right hand's digit layout (thumb on the image's left) with
    ``marker``; ``confident=False`` leaves the anatomy unclear. Returns (region, flags)."""
    from sharpscore.io import Radiograph
    from sharpscore.localize.marker import SideMarker
    from sharpscore.localize.predict import Localizer

    c = 0.9 if confident else 0.1
    landmarks = {"mcp1": (100.0, 300.0, c), "mcp3": (200.0, 250.0, c), "mcp5": (300.0, 300.0, c),
                 "radcar": (200.0, 500.0, c)}
    rg = Radiograph(pixels=np.zeros((8, 8), np.float32), spacing_mm=(0.1, 0.1), laterality=laterality)
    m = None if marker is None else SideMarker(marker[0], marker[1], 0.9, 0.3, (5.0, 5.0), 0.0)
    flags = []
    region = Localizer._side(object.__new__(Localizer), "hand", landmarks, rg, flags, None, m)
    return region, [str(f) for f in flags]


def test_the_side_reconciles_anatomy_marker_and_tag():
    assert _decide(None) == ("RH", [])
    assert _decide(("R", False)) == ("RH", [])
    # a right hand's layout with a mirrored 'L': a left hand displayed mirrored
    assert _decide(("L", True)) == ("LH", ["film_mirrored:L"])
    # ... unless the tag says the film shows what it shows
    assert _decide(("L", True), laterality="R") == ("RH", ["film_mirrored:L", "laterality_conflicts_with_marker:L"])
    # a mirrored 'R' on a right hand's layout cannot be: flagged, the anatomy kept
    assert _decide(("R", True)) == ("RH", ["film_mirrored:R", "laterality_conflicts_with_marker:R"])
    assert _decide(("L", False)) == ("RH", ["laterality_conflicts_with_marker:L"])
    # unclear anatomy: the marker decides, still flagged for a reader
    assert _decide(("L", False), confident=False) == ("LH", ["laterality_uncertain"])
