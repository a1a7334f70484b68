"""The :class:`Radiograph` container every sharpscore stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..spatial import as_spacing

__all__ = ["Radiograph"]


@dataclass
class Radiograph:
    """A decoded radiograph, normalised so that bone is bright.

    Attributes:
        pixels: float32 array (H, W) with values in [0, 1]; bone bright, air dark.
        spacing_mm: physical pixel size ``(row, col)`` in millimetres, or ``None`` when unknown.
        spacing_source: where the spacing came from, a :class:`sharpscore.spatial.SpacingSource`
            (``'ImagerPixelSpacing'``, ``'PixelSpacing'``, ``'user'``, ...) or ``None``.
        body_part: ``'hand'``, ``'foot'`` or ``None`` as stated by the file's tags (never guessed).
        laterality: ``'L'``, ``'R'`` or ``None`` from ImageLaterality, Laterality or descriptions.
        view: projection as tagged (e.g. ``'PA'``, ``'AP'``, ``'LL'``) or ``None``.
        source: where it came from (a path, ``'<array>'`` or ``'<pydicom Dataset>'``).
        format: ``'dicom'``, ``'png'``, ``'jpeg'``, ``'mha'`` or ``'array'``.
        metadata: de-identified acquisition details (photometric interpretation, transfer syntax,
            bits stored, modality, manufacturer, ...). Patient name, IDs, UIDs and dates appear
            only when loaded with ``include_identifiers=True``.
        marks: boolean (H, W) mask of coloured marks burned into a colour-encoded film (measurement
            lines, arrows, text), masked and filled from the surrounding film; ``None`` when there
            are none. Joints under a mark are flagged ``annotation_at_joint``.
    """

    pixels: np.ndarray
    spacing_mm: tuple[float, float] | None = None
    spacing_source: str | None = None
    body_part: str | None = None
    laterality: str | None = None
    view: str | None = None
    source: str = "<array>"
    format: str = "array"
    metadata: dict[str, Any] = field(default_factory=dict)
    marks: np.ndarray | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.pixels.shape[0]), int(self.pixels.shape[1]))

    @property
    def size_mm(self) -> tuple[float, float] | None:
        """Physical extent ``(height, width)`` in mm, when spacing is known."""
        if self.spacing_mm is None:
            return None
        sp = as_spacing(self.spacing_mm)
        return (self.shape[0] * sp.row, self.shape[1] * sp.col)

    def summary(self) -> dict[str, Any]:
        """What was understood about the radiograph, as plain values (used by ``sharpscore info``)."""
        out: dict[str, Any] = {
            "source": self.source,
            "format": self.format,
            "size_px": f"{self.shape[1]} x {self.shape[0]} (W x H)",
            "spacing_mm": None if self.spacing_mm is None else [round(v, 6) for v in self.spacing_mm],
            "spacing_source": self.spacing_source,
            "size_mm": None if self.size_mm is None else [round(v, 1) for v in self.size_mm],
            "body_part": self.body_part,
            "laterality": self.laterality,
            "view": self.view,
        }
        for key in ("photometric", "transfer_syntax", "transfer_syntax_uid", "bits_stored",
                    "modality", "body_part_examined", "voi_applied"):
            if key in self.metadata:
                out[key] = self.metadata[key]
        return out

    def __repr__(self) -> str:  # numpy arrays make the dataclass repr unreadable
        sp = "unknown" if self.spacing_mm is None else "{:.4g}x{:.4g} mm".format(*as_spacing(self.spacing_mm))
        return (f"Radiograph({self.shape[1]}x{self.shape[0]} px, spacing {sp}, body_part={self.body_part!r}, "
                f"laterality={self.laterality!r}, view={self.view!r}, source={self.source!r})")
