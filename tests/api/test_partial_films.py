"""A partial film is scored where it shows; its totals say what they cover."""

import json

import numpy as np
import pytest

import sharpscore
from sharpscore.models import available
from sharpscore.synth import render

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.skipif(not available("scorer"), reason="no scorer weights ship in this checkout")]


def test_a_cut_film_scores_what_it_shows_and_lists_the_rest():
    img = render("LH", {}, seed=4245, spacing_mm=0.15)
    lm, full = img.landmarks, np.asarray(img.radiograph.pixels)
    cut = int((lm["ip"][0] + lm["mcp2"][0]) / 2)  # the film ends between the thumb and the index
    film = sharpscore.load_radiograph(full[:, :cut].copy(), spacing_mm=0.15)
    res = sharpscore.score_radiograph(film)
    assert res.region == "LH" and {"ip", "mcp1"} <= set(res.not_in_view)
    scored = {j.site for j in res.joints}
    assert not scored & set(res.not_in_view) and set(res.not_in_view) <= set(res.missing)
    assert {"mcp2", "pip3", "radcar"} <= scored
    assert res.needs_review
    # flagged once, as not in view (not also as "not scored")
    assert not any(f.startswith("not_scored:") and f.split(":")[1] in res.not_in_view for f in res.flags)
    doc = json.loads(res.to_json())
    assert doc["not_in_view"] == res.not_in_view and doc["total"] == pytest.approx(res.total, abs=1e-3)
    whole = sharpscore.score_radiograph(sharpscore.load_radiograph(full, spacing_mm=0.15))
    assert whole.not_in_view == [] and res.total < whole.total + 1e-6 + 2.0  # fewer sites, no more points


def test_a_site_the_reader_places_is_in_view_again():
    img = render("LH", {}, seed=4245, spacing_mm=0.15)
    lm, full = img.landmarks, np.asarray(img.radiograph.pixels)
    cut = int((lm["ip"][0] + lm["mcp2"][0]) / 2)
    film = sharpscore.load_radiograph(full[:, :cut].copy(), spacing_mm=0.15)
    res = sharpscore.score_radiograph(film, landmarks={"mcp1": (cut - 20.0, lm["mcp1"][1])})
    assert "mcp1" not in res.not_in_view and "ip" in res.not_in_view
    assert "mcp1" in {j.site for j in res.joints}
    assert not any(f.startswith("not_in_view:mcp1") for f in res.flags)
