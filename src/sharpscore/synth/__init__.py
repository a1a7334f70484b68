"""Synthetic radiograph phantoms with known joint positions and SvdH grades.

>>> from sharpscore import synth
>>> rg, landmarks, grades = synth.render("RH", {"mcp2": (2, 1)}, seed=0, spacing_mm=0.2)
>>> rg.body_part, rg.laterality, grades["mcp2"]
('hand', 'R', {'erosion': 2, 'jsn': 1})
>>> sorted(landmarks)[:3]
['capnlun', 'cmc3', 'cmc4']
"""

from .cohort import SynthConfig, generate_cohort
from .disease import DiseaseModel, sample_patient_grades
from .render import Acquisition, PhantomImage, render

__all__ = ["render", "Acquisition", "PhantomImage", "DiseaseModel", "sample_patient_grades", "SynthConfig",
           "generate_cohort"]
