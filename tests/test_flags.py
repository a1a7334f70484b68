"""The review-flag vocabulary: typed flags that still read and write as the strings users see."""

import json
import pickle

import pytest

from sharpscore.flags import FlagKind, ReviewFlag, flagged_sites, needs_review


def test_a_flag_is_its_string_and_knows_its_parts():
    f = ReviewFlag(FlagKind.WIDE_PREDICTION_SET, "mcp2", "jsn")
    assert f == "wide_prediction_set:mcp2:jsn"
    assert (f.kind, f.site, f.detail) == (FlagKind.WIDE_PREDICTION_SET, "mcp2", "jsn")
    assert json.loads(json.dumps([f])) == ["wide_prediction_set:mcp2:jsn"]
    assert "wide_prediction_set:mcp2:jsn" in [f]


@pytest.mark.parametrize("text, site, detail", [
    ("low_confidence:pip5", "pip5", None),
    ("wide_total_interval:3-41", None, "3-41"),
    ("view_changed:LH:PA->AP", None, "LH:PA->AP"),
    ("open_growth_plates:12/14", None, "12/14"),
    ("burned_in_annotations", None, None),
    ("out_of_distribution:mtp1", "mtp1", None),
])
def test_parse_round_trips(text, site, detail):
    f = ReviewFlag.parse(text)
    assert f == text and f.site == site and f.detail == detail
    assert pickle.loads(pickle.dumps(f)).kind == f.kind


def test_unknown_kinds_and_sites_are_refused():
    with pytest.raises(ValueError):
        ReviewFlag.parse("not_a_flag:pip2")
    with pytest.raises(ValueError):
        ReviewFlag(FlagKind.LOW_CONFIDENCE, "pip9")


def test_needs_review_is_decided_by_the_kind():
    assert not needs_review([])
    assert not needs_review(["spacing_estimated", ReviewFlag(FlagKind.RELOCATED, "pip3"), "reader_landmarks:15"])
    assert needs_review(["spacing_estimated", ReviewFlag(FlagKind.LOW_CONFIDENCE, "pip3")])
    assert needs_review(["a_flag_from_a_newer_version"])  # unknown: a reader looks
    assert all(k.informational == (k in {FlagKind.SPACING_ESTIMATED, FlagKind.READER_LANDMARKS, FlagKind.RELOCATED,
                                         FlagKind.ATYPICAL_POSITION, FlagKind.RETEST_SD_FROM_DEFAULT_MODEL,
                                         FlagKind.WRIST_FROM_ANATOMY, FlagKind.FILM_ROTATED, FlagKind.PAIRED_LANDMARK})
               for k in FlagKind)


def test_flagged_sites():
    flags = ["low_confidence:pip5", "metal_at_joint:mcp2", "wide_total_interval:1-9", "garbage:x"]
    assert flagged_sites(flags, [FlagKind.LOW_CONFIDENCE, FlagKind.METAL_AT_JOINT]) == {"pip5", "mcp2"}
