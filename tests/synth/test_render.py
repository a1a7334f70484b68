"""The phantom shows what its grades say, on the rendered pixels."""

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from sharpscore import schema
from sharpscore.errors import SchemaError
from sharpscore.synth import render

CLEAN = dict(spacing_mm=0.1, noise=0.0, rotation_deg=0.0, p_collimation=0.0, p_marker=0.0, p_ring=0.0,
             p_osteopenia=0.0, p_swelling=0.0, scatter=0.0, heel=0.0)


def _profile(img, site, half_mm=4.0, step_mm=0.05):
    """Intensity along the joint axis through the landmark, from -half to +half mm."""
    x, y = img.landmarks[site]
    ax, ay = img.axes[site]
    sp = img.radiograph.spacing_mm[0]
    t = np.arange(-half_mm, half_mm + step_mm / 2, step_mm)
    xs, ys = x + ax * t / sp, y + ay * t / sp
    return t, map_coordinates(img.radiograph.pixels, [ys, xs], order=1)


def _gap_width(t, prof):
    """Width (mm) of the dark joint space: the run around 0 below half-way from the dip to bone."""
    bone = min(np.median(prof[t < -2.5]), np.median(prof[t > 2.5]))
    centre = np.abs(t) < 1.2
    dip = prof[centre].min()
    if bone - dip < 0.02:
        return 0.0
    below = prof < (bone + dip) / 2
    i0 = int(np.argmin(np.where(centre, prof, np.inf)))
    lo = i0
    while lo > 0 and below[lo - 1]:
        lo -= 1
    hi = i0
    while hi < len(t) - 1 and below[hi + 1]:
        hi += 1
    return float(t[hi] - t[lo])


@pytest.mark.parametrize("region,site", [("RH", "mcp2"), ("LH", "pip3"), ("RH", "mcp5"), ("RF", "mtp2"),
                                         ("LF", "mtp1"), ("RH", "radcar"), ("RH", "cmc3")])
def test_joint_space_width_falls_with_jsn(region, site):
    widths = []
    for g in range(5):
        img = render(region, {site: (0, g)}, seed=3, person_seed=11, **CLEAN)
        widths.append(_gap_width(*_profile(img, site)))
    assert all(a > b for a, b in zip(widths, widths[1:4])), widths
    assert widths[4] < 0.5 * widths[0], widths


@pytest.mark.parametrize("region,site,grades", [("RH", "mcp2", range(6)), ("LH", "pip4", range(6)),
                                                ("RH", "nav", range(6)), ("RH", "ulna", range(6)),
                                                ("RF", "mtp5", range(0, 11, 2))])
def test_eroded_area_grows_with_grade(region, site, grades):
    base = render(region, {site: (0, 0) if site not in ("nav", "ulna") else (0, None)}, seed=5,
                  person_seed=7, **CLEAN)
    x, y = base.landmarks[site]
    sp = base.radiograph.spacing_mm[0]
    r = int(9.0 / sp)
    win = (slice(int(y) - r, int(y) + r), slice(int(x) - r, int(x) + r))
    areas = []
    for g in grades:
        img = render(region, {site: (g, 0) if site not in ("nav", "ulna") else (g, None)}, seed=5,
                     person_seed=7, **CLEAN)
        lost = base.radiograph.pixels[win] - img.radiograph.pixels[win]
        areas.append(float((lost > 0.04).sum() * sp * sp))
    assert areas[0] == 0.0
    assert all(b > a for a, b in zip(areas, areas[1:])), areas


@pytest.mark.parametrize("region", ["RH", "LH", "RF", "LF"])
def test_landmarks_sit_on_joint_spaces(region):
    img = render(region, None, seed=2, **CLEAN)
    joints = [n for n in schema.landmarks(region) if n[:3] in ("mcp", "pip", "dip", "mtp") or n == "ip"]
    for site in joints:
        t, prof = _profile(img, site, half_mm=2.0)
        centre = prof[np.abs(t) < 0.15].mean()
        sides = min(prof[(t > 0.9) & (t < 1.6)].mean(), prof[(t < -0.9) & (t > -1.6)].mean())
        assert centre < sides - 0.02, (site, centre, sides)


def test_all_landmarks_inside_image_and_region_tags():
    for region in schema.REGIONS:
        img = render(region, None, seed=4)
        h, w = img.radiograph.shape
        assert set(img.landmarks) == set(schema.landmarks(region))
        for x, y in img.landmarks.values():
            assert 0 <= x < w and 0 <= y < h
        rg = img.radiograph
        assert rg.laterality == region[0] and rg.body_part == schema.region_kind(region)
        assert rg.pixels.dtype == np.float32 and 0 <= rg.pixels.min() and rg.pixels.max() <= 1
        assert 0.08 <= rg.spacing_mm[0] <= 0.2


def test_left_is_the_mirror_of_right():
    right = render("RH", None, seed=9, person_seed=1, rotation_deg=0.0, p_marker=0.0)
    left = render("LH", None, seed=9, person_seed=1, rotation_deg=0.0, p_marker=0.0)
    assert right.radiograph.shape == left.radiograph.shape
    w = right.radiograph.shape[1]
    for name, (x, y) in right.landmarks.items():
        lx, ly = left.landmarks[name]
        assert abs((w - x) - lx) < 1.0 and abs(y - ly) < 1e-6
    # Thumb on the image's left for a right hand, on the right for a left hand.
    assert right.landmarks["mcp1"][0] < right.landmarks["mcp5"][0]
    assert left.landmarks["mcp1"][0] > left.landmarks["mcp5"][0]


def test_same_seed_same_pixels():
    a = render("LF", {"mtp3": (4, 2)}, seed=123)
    b = render("LF", {"mtp3": (4, 2)}, seed=123)
    assert np.array_equal(a.radiograph.pixels, b.radiograph.pixels) and a.landmarks == b.landmarks
    c = render("LF", {"mtp3": (4, 2)}, seed=124)
    assert not np.array_equal(a.radiograph.pixels.shape, c.radiograph.pixels.shape) or \
        not np.array_equal(a.radiograph.pixels, c.radiograph.pixels)


def test_bad_grades_are_refused():
    with pytest.raises(SchemaError, match="unknown hand site"):
        render("RH", {"mtp1": (1, 1)})
    with pytest.raises(SchemaError, match="0-5"):
        render("RH", {"mcp2": (6, 0)})
    with pytest.raises(SchemaError, match="does not score jsn"):
        render("LH", {"ip": (1, 2)})
    assert render("RF", {"mtp1": (10, 4)}, seed=1).grades["mtp1"] == {"erosion": 10, "jsn": 4}
