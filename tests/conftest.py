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
