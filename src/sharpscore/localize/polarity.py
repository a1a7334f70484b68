"""Is bone bright? A film's polarity from the bones the localiser found.

Along a phalanx, the middle of the shaft (bone) is brighter than the soft tissue or air beside it on
a correctly displayed radiograph, and darker on an inverted one (a negative export, a mistagged
MONOCHROME1 file). :func:`shaft_contrast` measures that at every phalanx between two located joints
(four proximal and four middle phalanges and the thumb's on a hand, the hallux's on a foot).
On real and phantom films checked (``tests/localize/test_polarity.py``) the median contrast is
+0.18 or more; on the real adult hand inverted it is -0.10. A negative film is also hard to
localise: its joints come out unsure, so the localiser confirms a suspicion by locating the
negated film (:meth:`sharpscore.localize.Localizer.predict`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.ndimage import map_coordinates

from ..spatial import as_spacing, to_mm, to_px

__all__ = ["SHAFTS", "shaft_contrast", "looks_inverted", "polarity"]

SHAFTS = {"hand": [(f"mcp{d}", f"pip{d}") for d in range(2, 6)] + [(f"pip{d}", f"dip{d}") for d in range(2, 6)]
          + [("mcp1", "ip")],
          "foot": [("mtp1", "ip")]}
INVERTED_BELOW = -0.02  # median shaft contrast (intensity units) below which the film is inverted
_MIN_CONFIDENCE = 0.3


def _shafts(pixels: np.ndarray, landmarks: Mapping[str, tuple[float, ...]], spacing_mm, kind: str
            ) -> tuple[np.ndarray, np.ndarray]:
    """Every measurable phalanx: its contrast (below) and the lower confidence of its two joints."""
    sp = as_spacing(spacing_mm)
    contrast, confidence = [], []
    for a, b in SHAFTS[kind]:
        if a not in landmarks or b not in landmarks:
            continue
        ma, mb = to_mm(np.asarray(landmarks[a][:2], float), sp), to_mm(np.asarray(landmarks[b][:2], float), sp)
        length = float(np.linalg.norm(mb - ma))
        if length < 5.0:
            continue
        d = (mb - ma) / length
        normal = np.array([-d[1], d[0]])
        along = ma + np.linspace(0.35, 0.65, 7)[:, None] * (mb - ma)

        def mean_at(offset_mm: float) -> float:
            px = to_px(along + offset_mm * normal, sp)
            return float(map_coordinates(pixels, [px[:, 1], px[:, 0]], order=1, mode="nearest").mean())

        contrast.append(mean_at(0.0) - 0.5 * (mean_at(0.3 * length) + mean_at(-0.3 * length)))
        confidence.append(min(_conf(landmarks[a]), _conf(landmarks[b])))
    return np.asarray(contrast, float), np.asarray(confidence, float)


def shaft_contrast(pixels: np.ndarray, landmarks: Mapping[str, tuple[float, ...]], spacing_mm, kind: str, *,
                   min_confidence: float = _MIN_CONFIDENCE) -> np.ndarray:
    """For each phalanx between two confidently located joints: mean intensity along the middle
    third of the shaft minus that at 0.3 shaft lengths to either side (soft tissue or air)."""
    contrast, confidence = _shafts(pixels, landmarks, spacing_mm, kind)
    return contrast[confidence >= min_confidence]


def _inverted(contrast: np.ndarray) -> bool:
    return bool(len(contrast)) and float(np.median(contrast)) < INVERTED_BELOW


def looks_inverted(pixels: np.ndarray, landmarks: Mapping[str, tuple[float, ...]], spacing_mm, kind: str, *,
                   min_confidence: float = _MIN_CONFIDENCE) -> bool:
    """True when the phalanges read darker than what lies beside them (median contrast below
    ``INVERTED_BELOW``); False when they read brighter or no phalanx could be measured. Only joints
    located with at least ``min_confidence`` count."""
    return _inverted(shaft_contrast(pixels, landmarks, spacing_mm, kind, min_confidence=min_confidence))


def polarity(pixels: np.ndarray, landmarks: Mapping[str, tuple[float, ...]], spacing_mm, kind: str) -> str:
    """``'inverted'`` when the confidently located phalanges read dark, ``'suspect'`` when only the
    unsure ones do (to be confirmed), ``'bright'`` otherwise; one pass over the phalanges."""
    contrast, confidence = _shafts(pixels, landmarks, spacing_mm, kind)
    if _inverted(contrast[confidence >= _MIN_CONFIDENCE]):
        return "inverted"
    return "suspect" if _inverted(contrast) else "bright"


def _conf(p: tuple[float, ...]) -> float:
    return float(p[2]) if len(p) > 2 and p[2] is not None else 1.0
