"""Result types of the public API: one radiograph, one patient."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..flags import ReviewFlag, needs_review
from ..scoring.distribution import ExpectedTotals
from ..scoring.predict import RegionScores

__all__ = ["RadiographScore", "PatientScore"]

DISCLAIMER = "Research-use decision support, not a diagnosis: a trained reader must review these scores."


def _round(v, nd=4):
    return None if v is None else round(float(v), nd)


class _Totals(ExpectedTotals):
    """Expected totals (:class:`~sharpscore.scoring.distribution.ExpectedTotals`) and JSON output,
    shared by the result types."""

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_json(self, path: str | Path | None = None, indent: int = 1) -> str:
        """The result as JSON text; also written atomically to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent) + "\n"
        if path is not None:
            from .._fsutil import atomic_write_text

            atomic_write_text(path, text)
        return text


@dataclass(kw_only=True)
class RadiographScore(RegionScores, _Totals):
    """SvdH scores of one hand or foot radiograph: the scorer's :class:`~sharpscore.scoring.RegionScores`
    (one result type per region) with the film, its landmarks and the review decision.

    ``region``: 'LH', 'RH', 'LF' or 'RF'. ``landmarks``: ``{name: (x_px, y_px, confidence)}`` in the
    original image's pixel coordinates for every site and the hand DIPs. ``joints``: one
    :class:`~sharpscore.scoring.JointScore` per scored site (expected erosion and JSN, probabilities,
    most likely grades, prediction sets; None where SvdH does not score the measure). ``erosion``,
    ``jsn``, ``total``: expected sums over the scored sites, with ``intervals`` at ``coverage``;
    ``missing``: sites that were not scored; ``side_marker``: the 'L' / 'R' marker read on the film
    (side, mirrored, match), or None. ``flags``: reasons for caution
    (:class:`~sharpscore.flags.ReviewFlag`); ``needs_review``: True when a reader must look before the
    scores are used, decided from the flags.
    """

    landmarks: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    needs_review: bool = False
    source: str = "<array>"
    spacing_mm: tuple[float, float] | None = None
    spacing_source: str | None = None
    not_in_view: list[str] = field(default_factory=list)
    side_marker: dict[str, Any] | None = None  # the 'L' / 'R' marker read on the film (localize.marker)
    model: dict[str, str] = field(default_factory=dict)
    explanations: dict[str, np.ndarray] | None = field(default=None, repr=False)
    explanation_method: str | None = None  # 'occlusion' (signed, [-1, 1]) or 'gradcam' ([0, 1])
    crops: dict[str, np.ndarray] | None = field(default=None, repr=False)
    radiograph: Any = field(default=None, repr=False)
    location: Any = field(default=None, repr=False)  # the localiser's JointLocations (Scorer.rescore)

    @classmethod
    def from_region_scores(cls, scores: RegionScores, **extra: Any) -> "RadiographScore":
        """The scorer's output for one region, with the film-level fields in ``extra``."""
        base = {f.name: getattr(scores, f.name) for f in fields(RegionScores)}
        return cls(**{**base, **extra})

    @property
    def region_scores(self) -> "RadiographScore":
        """Deprecated: a RadiographScore *is* its region's scores (kept for callers of the old field)."""
        return self

    def add_flag(self, flag: ReviewFlag) -> None:
        """Add a flag; ``needs_review`` follows from the flags (:func:`sharpscore.flags.needs_review`)."""
        self.flags.append(flag)
        self.needs_review = needs_review(self.flags)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "region": self.region,
            "erosion": _round(self.erosion), "jsn": _round(self.jsn), "total": _round(self.total),
            "intervals": {k: [_round(a, 3), _round(b, 3)] for k, (a, b) in self.intervals.items()},
            "coverage": self.coverage, "missing": list(self.missing), "not_in_view": list(self.not_in_view),
            "side_marker": self.side_marker, "needs_review": self.needs_review,
            "flags": list(self.flags),
            "spacing_mm": list(self.spacing_mm) if self.spacing_mm else None, "spacing_source": self.spacing_source,
            "landmarks": {k: [round(v[0], 2), round(v[1], 2), round(v[2], 3)] for k, v in self.landmarks.items()},
            "joints": [{k: (_round(v) if isinstance(v, float) else
                            [_round(x) for x in v] if isinstance(v, list) and v and isinstance(v[0], float) else v)
                        for k, v in j.to_dict().items()} for j in self.joints],
            "model": dict(self.model), "disclaimer": DISCLAIMER,
        }

    def to_dataframe(self):
        """One row per scored site (requires pandas)."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - optional
            from ..errors import SharpScoreError

            raise SharpScoreError("to_dataframe needs pandas (pip install pandas)") from None
        rows = []
        for j in self.joints:
            x, y, c = self.landmarks.get(j.site, (None, None, None))
            rows.append({"region": self.region, "site": j.site, "family": j.family, "erosion": j.erosion,
                         "erosion_grade": j.erosion_grade, "jsn": j.jsn, "jsn_grade": j.jsn_grade,
                         "x_px": x, "y_px": y, "landmark_confidence": c})
        return pd.DataFrame(rows)

    def save_overlay(self, path: str | Path) -> Path:
        """PNG of the radiograph with each site marked and coloured by its score, region totals in
        the title, and flagged sites ringed in red."""
        from .overlay import draw_scores

        return draw_scores(self, path)

    def save_explanations(self, path: str | Path) -> Path:
        """PNG grid of every joint crop with its Grad-CAM map (needs ``explain=True``)."""
        from .explain import draw_explanations

        return draw_explanations(self, path)


@dataclass
class PatientScore(_Totals):
    """SvdH scores of one patient over the regions given (any subset of LH, RH, LF, RF)."""

    patient_id: str
    regions: dict[str, RadiographScore]
    distributions: dict[str, np.ndarray] = field(repr=False)
    intervals: dict[str, tuple[float, float]]
    coverage: float = 0.9
    missing_regions: list[str] = field(default_factory=list)

    @property
    def needs_review(self) -> bool:
        return any(r.needs_review for r in self.regions.values()) or bool(self.missing_regions)

    @property
    def flags(self) -> list[str]:
        out = [f"{k}:{f}" for k, r in self.regions.items() for f in r.flags]
        return out + [f"missing_region:{r}" for r in self.missing_regions]

    def to_ra2_row(self) -> dict[str, object]:
        """The RA2-DREAM columns (expected scores; totals over the given regions) plus interval columns."""
        from ..scoring.patient import ra2_row

        return ra2_row(self.patient_id, list(self.regions.values()), self.intervals)

    def to_dict(self) -> dict[str, Any]:
        return {"patient_id": self.patient_id, "erosion": _round(self.erosion), "jsn": _round(self.jsn),
                "total": _round(self.total),
                "intervals": {k: [_round(a, 3), _round(b, 3)] for k, (a, b) in self.intervals.items()},
                "coverage": self.coverage, "missing_regions": self.missing_regions,
                "needs_review": self.needs_review, "regions": {k: r.to_dict() for k, r in self.regions.items()},
                "disclaimer": DISCLAIMER}

