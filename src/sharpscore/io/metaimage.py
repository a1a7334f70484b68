"""MetaImage (``.mha`` / ``.mhd``) radiographs through SimpleITK."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CorruptImageError, ImageTooLargeError, MultiFrameError
from ..spatial import SpacingSource
from .intensity import integer_full_scale, to_unit_range
from .radiograph import Radiograph

__all__ = ["read_metaimage"]


def read_metaimage(path: Path, *, max_pixels: int = 100_000_000, **_: Any) -> Radiograph:
    """Read a 2-D MetaImage; spacing comes from its ``ElementSpacing`` header."""
    import SimpleITK as sitk

    _check_data_file(path)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise CorruptImageError(f"{path}: MetaImage header cannot be read ({_first_line(exc)})") from None
    size = reader.GetSize()
    if len(size) == 3 and size[2] == 1:
        size = size[:2]
    if len(size) != 2:
        raise MultiFrameError(f"{path}: MetaImage of size {size}; expected one 2-D radiograph")
    if size[0] * size[1] > max_pixels:
        raise ImageTooLargeError(f"{path}: {size[0]} x {size[1]} px exceeds the limit of {max_pixels / 1e6:.0f} MP")
    if reader.GetNumberOfComponents() != 1:
        raise MultiFrameError(f"{path}: MetaImage with {reader.GetNumberOfComponents()} components per pixel")
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise CorruptImageError(f"{path}: MetaImage pixel data is truncated or corrupt ({_first_line(exc)})") from None
    arr = sitk.GetArrayViewFromImage(image)
    arr = np.asarray(arr).reshape(arr.shape[-2:])
    if np.issubdtype(arr.dtype, np.floating) and not np.isfinite(arr).all():
        raise CorruptImageError(f"{path}: pixel data contains NaN or infinite values")
    spacing_xy = image.GetSpacing()[:2]
    from .dicom import plausible_spacing

    spacing = plausible_spacing((spacing_xy[1], spacing_xy[0]), "ElementSpacing", str(path))
    if np.issubdtype(arr.dtype, np.integer) and arr.min(initial=0) >= 0:
        pixels = to_unit_range(arr, low=0.0, high=integer_full_scale(arr))
    else:
        pixels = to_unit_range(arr)
    return Radiograph(pixels=pixels, spacing_mm=spacing, spacing_source=SpacingSource.HEADER if spacing else None,
                      source=str(path), format="mha", metadata={"dtype": str(arr.dtype)})


def _check_data_file(path: Path) -> None:
    """Refuse a header whose ``ElementDataFile`` points outside its own folder (a MetaImage header
    can name any file on the machine as its pixel data)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(65536).decode("latin-1")
    except OSError as exc:
        raise CorruptImageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    for line in head.splitlines():
        key, _, value = line.partition("=")
        if key.strip() != "ElementDataFile":
            continue
        name = value.strip()
        if name.upper() in ("LOCAL", "") or name.upper().startswith("LIST"):
            return
        folder = path.resolve().parent
        target = (folder / name).resolve()
        if Path(name).is_absolute() or not target.is_relative_to(folder):
            raise CorruptImageError(f"{path}: ElementDataFile {name!r} lies outside the header's folder; refused")
        return


def _first_line(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__
