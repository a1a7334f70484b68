"""PNG and JPEG radiographs through Pillow."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .colour import grey_and_marks
from ..errors import CorruptImageError, ImageTooLargeError, MultiFrameError, UnknownFormatError
from .intensity import integer_full_scale, to_unit_range
from .radiograph import Radiograph

__all__ = ["read_raster"]


def read_raster(path: Path, fmt: str, *, max_pixels: int = 100_000_000, **_: Any) -> Radiograph:
    """Read an 8/16-bit greyscale (or grey-in-RGB) PNG or JPEG. Such files carry no trustworthy
    pixel spacing (DPI fields are display hints), so ``spacing_mm`` is ``None``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            previous = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None  # we apply our own limit below, before decoding
            try:
                img = Image.open(path)
            finally:
                Image.MAX_IMAGE_PIXELS = previous
    except UnidentifiedImageError:  # the signature said PNG/JPEG, the rest is not
        raise CorruptImageError(f"{path}: has a {fmt.upper()} signature but its header is corrupt") from None
    with img:
        w, h = img.size
        if w * h > max_pixels:
            raise ImageTooLargeError(f"{path}: {w} x {h} = {w * h / 1e6:.1f} MP exceeds the limit of "
                                     f"{max_pixels / 1e6:.0f} MP (raise max_pixels to allow it)")
        if getattr(img, "n_frames", 1) > 1:
            raise MultiFrameError(f"{path}: image with {img.n_frames} frames; expected one radiograph")
        try:
            img = ImageOps.exif_transpose(img)
            img.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise CorruptImageError(f"{path}: image data is truncated or corrupt ({exc})") from None
        mode = img.mode
        marks = None
        if mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(img)
            arr = arr.astype(np.uint16) if arr.min(initial=0) >= 0 and arr.max(initial=0) < 65536 else arr
        elif mode in ("L", "LA"):
            arr = np.asarray(img.getchannel(0))
        elif mode in ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr"):
            arr, marks = grey_and_marks(np.asarray(img.convert("RGB")), str(path))
        elif mode == "1":
            arr = np.asarray(img.convert("L"))
        elif mode == "F":
            return Radiograph(pixels=to_unit_range(np.asarray(img)), source=str(path), format=fmt,
                              metadata={"mode": mode})
        else:
            raise UnknownFormatError(f"{path}: unsupported image mode {mode}")
    pixels = to_unit_range(arr, low=0.0, high=integer_full_scale(arr))
    return Radiograph(pixels=pixels, source=str(path), format=fmt, marks=marks,
                      metadata={"mode": mode, "bit_depth": 8 if arr.dtype == np.uint8 else 16})
