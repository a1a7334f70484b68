"""Every real DICOM in ../shared/data decodes like pydicom's own decoding, with bone bright."""

import numpy as np
import pydicom
import pytest

import sharpscore
from shared_data import shared_path

DICOMS = ["966_fixed.dcm", "JPEG2KLossless_1s_1f_u_16_16.dcm", "NM_Kakadu44_SOTmarkerincons.dcm",
          "RG1_JLSN.dcm", "RG1_UNCR.dcm", "RG2_JLSL.dcm", "RG2_JPLL.dcm", "RG2_JPLY_fixed.dcm",
          "RG3_J2KI.dcm", "RG3_J2KR.dcm", "RG3_UNCI.dcm", "RG3_UNCR.dcm"]


@pytest.mark.parametrize("name", DICOMS)
def test_decodes_like_pydicom(name):
    path = shared_path("dicom", name)
    rg = sharpscore.load_radiograph(path)
    raw = pydicom.dcmread(path).pixel_array.astype(np.float64)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert rg.pixels.dtype == np.float32 and rg.pixels.shape == raw.shape
    assert 0.0 <= rg.pixels.min() and rg.pixels.max() <= 1.0
    assert rg.format == "dicom" and rg.pixels.std() > 0.02
    # Same image as pydicom decodes it: a monotonic map of the stored values, increasing for
    # MONOCHROME2 and decreasing for MONOCHROME1 (bone bright either way).
    sign = -1 if ds.PhotometricInterpretation == "MONOCHROME1" else 1
    sample = (slice(None, None, 7), slice(None, None, 7))
    corr = np.corrcoef(raw[sample].ravel(), rg.pixels[sample].ravel())[0, 1]
    assert sign * corr > 0.9


def test_hand_file_orientation_spacing_and_tags():
    rg = sharpscore.load_radiograph(shared_path("dicom", "NM_Kakadu44_SOTmarkerincons.dcm"))
    assert rg.spacing_mm == (0.115, 0.115)
    assert rg.body_part == "hand" and rg.laterality == "R" and rg.view == "PA"
    h, w = rg.shape
    # Air around the hand (image corners, below the collimation edge) is dark; bone is bright.
    corner = rg.pixels[int(0.9 * h):, int(0.85 * w):]
    assert np.median(corner) < 0.15 < np.percentile(rg.pixels, 99)
    assert "PatientID" not in rg.metadata and "PatientName" not in rg.metadata
    assert rg.metadata["transfer_syntax_uid"] == "1.2.840.10008.1.2.4.90"


def test_identifiers_only_when_asked():
    path = shared_path("dicom", "NM_Kakadu44_SOTmarkerincons.dcm")
    rg = sharpscore.load_radiograph(path, include_identifiers=True)
    assert "StudyInstanceUID" in rg.metadata


@pytest.mark.parametrize("name", ["RG3_UNCR.dcm", "RG3_J2KR.dcm", "RG1_UNCR.dcm", "RG1_JLSN.dcm"])
def test_missing_or_invalid_spacing_is_none(name, caplog):
    rg = sharpscore.load_radiograph(shared_path("dicom", name))
    assert rg.spacing_mm is None and rg.spacing_source is None
    if name.startswith("RG1"):
        assert "not a plausible" in caplog.text


def test_monochrome1_chest_is_inverted_once():
    rg = sharpscore.load_radiograph(shared_path("dicom", "966_fixed.dcm"))
    assert rg.spacing_mm == (0.16, 0.16) and rg.body_part is None
    h, w = rg.shape
    # Lung fields (air inside the chest) are darker than the mediastinum/spine column.
    lungs = np.median(np.concatenate([rg.pixels[h // 3:2 * h // 3, w // 5:2 * w // 5].ravel(),
                                      rg.pixels[h // 3:2 * h // 3, 3 * w // 5:4 * w // 5].ravel()]))
    spine = np.median(rg.pixels[h // 3:2 * h // 3, int(0.47 * w):int(0.53 * w)])
    assert spine > lungs


def test_voi_window_can_be_skipped():
    path = shared_path("dicom", "NM_Kakadu44_SOTmarkerincons.dcm")
    assert sharpscore.load_radiograph(path).metadata["voi_applied"] is True
    assert sharpscore.load_radiograph(path, apply_voi=False).metadata["voi_applied"] is False


def test_window_that_misses_the_data_is_ignored():
    rg = sharpscore.load_radiograph(shared_path("dicom", "JPEG2KLossless_1s_1f_u_16_16.dcm"))
    assert rg.metadata["voi_applied"] is False and rg.pixels.std() > 0.02
    assert rg.spacing_mm == (0.4, 0.4) and rg.spacing_source == "ImagerPixelSpacing"


def test_metaimage_spacing_and_same_as_jpeg():
    mha = sharpscore.load_radiograph(shared_path("dha-hands", "images", "3167.mha"))
    jpg = sharpscore.load_radiograph(shared_path("dha-hands", "images", "3167.jpg"))
    assert mha.spacing_mm == pytest.approx((0.108075, 0.108075))
    assert mha.format == "mha" and jpg.format == "jpeg" and jpg.spacing_mm is None
    assert mha.shape == jpg.shape
    assert np.corrcoef(mha.pixels[::5, ::5].ravel(), jpg.pixels[::5, ::5].ravel())[0, 1] > 0.95
