"""Grey content of colour-encoded radiographs, and burned-in coloured marks.

Clinics' exported films are often RGB: grey in all three channels, sometimes with coloured
measurement lines, arrows or text burned in. Such a film is still a radiograph: the marks (chroma
on a small fraction of pixels) are masked and filled from the surrounding film, the film is read
as grey, and the mask travels with it so that joints under a mark are flagged rather than scored
silently. A true colour photograph (chroma broadly over the image) is refused.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy import ndimage

from ..errors import ColourImageError

__all__ = ["grey_and_marks", "tolerance_for", "MAX_MARK_FRACTION"]

log = logging.getLogger(__name__)

# Marks are lines, arrows and text: a few percent of the film at most. Beyond this share of
# coloured pixels the image is a colour picture, not an annotated radiograph.
MAX_MARK_FRACTION = 0.05
MIN_MARK_PIXELS = 30
# A mark is drawn in saturated colour; grey content compressed with chroma subsampling (JPEG) keeps
# its channels within a few levels of each other. In 8-bit levels:
GREY_TOLERANCE_8BIT = 40


def tolerance_for(dtype: np.dtype) -> float:
    """Channel difference that still counts as grey, for integer data of ``dtype``."""
    bits = np.iinfo(dtype).bits if np.issubdtype(dtype, np.integer) else 8
    return GREY_TOLERANCE_8BIT * (2 ** (bits - 8))


def grey_and_marks(rgb: np.ndarray, source: str, *, tolerance: float | None = None) \
        -> tuple[np.ndarray, np.ndarray | None]:
    """``(grey, marks)`` of an (H, W, 3) integer array. ``grey`` keeps the input's dtype; ``marks`` is
    a boolean mask of burned-in coloured pixels (slightly dilated), or None when there are none.
    ``tolerance``: channel difference that still counts as grey (codec rounding, JPEG chroma noise).

    Raises:
        ColourImageError: colour over more than :data:`MAX_MARK_FRACTION` of the image.
    """
    tolerance = tolerance_for(rgb.dtype) if tolerance is None else tolerance
    chans = rgb[..., :3].astype(np.int32)
    spread = np.max(chans, axis=-1) - np.min(chans, axis=-1)
    grey = chans.sum(-1) // 3
    coloured = spread > tolerance
    fraction = float(coloured.mean())
    if int(coloured.sum()) < MIN_MARK_PIXELS:  # a few codec outliers are not a mark
        return grey.astype(rgb.dtype), None
    if fraction > MAX_MARK_FRACTION:
        raise ColourImageError(f"{source}: colour image ({100 * fraction:.0f}% of pixels coloured); a radiograph "
                               "must be greyscale (coloured marks on up to "
                               f"{100 * MAX_MARK_FRACTION:.0f}% of the film are accepted)")
    # A mark's anti-aliased rim is barely coloured: widen the mask by two pixels, then fill every
    # masked pixel with the nearest unmasked film value.
    marks = ndimage.binary_dilation(coloured, iterations=2)
    _, (iy, ix) = ndimage.distance_transform_edt(marks, return_indices=True)
    filled = grey[iy, ix]
    log.warning("%s: coloured marks burned into %.2f%% of the film were masked and the film read as grey",
                source, 100 * fraction)
    return filled.astype(rgb.dtype), marks
