"""DICOM radiographs through pydicom 3 and its pylibjpeg decoder plugins."""

from __future__ import annotations

import logging
import math
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from ..spatial import SpacingSource, as_spacing

from ..errors import (
    CorruptImageError,
    DecoderMissingError,
    ImageTooLargeError,
    MultiFrameError,
    NoPixelDataError,
    NotAFileError,
    UnknownFormatError,
)
from . import j2k
from .colour import grey_and_marks
from .intensity import to_unit_range
from .radiograph import Radiograph

__all__ = ["read_dicom", "dataset_to_radiograph", "plausible_spacing", "SPACING_RANGE_MM"]

log = logging.getLogger(__name__)

# Pixel sizes outside this range are not those of a projection radiograph: treat them as unknown.
SPACING_RANGE_MM = (0.02, 2.0)

_PIXEL_TAGS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

# Decoder plugins by transfer syntax family, to name the package a user must install.
_PLUGIN_HINTS = {
    "1.2.840.10008.1.2.4.5": "pylibjpeg and pylibjpeg-libjpeg",  # JPEG baseline/extended/lossless
    "1.2.840.10008.1.2.4.7": "pylibjpeg and pylibjpeg-libjpeg",
    "1.2.840.10008.1.2.4.8": "pylibjpeg and pylibjpeg-libjpeg",  # JPEG-LS
    "1.2.840.10008.1.2.4.9": "pylibjpeg and pylibjpeg-openjpeg",  # JPEG 2000
    "1.2.840.10008.1.2.4.2": "pylibjpeg and pylibjpeg-openjpeg",  # HTJ2K
    "1.2.840.10008.1.2.5": "pylibjpeg and pylibjpeg-rle",
}

_BODY_PARTS = {
    "hand": ("HAND", "FINGER", "WRIST", "THUMB", "METACARP", "CARP"),
    "foot": ("FOOT", "TOE", "FEET", "FOREFOOT", "METATARS", "HALLUX"),
}


def read_dicom(path: Path, **options: Any) -> Radiograph:
    """Read a DICOM file from disk (see :func:`sharpscore.load_radiograph` for the options)."""
    try:
        try:
            ds = pydicom.dcmread(path)
        except InvalidDicomError:
            ds = pydicom.dcmread(path, force=True)  # DICOM written without the 128-byte preamble
            if "SOPClassUID" not in ds and not any(tag in ds for tag in _PIXEL_TAGS):
                raise UnknownFormatError(f"{path}: not a DICOM file") from None
    except (OSError, EOFError) as exc:
        if isinstance(exc, (FileNotFoundError, IsADirectoryError)):
            raise NotAFileError(f"{path}: {exc.strerror or exc}") from None
        raise CorruptImageError(f"{path}: the DICOM file is truncated or unreadable ({exc})") from None
    except Exception as exc:  # pydicom raises many kinds on garbage input
        raise CorruptImageError(f"{path}: the DICOM header cannot be parsed ({type(exc).__name__}: {exc})") from None
    return dataset_to_radiograph(ds, source=str(path), **options)


