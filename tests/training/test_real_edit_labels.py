"""Edited real films are labelled with the grades the edit drew, not the grades asked for."""

from __future__ import annotations

import numpy as np

from sharpscore.synth.edit import edit_radiograph
from sharpscore.training.data import Sample, _EditedFilm, _OneFilm
from sharpscore.io import Radiograph


class _Blank(_OneFilm):
    """A film with no bone at all: no erosion and no narrowing can be drawn on it."""

    def __init__(self):
        super().__init__(Sample(key="blank", patient_id="blank", region="LH"), 0.15, 10)

    def get(self):
        rg = Radiograph(pixels=np.full((400, 300), 0.3, np.float32), spacing_mm=(0.15, 0.15), source="blank")
        lm = {"mcp3": (150.0, 200.0), "pip3": (150.0, 120.0), "mc1": (60.0, 300.0)}
        return rg, lm


def test_labels_are_the_grades_drawn():
    asked = {"mcp3": {"erosion": 3, "jsn": 2}, "pip3": {"erosion": 2, "jsn": 1}}
    sample = Sample(key="blank-edit1", patient_id="blank-edit1", region="LH", landmarks={}, grades=asked)
    _EditedFilm(_Blank(), sample, asked, seed=1, osteopenia=0.0, swelling=0.0, edited=True)()
    assert sample.grades["mcp3"] == {"erosion": 0, "jsn": 0}
    assert sample.grades["pip3"] == {"erosion": 0, "jsn": 0}
    rg, lm = _Blank().get()
    drawn = edit_radiograph(rg.pixels, lm, rg.spacing_mm, "LH", asked, seed=1).grades
    assert sample.grades == drawn
