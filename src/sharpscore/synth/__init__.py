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

__all__ = ["render", "write_example", "Acquisition", "PhantomImage", "DiseaseModel", "sample_patient_grades",
           "SynthConfig", "generate_cohort"]


def write_example(path: str = "hand.dcm", region: str = "RH", grades: dict | None = None, seed: int = 0):
    """Write one phantom radiograph as DICOM (spacing, body part and laterality tagged) to try
    sharpscore without data of your own; returns the :class:`PhantomImage` (with its true grades).

    ``grades``: ``{site: (erosion, jsn)}``; default: a few damaged joints."""
    from ..io.dicom_write import write_dicom
    from .. import schema

    kind = schema.region_kind(region)
    grades = grades if grades is not None else ({"mcp2": (2, 1), "pip3": (0, 2)} if kind == "hand"
                                                else {"mtp5": (4, 2)})
    img = render(region, grades, seed=seed)
    write_dicom(path, img.radiograph.pixels, spacing_mm=img.radiograph.spacing_mm, body_part=kind,
                laterality=schema.region_side(region))
    return img
