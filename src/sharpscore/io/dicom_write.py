"""Writing radiographs as DICOM (CR or DX) with pydicom: used by the phantom generator and tests."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    ExplicitVRLittleEndian,
    PYDICOM_IMPLEMENTATION_UID,
    generate_uid,
)

__all__ = ["make_dicom_dataset", "write_dicom", "CR_IMAGE_STORAGE", "DX_PRESENTATION_STORAGE"]

CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
DX_PRESENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.1.1"

# A stable UID root for objects sharpscore writes (pydicom's registered prefix + a project arc).
UID_PREFIX = "1.2.826.0.1.3680043.8.498.77."

_BODY_PART_TAG = {"hand": "HAND", "foot": "FOOT"}
_ANATOMY = {"hand": ("85562004", "SCT", "Hand"), "foot": ("56459004", "SCT", "Foot")}  # SNOMED CT, CID 4031


def _view_code(view: str) -> Dataset | None:
    """The SNOMED CT projection (CID 4010) of a ViewPosition, from pydicom's code dictionary."""
    from pydicom.sr.codedict import codes

    code = {"PA": codes.SCT.PosteroAnterior, "AP": codes.SCT.AnteroPosterior,
            "DP": codes.SCT.Dorsoplantar}.get(view.upper())
    return None if code is None else _code(code.value, code.scheme_designator, code.meaning)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def make_dicom_dataset(pixels: np.ndarray, *, spacing_mm: float | tuple[float, float] | None = None,
                       photometric: str = "MONOCHROME2", bits_stored: int = 12, modality: str = "DX",
                       body_part: str | None = None, laterality: str | None = None, view: str | None = "PA",
                       patient_id: str = "ANON", patient_name: str = "ANONYMOUS^PHANTOM",
                       study_uid: str | None = None, seed_uid: str | None = None,
                       series_description: str | None = None, patient_orientation: tuple[str, str] | None = None,
                       extra: dict[str, Any] | None = None) -> Dataset:
    """A complete single-frame DICOM dataset for a greyscale radiograph (CR Image, or DX Image For
    Presentation), with every attribute its IOD requires (dciodvfy reports no error).

    ``pixels`` are stored values: an integer array within ``bits_stored`` (MONOCHROME2: high = bright
    bone; pass already-inverted values for MONOCHROME1), or floats in [0, 1] that are scaled to the
    bit depth (and inverted for MONOCHROME1). ``seed_uid`` makes every UID deterministic.
    ``patient_orientation``: the patient directions of the rows and columns (e.g. ``("L", "H")``);
    present and empty when not given (a DX image then lacks a Type 1C value: say it where known).
    """
    photometric = photometric.upper()
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise ValueError(f"photometric must be MONOCHROME1 or MONOCHROME2, not {photometric}")
    top = 2**bits_stored - 1
    if np.issubdtype(pixels.dtype, np.floating):
        values = np.clip(pixels, 0.0, 1.0)
        if photometric == "MONOCHROME1":
            values = 1.0 - values
        stored = np.round(values * top).astype(np.uint16 if bits_stored > 8 else np.uint8)
    else:
        stored = pixels.astype(np.uint16 if bits_stored > 8 else np.uint8)
        if stored.max(initial=0) > top:
            raise ValueError(f"pixel values exceed {bits_stored} bits")

    def uid(kind: str) -> str:
        return generate_uid(prefix=UID_PREFIX, entropy_srcs=[seed_uid, kind] if seed_uid else None)

    sop_class = DX_PRESENTATION_STORAGE if modality == "DX" else CR_IMAGE_STORAGE
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = uid("sop")
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID

    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = study_uid or uid("study")
    ds.SeriesInstanceUID = uid("series")
    ds.Modality = modality
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientSex = "O"
    ds.PatientBirthDate = ""  # Type 2: present, unknown
    ds.StudyDate = _dt.date(2000, 1, 1).strftime("%Y%m%d")  # fixed: keeps output reproducible
    ds.StudyTime = "120000"
    ds.ContentDate = ds.StudyDate
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.Manufacturer = "sharpscore phantom"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.PatientOrientation = list(patient_orientation) if patient_orientation else ""
    if modality == "DX":
        ds.PresentationIntentType = "FOR PRESENTATION"
        ds.PresentationLUTShape = "INVERSE" if photometric == "MONOCHROME1" else "IDENTITY"
        ds.PixelIntensityRelationship = "LIN"
        # +1: lower stored values mean less X-ray reaching the detector (bone), as MONOCHROME1 stores it
        ds.PixelIntensityRelationshipSign = 1 if photometric == "MONOCHROME1" else -1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = "0", "1", "US"
        ds.WindowCenter, ds.WindowWidth = str(2 ** (bits_stored - 1)), str(2**bits_stored)  # the full range
        ds.LossyImageCompression = "00"
        ds.BurnedInAnnotation = "NO"
        ds.DetectorType = ""
        ds.PositionerType = ""
        ds.AcquisitionContextSequence = []
    if body_part:
        ds.BodyPartExamined = _BODY_PART_TAG.get(body_part, body_part.upper())
    if body_part in _ANATOMY or modality == "DX":
        ds.AnatomicRegionSequence = [_code(*_ANATOMY[body_part])] if body_part in _ANATOMY else []
    if laterality:
        ds.ImageLaterality = laterality
    if view:
        ds.ViewPosition = view
        view_code = _view_code(view) if modality == "DX" else None  # not in the CR Image IOD
        if view_code is not None:
            ds.ViewCodeSequence = [view_code]
    if series_description:
        ds.SeriesDescription = series_description
    if spacing_mm is not None:
        row, col = (spacing_mm, spacing_mm) if isinstance(spacing_mm, (int, float)) else spacing_mm
        ds.ImagerPixelSpacing = [f"{row:.6g}", f"{col:.6g}"]
        ds.PixelSpacing = [f"{row:.6g}", f"{col:.6g}"]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = (int(v) for v in stored.shape)
    ds.BitsAllocated = 16 if bits_stored > 8 else 8
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(stored).tobytes()
    for key, value in (extra or {}).items():
        setattr(ds, key, value)
    return ds


def write_dicom(path: str | Path, pixels: np.ndarray, *, transfer_syntax: str | None = None,
                **kwargs: Any) -> Path:
    """Write ``pixels`` as a DICOM file (see :func:`make_dicom_dataset`); ``transfer_syntax``
    compresses it with pydicom's encoders (e.g. ``pydicom.uid.RLELossless``)."""
    from .._fsutil import atomic_write

    ds = make_dicom_dataset(pixels, **kwargs)
    if transfer_syntax and transfer_syntax != ExplicitVRLittleEndian:
        ds.compress(transfer_syntax)
    return atomic_write(path, lambda p: pydicom.dcmwrite(p, ds, enforce_file_format=True))