def dataset_to_radiograph(ds: Dataset, *, source: str = "<pydicom Dataset>", apply_voi: bool = True,
                          max_pixels: int = 100_000_000, include_identifiers: bool = False,
                          spacing_mm: Any = None) -> Radiograph:
    """Decode a pydicom ``Dataset`` into a bone-bright :class:`Radiograph`."""
    if not any(tag in ds for tag in _PIXEL_TAGS):
        what = _describe_sop(ds)
        raise NoPixelDataError(f"{source}: DICOM object without pixel data{what}; not a radiograph")

    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    if rows <= 0 or cols <= 0:
        raise CorruptImageError(f"{source}: DICOM Rows/Columns missing or zero")
    if rows * cols > max_pixels:
        raise ImageTooLargeError(f"{source}: {cols} x {rows} = {rows * cols / 1e6:.1f} MP exceeds the "
                                 f"limit of {max_pixels / 1e6:.0f} MP (raise max_pixels to allow it)")
    if frames > 1:
        raise MultiFrameError(f"{source}: multi-frame DICOM ({frames} frames); sharpscore expects one "
                              "radiograph per file")

    tsuid = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    _check_decoder(tsuid, source)
    try:
        with _pydicom_quiet():
            arr = None
            if samples == 1 and tsuid in j2k.SYNTAXES:  # on several threads when imagecodecs is installed
                from .._threads import decode_threads

                arr = j2k.decode(ds, tsuid, decode_threads())
            if arr is None:
                arr = ds.pixel_array
    except Exception as exc:  # every decoder signals corrupt data differently
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        detail = " ".join(lines[:2]) if lines and lines[0].endswith(":") else (lines[0] if lines else "no detail")
        raise CorruptImageError(f"{source}: pixel data cannot be decoded ({type(exc).__name__}: {detail})") from None

    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    marks = None
    if samples > 1 or arr.ndim == 3:
        arr, marks = _single_channel(arr, source, photometric)
        photometric = "MONOCHROME2"
    if arr.ndim != 2:
        raise CorruptImageError(f"{source}: decoded pixel array has shape {arr.shape}, expected 2-D")

    pixels, voi_applied = _to_display(arr, ds, photometric, apply_voi)
    spacing, spacing_source = _spacing(ds, source)
    if spacing_mm is not None:
        from . import normalise_spacing  # local import: avoids a cycle at package import time

        spacing, spacing_source = normalise_spacing(spacing_mm), SpacingSource.USER

    ts_name = ""
    if tsuid:
        try:
            ts_name = pydicom.uid.UID(tsuid).name
        except Exception:  # pragma: no cover - unknown UIDs still have a string form
            ts_name = tsuid
    metadata: dict[str, Any] = {
        "photometric": photometric,
        "transfer_syntax": ts_name,
        "transfer_syntax_uid": tsuid,
        "bits_stored": _int_or_none(ds.get("BitsStored")),
        "bits_allocated": _int_or_none(ds.get("BitsAllocated")),
        "modality": _str_or_none(ds.get("Modality")),
        "manufacturer": _str_or_none(ds.get("Manufacturer")),
        "manufacturer_model": _str_or_none(ds.get("ManufacturerModelName")),
        "body_part_examined": _str_or_none(ds.get("BodyPartExamined")),
        "view_position": _str_or_none(ds.get("ViewPosition")),
        "image_laterality": _str_or_none(ds.get("ImageLaterality")),
        "presentation_lut_shape": _str_or_none(ds.get("PresentationLUTShape")),
        "series_description": _str_or_none(ds.get("SeriesDescription")),
        "study_description": _str_or_none(ds.get("StudyDescription")),
        "patient_sex": _str_or_none(ds.get("PatientSex")),
        "patient_age": _str_or_none(ds.get("PatientAge")),
        "sop_class_uid": _str_or_none(ds.get("SOPClassUID")),
        "voi_applied": voi_applied,
    }
    if include_identifiers:
        for key in ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "StudyTime",
                    "AccessionNumber", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
            metadata[key] = _str_or_none(ds.get(key))
    return Radiograph(
        pixels=pixels,
        spacing_mm=spacing,
        spacing_source=spacing_source,
        body_part=_body_part(ds),
        laterality=_laterality(ds),
        view=_view(ds),
        source=source,
        format="dicom",
        metadata={k: v for k, v in metadata.items() if v is not None},
        marks=marks,
    )


def _describe_sop(ds: Dataset) -> str:
    sop = ds.get("SOPClassUID")
    if sop is None:
        return ""
    try:
        return f" ({pydicom.uid.UID(str(sop)).name})"
    except Exception:  # pragma: no cover
        return f" (SOP class {sop})"


@contextmanager
def _pydicom_quiet():
    """pydicom logs each decoder plugin that fails with its traceback; the typed error says it once."""
    logger = logging.getLogger("pydicom")
    before = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(before)


def _check_decoder(tsuid: str, source: str) -> None:
    if not tsuid:
        return
    from pydicom.pixels import get_decoder

    try:
        decoder = get_decoder(tsuid)
    except NotImplementedError:
        raise DecoderMissingError(f"{source}: no pixel data decoder exists for transfer syntax {tsuid}") from None
    if not decoder.is_available:
        hint = next((pkg for prefix, pkg in _PLUGIN_HINTS.items() if tsuid.startswith(prefix)),
                    "a pydicom decoder plugin")
        name = pydicom.uid.UID(tsuid).name
        raise DecoderMissingError(f"{source}: decoding {name} needs {hint}; install it with "
                                  f"`pip install {hint.replace(' and ', ' ')}`")


