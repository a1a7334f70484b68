"""Shared fixtures (helpers live in shared_data.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared_data import shared_path


@pytest.fixture
def shared_dicom_dir() -> Path:
    return shared_path("dicom")


@pytest.fixture
def hand_dicom() -> Path:
    return shared_path("dicom", "NM_Kakadu44_SOTmarkerincons.dcm")


# ---- phantom patients and a loaded Scorer for the API tests (tests/api)

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


# ---- the fast tier: `pytest -m "not slow"` (make test-fast) leaves out what loads the shipped
# models, renders cohorts or trains; `make test` runs everything.
_SLOW_FIXTURES = {"scorer", "dicom_patient", "jpeg_patient"}
# modules whose tests load models, train or render many films (measured with --durations)
_SLOW_MODULES: tuple[str, ...] = (
    "tests/training/", "tests/scoring/test_training.py", "tests/scoring/test_model.py", "tests/cli/test_demo.py",
    "tests/cli/test_reader_workflow.py", "tests/test_no_side_effects.py", "tests/synth/test_render.py",
    "tests/synth/test_real_prior.py", "tests/synth/test_cohort.py", "tests/synth/test_edit.py",
    "tests/synth/test_longitudinal.py", "tests/synth/test_real_cohort.py", "tests/api/", "tests/localize/test_locate.py", "tests/test_jsw.py",
    "tests/io/test_load_shared.py", "tests/evaluation/test_report.py", "tests/test_readme.py",
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = str(getattr(item, "path", ""))
        if _SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or any(m in path for m in _SLOW_MODULES):
            item.add_marker(pytest.mark.slow)
