"""The image pyramid: each level made once, from the finest level already made."""

import numpy as np
import torch

from sharpscore.resample import ImagePyramid, shrink


def test_levels_are_made_once_and_from_the_finest_level():
    img = torch.rand(600, 500)
    pyr = ImagePyramid(img)
    fine = pyr.shrunk(1.5)
    assert pyr.full_resamples == 1
    assert pyr.shrunk(1.5) is fine  # cached
    coarse = pyr.shrunk(6.0)  # made from the 1.5x level, not the full image
    assert pyr.full_resamples == 1
    assert abs(coarse.shape[0] - 100) <= 1 and abs(coarse.shape[1] - 83) <= 1
    direct = shrink(img, 6.0)
    assert coarse.shape == direct.shape
    assert float((coarse - direct).abs().mean()) < 0.02  # the same picture, a touch smoother
    assert pyr.shrunk(1.0) is pyr.full and pyr.shrunk(0.5) is pyr.full


def test_a_finer_level_asked_later_reads_the_full_image_again():
    pyr = ImagePyramid(np.random.default_rng(0).random((300, 300), dtype=np.float32))
    pyr.shrunk(4.0)
    pyr.shrunk(2.0)
    assert pyr.full_resamples == 2