def _single_channel(arr: np.ndarray, source: str, photometric: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The grey content of a colour-encoded radiograph and its burned-in coloured marks (if any);
    real colour images are refused."""
    if arr.ndim != 3 or arr.shape[-1] not in (3, 4):
        raise MultiFrameError(f"{source}: pixel array of shape {arr.shape} is not a single 2-D radiograph")
    # pydicom converts YBR to RGB by default, so grey content has equal channels here too.
    return grey_and_marks(arr[..., :3], f"{source} ({photometric})")


def _window_spans_stored_range(ds: Dataset) -> bool:
    """Whether the (first) VOI window is linear over at least the whole unsigned stored range,
    without a modality rescale: e.g. centre 2048, width 4096 at 12 bits, as many DX/CR files carry."""
    if "VOILUTSequence" in ds or "ModalityLUTSequence" in ds or int(ds.get("PixelRepresentation", 0) or 0):
        return False
    if float(ds.get("RescaleSlope", 1) or 1) != 1 or float(ds.get("RescaleIntercept", 0) or 0) != 0:
        return False
    if str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper() != "LINEAR":
        return False
    bits = int(ds.get("BitsStored", 0) or 0)
    try:
        centre, width = (float(v[0] if isinstance(v, pydicom.multival.MultiValue) else v)
                         for v in (ds.WindowCenter, ds.WindowWidth))
    except (AttributeError, TypeError, ValueError, IndexError):
        return False
    return bits > 0 and centre - width / 2 <= 0 and centre + width / 2 >= 2**bits - 1


def _to_display(arr: np.ndarray, ds: Dataset, photometric: str, apply_voi: bool) -> tuple[np.ndarray, bool]:
    """Modality LUT, optional VOI LUT/window, then invert so that bone is bright; to [0, 1]."""
    if "ModalityLUTSequence" in ds:
        values = apply_modality_lut(arr, ds)
    else:
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        values = arr.astype(np.float32)
        if slope != 1.0 or intercept != 0.0:
            values = values * np.float32(slope) + np.float32(intercept)

    voi_applied = False
    has_voi = "VOILUTSequence" in ds or ("WindowCenter" in ds and "WindowWidth" in ds)
    # A linear window over the whole stored range shows the stored values as they are: applied as
    # the full-scale reading below (a min-max stretch after it would change a phantom's contrast).
    identity_window = apply_voi and has_voi and _window_spans_stored_range(ds)
    if apply_voi and has_voi and not identity_window:
        try:
            windowed = apply_voi_lut(values, ds, index=0, prefer_lut=True)
        except Exception as exc:  # a malformed window should not make the image unreadable
            log.warning("ignoring unusable VOI LUT/window (%s)", exc)
        else:
            if _saturated_fraction(windowed) > 0.98:
                # A window that misses the data (seen on phantoms and re-encoded files) would
                # leave a blank image: the raw values are the better view.
                log.warning("ignoring VOI LUT/window that saturates nearly every pixel")
            else:
                values, voi_applied = windowed, True

    if voi_applied:
        # The VOI output spans the window; normalise over the actual output range.
        pixels = to_unit_range(values)
    else:
        voi_applied = identity_window
        bits = int(ds.get("BitsStored", 0) or 0)
        signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
        if "ModalityLUTSequence" not in ds and bits and not signed and float(ds.get("RescaleSlope", 1) or 1) == 1 \
                and float(ds.get("RescaleIntercept", 0) or 0) == 0:
            # Raw stored values: the full scale is known from BitsStored (lossy codecs may overshoot).
            pixels = to_unit_range(values, low=0.0, high=max(float(2**bits - 1), float(values.max())))
        else:
            pixels = to_unit_range(values)

    shape = str(ds.get("PresentationLUTShape", "") or "").strip().upper()
    # MONOCHROME1 shows low values as white. Its PresentationLUTShape is INVERSE by definition
    # (PS3.3 DX module), which states the same thing again, so invert once, not twice.
    if photometric == "MONOCHROME1" or (photometric == "MONOCHROME2" and shape == "INVERSE"):
        pixels = np.subtract(np.float32(1.0), pixels, out=pixels)
    return pixels, voi_applied


def _saturated_fraction(values: np.ndarray) -> float:
    """Fraction of pixels sitting at the output's minimum or maximum value."""
    sample = values[::4, ::4]
    lo, hi = sample.min(), sample.max()
    if hi <= lo:
        return 1.0
    return float(max(np.mean(sample <= lo), np.mean(sample >= hi)))


def plausible_spacing(values: Any, what: str, source: str) -> tuple[float, float] | None:
    """A ``(row, col)`` spacing in mm, or ``None`` (with a warning) if absent or implausible."""
    if values is None:
        return None
    try:
        seq = list(values) if not isinstance(values, (int, float)) else [values, values]
        row, col = float(seq[0]), float(seq[1] if len(seq) > 1 else seq[0])
    except (TypeError, ValueError, IndexError):
        log.warning("%s: unreadable %s %r; spacing unknown", source, what, values)
        return None
    lo, hi = SPACING_RANGE_MM
    if not all(math.isfinite(v) and lo <= v <= hi for v in (row, col)):
        log.warning("%s: %s %s x %s mm is not a plausible radiograph pixel size; spacing unknown",
                    source, what, row, col)
        return None
    return (row, col)


def _spacing(ds: Dataset, source: str) -> tuple[tuple[float, float] | None, str | None]:
    imager = ds.get("ImagerPixelSpacing")
    if imager is not None:
        spacing = plausible_spacing(imager, "ImagerPixelSpacing", source)
        if spacing is not None:
            ermf = ds.get("EstimatedRadiographicMagnificationFactor")
            try:
                factor = float(ermf) if ermf not in (None, "") else None
            except (TypeError, ValueError):
                factor = None
            if factor is not None and 0.5 <= factor <= 3.0:
                return tuple(as_spacing(spacing).scaled(1 / factor, 1 / factor)), SpacingSource.IMAGER_PIXEL_SPACING_ERMF
            if factor is not None:
                log.warning("%s: ignoring implausible EstimatedRadiographicMagnificationFactor %s", source, ermf)
            return spacing, SpacingSource.IMAGER_PIXEL_SPACING
    pixel = ds.get("PixelSpacing")
    if pixel is not None:
        spacing = plausible_spacing(pixel, "PixelSpacing", source)
        if spacing is not None:
            return spacing, SpacingSource.PIXEL_SPACING
    return None, None


def _text(ds: Dataset, *keys: str) -> str:
    parts = []
    for key in keys:
        value = ds.get(key)
        if value not in (None, ""):
            parts.append(str(value))
    return " ".join(parts).upper()


# BodyPartExamined values (DICOM PS3.16 CID 4031 and common vendor spellings) of parts a hand or
# foot film cannot be: a hand or foot found on such a film contradicts its tag. Generic values
# ('EXTREMITY', 'ARM', 'LEG', 'ANKLE', 'OTHER', ...) contradict nothing.
_OTHER_BODY_PARTS = ("CHEST", "THORAX", "LUNG", "ABDOMEN", "PELVIS", "HIP", "KNEE", "SKULL", "HEAD", "BRAIN",
                     "SPINE", "CSPINE", "TSPINE", "LSPINE", "SACRUM", "SHOULDER", "CLAVICLE", "ELBOW",
                     "FEMUR", "THIGH", "BREAST", "NECK", "JAW", "SINUS", "RIB")


def other_body_part(tag: str | None) -> str | None:
    """The body part a BodyPartExamined value names when it is one a hand or foot film cannot be
    (``'CHEST'``, ``'HIP'``, ...), else None (hand, foot, generic or empty values)."""
    text = str(tag or "").strip().upper()
    if not text or any(w in text for words in _BODY_PARTS.values() for w in words):
        return None
    words = set(re.split(r"[^A-Z]+", text))
    return next((part for part in _OTHER_BODY_PARTS if part in words), None)


def _body_part(ds: Dataset) -> str | None:
    tagged = _text(ds, "BodyPartExamined")
    described = _text(ds, "SeriesDescription", "StudyDescription", "ProtocolName")
    for text in (tagged, described):
        if not text:
            continue
        for part, words in _BODY_PARTS.items():
            if any(w in text for w in words):
                return part
        if text is tagged:
            return None  # an explicit other body part (CHEST, HIP ...) is not overridden by prose
    return None


_LEFT = re.compile(r"(?<![A-Z])(LEFT|LT|L)(?![A-Z])")
_RIGHT = re.compile(r"(?<![A-Z])(RIGHT|RT|R)(?![A-Z])")


def _laterality(ds: Dataset) -> str | None:
    for key in ("ImageLaterality", "Laterality", "FrameLaterality"):
        value = str(ds.get(key, "") or "").strip().upper()
        if value in ("L", "R"):
            return value
    text = _text(ds, "SeriesDescription", "ProtocolName", "StudyDescription")
    left, right = bool(_LEFT.search(text)), bool(_RIGHT.search(text))
    if left != right:
        return "L" if left else "R"
    return None


_VIEWS = ("PA", "AP", "LL", "RL", "LAT", "OBL", "DP", "PLANTAR")


def _view(ds: Dataset) -> str | None:
    value = str(ds.get("ViewPosition", "") or "").strip().upper()
    if value:
        return value
    text = _text(ds, "SeriesDescription", "ProtocolName")
    for v in _VIEWS:
        if re.search(rf"(?<![A-Z]){v}(?![A-Z])", text):
            return v
    return None


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
