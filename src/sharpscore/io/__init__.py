"""Loading radiographs: DICOM (every transfer syntax pydicom + pylibjpeg decode), PNG, JPEG, MetaImage.

>>> import numpy as np, sharpscore
>>> rg = sharpscore.load_radiograph(np.zeros((64, 48), np.uint8), spacing_mm=0.1)
>>> rg.shape, rg.spacing_mm
((64, 48), (0.1, 0.1))
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Union

import numpy as np

from ..errors import (CorruptImageError, ImageTooLargeError, InputError, NotAFileError, SharpScoreError,
                      UnknownFormatError)
from ..spatial import SpacingSource
from .intensity import integer_full_scale, to_unit_range
from .radiograph import Radiograph

__all__ = ["Radiograph", "load_radiograph", "sniff_format", "normalise_spacing", "read_spacing", "DEFAULT_MAX_PIXELS"]

DEFAULT_MAX_PIXELS = 100_000_000

Source = Union[str, os.PathLike, np.ndarray, "Any"]


def sniff_format(path: str | os.PathLike) -> str:
    """The format of a file judged by its content (``'dicom'``, ``'png'``, ``'jpeg'``, ``'mha'``);
    raises :class:`~sharpscore.errors.NotAFileError` or :class:`~sharpscore.errors.UnknownFormatError`."""
    p = Path(path)
    if not p.exists():
        raise NotAFileError(f"{p}: no such file")
    if p.is_dir():
        raise NotAFileError(f"{p}: is a directory, not a file")
    if not p.is_file():  # a FIFO, socket or device would block or never end
        raise NotAFileError(f"{p}: not a regular file")
    try:
        with p.open("rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise NotAFileError(f"{p}: cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise NotAFileError(f"{p}: empty file")
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    text = head.decode("latin-1")
    if "ObjectType" in text or "NDims" in text or "ElementDataFile" in text:
        return "mha"
    suffix = p.suffix.lower()
    if suffix in (".dcm", ".dicom", ".ima") or (suffix == "" and _looks_like_raw_dicom(head)):
        return "dicom"  # DICOM without the 128-byte preamble
    raise UnknownFormatError(f"{p}: unknown format; sharpscore reads DICOM, PNG, JPEG and MetaImage (.mha)")


def _looks_like_raw_dicom(head: bytes) -> bool:
    # Preamble-less DICOM usually starts with a group 0x0008 (or 0x0002) element, little endian.
    return len(head) >= 8 and head[1:2] == b"\x00" and head[0:1] in (b"\x02", b"\x08")


def normalise_spacing(spacing_mm: Any) -> tuple[float, float]:
    """``0.1`` or ``(0.1, 0.12)`` -> ``(row, col)`` floats; raises :class:`InputError` if invalid."""
    try:
        if isinstance(spacing_mm, (int, float)):
            row = col = float(spacing_mm)
        else:
            row, col = (float(v) for v in spacing_mm)
    except (TypeError, ValueError):
        raise InputError(f"spacing_mm must be a number or a (row, col) pair, not {spacing_mm!r}") from None
    if not all(math.isfinite(v) and v > 0 for v in (row, col)):
        raise InputError(f"spacing_mm must be positive, not {spacing_mm!r}")
    return (row, col)


def load_radiograph(source: Source, *, spacing_mm: float | tuple[float, float] | None = None,
                    apply_voi: bool = True, max_pixels: int = DEFAULT_MAX_PIXELS,
                    include_identifiers: bool = False) -> Radiograph:
    """Load a radiograph from a path, a pydicom ``Dataset`` or a 2-D numpy array.

    Args:
        source: path to a DICOM (any transfer syntax pydicom decodes with the pylibjpeg plugins),
            PNG, JPEG or MetaImage file; a ``pydicom.Dataset``; or a 2-D array (any numeric dtype).
        spacing_mm: pixel size in mm, ``s`` or ``(row, col)``; overrides what the file says.
        apply_voi: apply the DICOM VOI LUT / window when present (the modality LUT always is).
        max_pixels: refuse larger images (:class:`~sharpscore.errors.ImageTooLargeError`).
        include_identifiers: keep patient name/ID, UIDs and dates in ``metadata``.

    Returns:
        A :class:`Radiograph` with float32 pixels in [0, 1], bone bright.

    Raises:
        sharpscore.errors.InputError: a subclass naming what is wrong, in one line.
    """
    if isinstance(source, Radiograph):
        return source
    if isinstance(source, np.ndarray):
        return _from_array(source, spacing_mm=spacing_mm, max_pixels=max_pixels)
    try:
        from pydicom.dataset import Dataset
    except ImportError:  # pragma: no cover - pydicom is a hard dependency
        Dataset = ()  # type: ignore[assignment]
    if isinstance(source, Dataset):
        from .dicom import dataset_to_radiograph

        return _finite(dataset_to_radiograph(source, apply_voi=apply_voi, max_pixels=max_pixels,
                                             include_identifiers=include_identifiers, spacing_mm=spacing_mm))
    if not isinstance(source, (str, os.PathLike)):
        raise InputError(f"cannot load a radiograph from a {type(source).__name__}; give a path, "
                         "a pydicom Dataset or a 2-D numpy array")
    path = Path(source)
    fmt = sniff_format(path)
    options: dict[str, Any] = {"max_pixels": max_pixels}
    try:
        if fmt == "dicom":
            from .dicom import read_dicom

            rg = read_dicom(path, apply_voi=apply_voi, include_identifiers=include_identifiers, **options)
        elif fmt in ("png", "jpeg"):
            from .raster import read_raster

            rg = read_raster(path, fmt, **options)
        else:
            from .metaimage import read_metaimage

            rg = read_metaimage(path, **options)
    except SharpScoreError:
        raise
    except MemoryError:
        raise ImageTooLargeError(f"{path}: not enough memory to decode this image") from None
    except PermissionError:
        raise NotAFileError(f"{path}: cannot be read (permission denied)") from None
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, NotImplementedError,
            EOFError, OverflowError, ZeroDivisionError, RuntimeError) as exc:
        # The decoders (pydicom and its plugins, Pillow, the MetaImage reader) signal malformed files
        # in many ways: bounded fuzzing (bench/fuzz.py) found unknown DICOM VRs, truncated PNG chunks
        # and null bytes in MetaImage headers. Whatever the way, it is a corrupt file, said in one line.
        first = str(exc).splitlines()[0][:160] if str(exc) else "no detail"
        raise CorruptImageError(f"{path}: the {fmt.upper()} file is corrupt or malformed "
                                f"({type(exc).__name__}: {first})") from None
    _finite(rg)
    if spacing_mm is not None:
        rg.spacing_mm, rg.spacing_source = normalise_spacing(spacing_mm), SpacingSource.USER
    return rg


def _finite(rg: Radiograph) -> Radiograph:
    """NaN or infinite pixels (float DICOM/MetaImage data) would poison every score: refused."""
    if not np.isfinite(rg.pixels).all():
        from ..errors import CorruptImageError

        raise CorruptImageError(f"{rg.source}: pixel data contains NaN or infinite values")
    return rg


def _from_array(arr: np.ndarray, *, spacing_mm: Any, max_pixels: int) -> Radiograph:
    marks = None
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        from .colour import grey_and_marks

        if np.issubdtype(arr.dtype, np.integer):
            arr, marks = grey_and_marks(arr[..., :3], "<array>")
        else:
            arr = arr[..., 0]
    if arr.ndim != 2:
        raise InputError(f"expected a 2-D (H, W) array, got shape {arr.shape}")
    if arr.size == 0:
        raise InputError("empty array")
    if arr.size > max_pixels:
        raise ImageTooLargeError(f"array of {arr.size / 1e6:.1f} MP exceeds the limit of {max_pixels / 1e6:.0f} MP")
    if np.issubdtype(arr.dtype, np.bool_):
        arr = arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.integer) and arr.min() >= 0:
        pixels = to_unit_range(arr, low=0.0, high=integer_full_scale(arr))
    elif np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer):
        finite = np.isfinite(arr)
        if not finite.all():
            raise InputError("array contains NaN or infinite values")
        lo, hi = float(arr.min()), float(arr.max())
        pixels = to_unit_range(arr, low=0.0, high=1.0) if lo >= 0.0 and hi <= 1.0 else to_unit_range(arr)
    else:
        raise InputError(f"unsupported array dtype {arr.dtype}")
    spacing = normalise_spacing(spacing_mm) if spacing_mm is not None else None
    return Radiograph(pixels=pixels, spacing_mm=spacing, spacing_source=SpacingSource.USER if spacing else None,
                      source="<array>", format="array", marks=marks)


def read_spacing(path: str | os.PathLike) -> tuple[float, float] | None:
    """Pixel spacing ``(row, col)`` in mm from a file's header alone (no pixel decoding); ``None``
    for PNG/JPEG or when the header has no plausible spacing."""
    fmt = sniff_format(path)
    if fmt == "dicom":
        import pydicom

        from .dicom import _spacing

        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        return _spacing(ds, str(path))[0]
    if fmt == "mha":
        import SimpleITK as sitk

        from .dicom import plausible_spacing

        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        reader.ReadImageInformation()
        sx, sy = reader.GetSpacing()[:2]
        return plausible_spacing((sy, sx), "ElementSpacing", str(path))
    return None
