"""Burned-in coloured marks on grey films: masked, read as grey, flagged; colour photographs refused."""

import numpy as np
import pytest
from PIL import Image

import sharpscore
from sharpscore import errors
from sharpscore.io.colour import MAX_MARK_FRACTION, grey_and_marks


def _film(h=200, w=160, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    grey = (60 + 100 * (x / w) + rng.normal(0, 4, (h, w))).clip(0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, -1)


def test_green_measurement_line_is_masked_and_filled(tmp_path):
    rgb = _film()
    rgb[100:102, 20:140] = (0, 255, 0)  # a burned-in measurement line
    Image.fromarray(rgb).save(tmp_path / "marked.png")
    rg = sharpscore.load_radiograph(tmp_path / "marked.png")
    assert rg.marks is not None and rg.marks[100, 80] and not rg.marks[20, 80]
    assert rg.marks.mean() < 0.05
    # the line's bright green is replaced by the surrounding film, not read as bone
    assert abs(float(rg.pixels[101, 80]) - float(rg.pixels[95, 80])) < 0.05


def test_grey_jpeg_with_chroma_noise_has_no_marks(tmp_path):
    Image.fromarray(_film()).save(tmp_path / "grey.jpg", quality=70)
    rg = sharpscore.load_radiograph(tmp_path / "grey.jpg")
    assert rg.marks is None


def test_colour_photograph_is_refused(tmp_path):
    rgb = _film()
    rgb[:, :, 0] = 230  # red over the whole image
    Image.fromarray(rgb).save(tmp_path / "photo.png")
    with pytest.raises(errors.ColourImageError, match="colour image"):
        sharpscore.load_radiograph(tmp_path / "photo.png")


def test_mark_fraction_limit():
    rgb = _film(100, 100)
    n = int(100 * 100 * (MAX_MARK_FRACTION + 0.02))
    rgb.reshape(-1, 3)[:n] = (255, 0, 0)
    with pytest.raises(errors.ColourImageError):
        grey_and_marks(rgb, "x")
    rgb = _film(100, 100)
    rgb[10, 10:60] = (255, 0, 0)
    grey, marks = grey_and_marks(rgb, "x")
    assert grey.dtype == np.uint8 and marks is not None and marks[10, 30]


def test_marked_array_source():
    rgb = _film()
    rgb[50:53, 10:150] = (255, 255, 0)
    rg = sharpscore.load_radiograph(rgb)
    assert rg.marks is not None and rg.marks[51, 100]
