"""The localiser's stages, one at a time, on a phantom with known joints."""

import dataclasses

import numpy as np
import pytest

from sharpscore.errors import NotHandOrFootError
from sharpscore.resample import ImagePyramid
from sharpscore.spatial import distance_mm
from sharpscore.synth import render
from sharpscore.synth.other import render_other


@pytest.fixture(scope="module")
def phantom():
    return render("RH", {}, seed=12, spacing_mm=0.12)


def _errors_mm(found: dict, truth: dict, spacing) -> np.ndarray:
    return np.array([distance_mm(found[k][:2], truth[k], spacing) for k in truth if k in found])


def test_coarse_stage_names_the_kind_and_roughly_places_every_joint(scorer, phantom):
    loc = scorer.localizer
    rg = phantom.radiograph
    kind, coarse, evidence = loc.coarse_stage(ImagePyramid(rg.pixels), rg)
    assert kind == "hand" and evidence["hand"] > evidence["foot"]
    assert {"mcp2", "pip5", "ip", "radius"} <= set(coarse)
    assert np.median(_errors_mm(coarse, phantom.landmarks, rg.spacing_mm)) < 3.0
    with pytest.raises(NotHandOrFootError):
        chest = render_other("chest", seed=1)
        loc.coarse_stage(ImagePyramid(chest.pixels), chest)


def test_spacing_stage_estimates_a_missing_pixel_size_from_anatomy(scorer, phantom):
    loc = scorer.localizer
    rg = phantom.radiograph
    _, coarse, _ = loc.coarse_stage(ImagePyramid(rg.pixels), rg)
    flags = []
    assert loc.spacing_stage(rg, coarse, "hand", flags)[0] == rg.spacing_mm and not flags
    unknown = dataclasses.replace(rg, spacing_mm=None, spacing_source=None)
    (row, col), source = loc.spacing_stage(unknown, coarse, "hand", flags)
    assert source == "estimated from anatomy" and flags == ["spacing_estimated"]
    assert abs(row - 0.12) < 0.12 * 0.2  # adult anatomy: within 20% on a phantom adult hand


def test_fine_stage_improves_on_the_coarse_joints(scorer, phantom):
    loc = scorer.localizer
    rg = phantom.radiograph
    pyr = ImagePyramid(rg.pixels)
    _, coarse, _ = loc.coarse_stage(pyr, rg)
    fine = loc.fine_stage(pyr, rg.spacing_mm, dict(coarse), "hand")
    e_coarse = _errors_mm(coarse, phantom.landmarks, rg.spacing_mm)
    e_fine = _errors_mm(fine, phantom.landmarks, rg.spacing_mm)
    assert np.median(e_fine) < 0.6 * np.median(e_coarse) and np.median(e_fine) < 1.0
