import pytest


def _cohort(tmp_path_factory, name, **kw):
    from sharpscore.synth import SynthConfig, generate_cohort

    out = tmp_path_factory.mktemp(name)
    generate_cohort(SynthConfig(n=1, seed=9, workers=1, id_prefix="P", **kw), out, progress=False)
    return out


@pytest.fixture(scope="session")
def dicom_patient(tmp_path_factory):
    """One phantom patient as four DICOM files (P00000-LH.dcm, ...) with labelme truth and training.csv."""
    return _cohort(tmp_path_factory, "dicom_patient", format="dicom")


@pytest.fixture(scope="session")
def jpeg_patient(tmp_path_factory):
    return _cohort(tmp_path_factory, "jpeg_patient")


@pytest.fixture(scope="session")
def scorer():
    from sharpscore.api import Scorer

    return Scorer()
