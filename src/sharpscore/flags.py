"""Review flags: one typed vocabulary for every reason a reader should look.

A flag is a :class:`ReviewFlag`, a ``str`` (so JSON, CSV and ``"low_confidence:pip5" in flags`` keep
working) that knows its parts: ``kind`` (a :class:`FlagKind`), ``site`` (a joint, or ``None``) and
``detail`` (a value such as an interval or a count, or ``None``). Written ``kind[:site][:detail]``.

Whether a flag sets ``needs_review`` is a property of its kind (:attr:`FlagKind.informational`),
decided here and nowhere else: :func:`needs_review`.

>>> f = ReviewFlag(FlagKind.LOW_CONFIDENCE, "pip5")
>>> f, f.kind.informational
('low_confidence:pip5', False)
>>> ReviewFlag.parse("wide_prediction_set:mcp2:jsn").detail
'jsn'
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from . import schema

__all__ = ["FlagKind", "ReviewFlag", "needs_review", "flagged_sites", "parse_known"]


class FlagKind(enum.StrEnum):
    """Every flag sharpscore writes. Informational kinds (``spacing_estimated``,
    ``reader_landmarks``, ``relocated``, ``wrist_from_anatomy``, ``atypical_position``,
    ``film_rotated``, ``retest_sd_from_default_model``)
    say how a result was made; every other kind sets ``needs_review``."""

    # the localiser (sharpscore.localize)
    SPACING_ESTIMATED = "spacing_estimated"
    LOW_CONFIDENCE = "low_confidence"
    IMPLAUSIBLE_JOINT_CONFIGURATION = "implausible_joint_configuration"
    RELOCATED = "relocated"
    WRIST_FROM_ANATOMY = "wrist_from_anatomy"
    ATYPICAL_POSITION = "atypical_position"
    LATERALITY_UNCERTAIN = "laterality_uncertain"
    LATERALITY_CONFLICTS_WITH_TAG = "laterality_conflicts_with_tag"
    LATERALITY_CONFLICTS_WITH_MARKER = "laterality_conflicts_with_marker"
    FILM_MIRRORED = "film_mirrored"
    BODY_PART_CONFLICTS_WITH_TAG = "body_part_conflicts_with_tag"
    READER_LANDMARKS = "reader_landmarks"
    REGION_CONFLICTS_WITH_GIVEN = "region_conflicts_with_given"
    REGION_CONFLICTS_WITH_FILE_NAME = "region_conflicts_with_file_name"
    LOCALIZER_REFUSED_FILM = "localizer_refused_film"
    FILM_ROTATED = "film_rotated"
    NOT_IN_VIEW = "not_in_view"
    FINGER_IDENTITY_UNCERTAIN = "finger_identity_uncertain"
    # the scorer and the review rules (sharpscore.api.review)
    WIDE_PREDICTION_SET = "wide_prediction_set"
    WIDE_TOTAL_INTERVAL = "wide_total_interval"
    NOT_SCORED = "not_scored"
    OUT_OF_DISTRIBUTION = "out_of_distribution"
    VIEW_NOT_PA = "view_not_pa"
    OPEN_GROWTH_PLATES = "open_growth_plates"
    SMALLER_THAN_ADULT_HAND = "smaller_than_adult_hand"
    SPACING_DISAGREES_WITH_ANATOMY = "spacing_disagrees_with_anatomy"
    COARSE_RESOLUTION = "coarse_resolution"
    ANISOTROPIC_SPACING = "anisotropic_spacing"
    METAL_AT_JOINT = "metal_at_joint"
    JSN_DISAGREES_WITH_JSW = "jsn_disagrees_with_jsw"
    BURNED_IN_ANNOTATIONS = "burned_in_annotations"
    ANNOTATION_AT_JOINT = "annotation_at_joint"
    MISSING_REGION = "missing_region"
    # what the scorer has seen (sharpscore.api.review.provenance_flags)
    SCORER_TRAINED_ON_PHANTOMS_ONLY = "scorer_trained_on_phantoms_only"
    SCORER_NEVER_SAW_REAL_HAND = "scorer_never_saw_real_hand"
    SCORER_NEVER_SAW_REAL_FOOT = "scorer_never_saw_real_foot"
    SCORER_REAL_FILMS_SIMULATED_DISEASE = "scorer_real_films_simulated_disease"
    SMALL_CALIBRATION = "small_calibration"
    # two visits (sharpscore.api.progression)
    RETEST_SD_FROM_DEFAULT_MODEL = "retest_sd_from_default_model"
    REGION_IN_ONE_VISIT_ONLY = "region_in_one_visit_only"
    VIEW_CHANGED = "view_changed"
    REGISTRATION_NOT_POSSIBLE = "registration_not_possible"
    FILMS_DIFFER_TOO_MUCH = "films_differ_too_much"
    UNSURE_AT_BASELINE = "unsure_at_baseline"
    UNSURE_AT_FOLLOWUP = "unsure_at_followup"
    SCORE_FELL = "score_fell"
    PAIRED_LANDMARK = "paired_landmark"  # the visits placed this joint apart; both read where the surer one put it
    READ_UNPAIRED = "read_unpaired"  # a region's visits compared as scored: the SDC (fitted on paired readings) is too small

    @property
    def informational(self) -> bool:
        """True when the flag says how a result was made and does not by itself need a reader."""
        return self in _INFORMATIONAL


_INFORMATIONAL = frozenset({FlagKind.SPACING_ESTIMATED, FlagKind.READER_LANDMARKS, FlagKind.RELOCATED,
                            FlagKind.WRIST_FROM_ANATOMY, FlagKind.FILM_ROTATED,
                            FlagKind.ATYPICAL_POSITION, FlagKind.RETEST_SD_FROM_DEFAULT_MODEL,
                            FlagKind.PAIRED_LANDMARK})
_SITES = frozenset(n for kind in ("hand", "foot") for n in schema.landmarks(kind))


class ReviewFlag(str):
    """One flag: ``ReviewFlag(kind, site=None, detail=None)``; a ``str`` written ``kind[:site][:detail]``."""

    kind: FlagKind
    site: str | None
    detail: str | None

    def __new__(cls, kind: FlagKind | str, site: str | None = None, detail: object = None) -> ReviewFlag:
        kind = FlagKind(kind)
        if site is not None and site not in _SITES:
            raise ValueError(f"{site!r} is not a joint site")
        text = ":".join([kind.value] + ([site] if site else []) + ([str(detail)] if detail is not None else []))
        self = super().__new__(cls, text)
        self.kind, self.site, self.detail = kind, site, None if detail is None else str(detail)
        return self

    @classmethod
    def parse(cls, text: str) -> ReviewFlag:
        """A flag from its text (``ValueError`` for an unknown kind)."""
        if isinstance(text, ReviewFlag):
            return text
        kind, _, rest = str(text).partition(":")
        first, _, more = rest.partition(":")
        if first in _SITES:
            return cls(kind, first, more or None)
        return cls(kind, None, rest or None)

    def __reduce__(self):  # pickling (worker processes) keeps the type
        return (ReviewFlag, (self.kind.value, self.site, self.detail))


def _kind(flag: str) -> FlagKind | None:
    if isinstance(flag, ReviewFlag):
        return flag.kind
    try:
        return FlagKind(str(flag).partition(":")[0])
    except ValueError:
        return None


def needs_review(flags: Iterable[str]) -> bool:
    """Whether any flag asks for a reader: every kind but the informational ones (an unknown kind,
    e.g. from a newer version's JSON, counts as asking)."""
    for f in flags:
        kind = _kind(f)
        if kind is None or not kind.informational:
            return True
    return False


def parse_known(flags: Iterable[str]) -> list[ReviewFlag]:
    """The flags as :class:`ReviewFlag`, leaving out any of a kind this version does not know
    (e.g. read from a newer version's JSON)."""
    out = []
    for f in flags:
        try:
            out.append(ReviewFlag.parse(f))
        except ValueError:
            continue
    return out


def flagged_sites(flags: Iterable[str], kinds: Iterable[FlagKind]) -> set[str]:
    """The joint sites carrying a flag of one of ``kinds``."""
    wanted = set(kinds)
    return {f.site for f in parse_known(flags) if f.kind in wanted and f.site}
