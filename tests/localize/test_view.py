"""The exposed field of a film, and the sites a partial film does not show."""

import numpy as np
import pytest

from sharpscore.localize.predict import not_in_view
from sharpscore.localize.template import load_template
from sharpscore.localize.view import field_of_view


def _film(h=600, w=400, seed=0):
    return np.random.default_rng(seed).uniform(0.2, 0.8, (h, w)).astype(np.float32)


def test_a_collimated_band_is_not_exposed_and_depth_has_its_sign():
    film = _film()
    film[:, :120] = 0.0  # collimated: flat black on the left
    view = field_of_view(film)
    assert view.fraction == pytest.approx(280 / 400, abs=0.03)
    assert view.depth_px((300, 300)) > 50
    assert view.depth_px((60, 300)) < -30  # in the band
    assert view.depth_px((500, 300)) < -90  # beyond the film
    assert abs(view.depth_px((121, 300))) < 8  # on the edge


def test_an_exposed_film_is_exposed_everywhere_even_with_flat_patches_of_air():
    film = _film()
    film[250:300, 0:40] = 0.05  # a small flat patch at the border: air, not a band
    assert field_of_view(film).fraction == 1.0


def _template_px(spacing=0.2, offset=(20.0, 20.0)):
    tpl = load_template()
    lo = np.min(list(tpl.values()), axis=0)
    return {n: ((p[0] - lo[0]) / spacing + offset[0], (p[1] - lo[1]) / spacing + offset[1]) for n, p in tpl.items()}


def test_unsure_sites_the_found_joints_put_beyond_the_view_are_not_in_view():
    spacing = (0.2, 0.2)
    pts = _template_px()
    xs = np.array([p[0] for p in pts.values()])
    ys = np.array([p[1] for p in pts.values()])
    h, w = int(ys.max() + 80), int(xs.max() + 80)
    film = _film(h, w)
    cut = int(np.median(ys))  # the proximal half is collimated away
    film[cut:, :] = 0.0
    view = field_of_view(film)
    landmarks = {}
    for n, (x, y) in pts.items():
        if y < cut - 30:
            landmarks[n] = (x, y, 0.9)  # found where they are
        else:
            landmarks[n] = (x + 5.0, cut - 40.0, 0.1)  # unsure, latched onto something in view
    hidden, kept = not_in_view(view, landmarks, spacing, "hand")
    assert not set(hidden) & set(kept)
    beyond = {n for n, (x, y) in pts.items() if y > cut + 15}
    assert beyond and beyond <= set(hidden)
    assert not {n for n, (x, y) in pts.items() if y < cut - 30} & set(hidden)
    # a site found beyond the view, where the joints in view put it too, is not in view whatever its
    # confidence
    landmarks["radius"] = (pts["radius"][0], h + 30.0, 0.95)
    assert "radius" in not_in_view(view, landmarks, spacing, "hand")[0]


def test_a_whole_film_hides_nothing():
    spacing = (0.2, 0.2)
    pts = _template_px(offset=(60.0, 60.0))
    xs = np.array([p[0] for p in pts.values()])
    ys = np.array([p[1] for p in pts.values()])
    film = _film(int(ys.max() + 120), int(xs.max() + 120))
    landmarks = {n: (x, y, 0.9 if i % 3 else 0.1) for i, (n, (x, y)) in enumerate(pts.items())}
    assert not_in_view(field_of_view(film), landmarks, spacing, "hand")[0] == []
    # a joint found beyond the film (a missing digit's channel wandering off) where the others put
    # it well inside stays, unsure, where they put it
    landmarks["dip3"] = (-50.0, 10.0, 0.6)
    hidden, kept = not_in_view(field_of_view(film), landmarks, spacing, "hand")
    assert hidden == [] and kept["dip3"][2] <= 0.1
    assert np.hypot(kept["dip3"][0] - pts["dip3"][0], kept["dip3"][1] - pts["dip3"][1]) < 5
