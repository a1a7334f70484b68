"""Disease drawn into real films: pixel-level behaviour on real DHA hands (skips without ../shared)."""

from __future__ import annotations


import numpy as np
import pytest

from shared_data import dha_film
from sharpscore.spatial import bone_frame, to_mm
from sharpscore.synth.edit import edit_radiograph, measure_gap

SPACING = (0.108075, 0.108075)
FINGERS = ["mcp2", "mcp3", "mcp4", "mcp5", "pip2", "pip3", "pip4", "pip5", "mcp1", "ip"]


def _film(image_id: str):
    return dha_film(image_id)


@pytest.fixture(scope="module")
def film():
    return _film("3300")  # an older, near-mature hand of the held-out set


def _width(pixels, lm, site):
    return measure_gap(pixels, bone_frame("hand", site, lm, SPACING), site=site).width


def test_grade_zero_is_the_identity(film):
    pixels, lm = film
    zero = {s: {"erosion": 0, "jsn": 0} for s in FINGERS}
    out = edit_radiograph(pixels, lm, SPACING, "LH", zero, seed=1)
    assert np.array_equal(out.pixels, pixels)
    assert all(np.allclose(out.landmarks[k], lm[k]) for k in lm)


@pytest.mark.parametrize("site", ["mcp2", "mcp3", "mcp4"])
def test_joint_space_width_falls_with_the_jsn_grade(film, site):
    pixels, lm = film
    widths = []
    for g in (0, 2, 3, 4):
        out = edit_radiograph(pixels, lm, SPACING, "LH", {site: {"jsn": g}}, seed=3)
        widths.append(_width(out.pixels, out.landmarks, site))
    assert all(b <= a + 0.05 for a, b in zip(widths, widths[1:])), widths
    assert widths[-1] < 0.7 * widths[0], widths


def test_eroded_area_grows_with_the_grade(film):
    pixels, lm = film
    areas = []
    for g in (1, 3, 5):
        out = edit_radiograph(pixels, lm, SPACING, "LH", {"mcp3": {"erosion": g}}, seed=5)
        areas.append(int((pixels - out.pixels > 0.03).sum()))
    assert areas[0] > 0
    assert areas[0] < areas[1] < areas[2], areas
    # erosion removes bone: it never brightens the film
    out = edit_radiograph(pixels, lm, SPACING, "LH", {"mcp3": {"erosion": 4}}, seed=5)
    assert (out.pixels - pixels).max() <= 1e-6


def test_pixels_away_from_edited_joints_are_unchanged(film):
    pixels, lm = film
    grades = {"mcp2": {"erosion": 3, "jsn": 3}, "pip4": {"erosion": 2, "jsn": 2}}
    out = edit_radiograph(pixels, lm, SPACING, "LH", grades, seed=7)
    ys, xs = np.mgrid[0:pixels.shape[0]:4, 0:pixels.shape[1]:4]
    pts = to_mm(np.stack([xs, ys], -1), SPACING)
    far = np.ones(xs.shape, bool)
    for s in grades:
        far &= np.linalg.norm(pts - to_mm(lm[s], SPACING), axis=-1) > 32.0
    diff = np.abs(out.pixels[::4, ::4] - pixels[::4, ::4])
    assert diff[far].max() == 0.0
    assert diff[~far].max() > 0.05


def test_edits_are_deterministic_by_seed(film):
    pixels, lm = film
    grades = {"mcp3": {"erosion": 2, "jsn": 2}, "pip3": {"erosion": 1, "jsn": 1}}
    a = edit_radiograph(pixels, lm, SPACING, "LH", grades, seed=11).pixels
    b = edit_radiograph(pixels, lm, SPACING, "LH", grades, seed=11).pixels
    c = edit_radiograph(pixels, lm, SPACING, "LH", grades, seed=12).pixels
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_landmarks_move_with_the_narrowed_joint(film):
    pixels, lm = film
    out = edit_radiograph(pixels, lm, SPACING, "LH", {"mcp3": {"jsn": 4}}, seed=2)
    moved = np.linalg.norm(to_mm(out.landmarks["pip3"], SPACING) - to_mm(lm["pip3"], SPACING))
    assert moved < 0.5  # the fade-out ends before the next joint
    assert np.linalg.norm(to_mm(out.landmarks["mcp5"], SPACING) - to_mm(lm["mcp5"], SPACING)) == 0.0
    assert out.grades["mcp3"] == {"erosion": 0, "jsn": 4}


def test_grades_not_drawable_are_recorded_as_not_drawn():
    blank = np.full((600, 600), 0.4, np.float32)  # no bone, no joint space: nothing can be drawn
    lm = {"mcp3": (300.0, 300.0), "pip3": (300.0, 0.0)}
    out = edit_radiograph(blank, lm, (0.15, 0.15), "RH", {"mcp3": {"erosion": 4, "jsn": 3}}, seed=0)
    assert out.grades["mcp3"] == {"erosion": 0, "jsn": 0}
    assert np.array_equal(out.pixels, blank)
    assert out.grades["mcp2"] == {"erosion": None, "jsn": None}  # no landmark: unknown, not 0


def test_adult_reference_closes_a_young_joint_space_to_an_adult_width():
    from sharpscore.jsw import measure_jsw

    pixels, lm = _film("3170")  # a young hand: joint spaces far wider than an adult's
    sites = ["pip2", "pip3", "pip4", "mcp2", "mcp3", "mcp4"]
    before = measure_jsw(pixels, lm, SPACING, "LH", sites=sites)
    zero = {s: {"erosion": 0, "jsn": 0} for s in sites}
    out = edit_radiograph(pixels, lm, SPACING, "LH", zero, seed=2, jsn_reference="adult")
    after = measure_jsw(out.pixels, out.landmarks, SPACING, "LH", sites=sites)
    assert all(out.grades[s]["jsn"] == 0 for s in sites)  # still healthy
    for s in sites:
        limit = 1.35 if s.startswith("pip") else 2.0  # a healthy adult's PIP ~1.1 mm, MCP ~1.7 mm
        assert before[s].width_mm > limit, (s, before[s].width_mm)
        assert after[s].width_mm < limit, (s, before[s].width_mm, after[s].width_mm)
        assert after[s].width_mm > 0.6, (s, after[s].width_mm)
    # narrowing is then graded against that adult width: it keeps falling with the grade
    widths = []
    for g in (0, 2, 3):
        e = edit_radiograph(pixels, lm, SPACING, "LH", {"pip3": {"jsn": g}}, seed=4, jsn_reference="adult")
        widths.append(measure_jsw(e.pixels, e.landmarks, SPACING, "LH", sites=["pip3"])["pip3"].width_mm)
    assert widths[1] < widths[0] and widths[2] <= widths[1] + 0.05, widths


def test_adult_reference_closes_young_wrist_spaces_too():
    """A young wrist's carpal and CMC spaces are wider than an adult's (cartilage not yet bone): with
    ``jsn_reference='adult'`` they are closed to adult widths and stay grade 0; 'adult-digits'
    (the former behaviour) leaves the wrist as the film shows it."""
    from sharpscore.localize.wrist_template import predict_wrist

    pixels, lm = _film("3170")
    lm = {**lm, **predict_wrist({k: (*v, 1.0) for k, v in lm.items()}, SPACING)}
    wrist = ["cmc3", "cmc4", "cmc5", "mna", "capnlun", "radcar"]
    zero = {s: {"erosion": 0, "jsn": 0} for s in wrist}
    digits = edit_radiograph(pixels, lm, SPACING, "LH", zero, seed=2, jsn_reference="adult-digits")
    adult = edit_radiograph(pixels, lm, SPACING, "LH", zero, seed=2, jsn_reference="adult")
    assert all(adult.grades[s]["jsn"] == 0 for s in wrist)

    def gap(out, site):
        return measure_gap(out.pixels, bone_frame("hand", site, out.landmarks, SPACING), site=site, family="wrist")

    closed = 0
    for s in wrist:
        before, after = gap(digits, s), gap(adult, s)
        assert after.width <= before.width + 0.1, (s, before.width, after.width)
        closed += after.width < before.width - 0.3
        x, y = (int(round(c)) for c in lm[s][:2])
        window = (slice(y - 20, y + 20), slice(x - 20, x + 20))
        assert np.array_equal(digits.pixels[window], pixels[window]), s  # 'adult-digits': wrist untouched
    assert closed >= 3


def test_unknown_jsn_reference_is_refused(film):
    pixels, lm = film
    with pytest.raises(ValueError, match="jsn_reference"):
        edit_radiograph(pixels, lm, SPACING, "LH", {}, jsn_reference="child")


def test_a_narrowing_the_film_does_not_show_is_recorded_as_unknown(film):
    """A joint space the edit cannot visibly narrow gets no grade (None), not the grade asked for;
    a finger joint's narrowing shows and keeps its grade."""
    from sharpscore.synth.edit import Gap, narrowing_visible

    pixels, lm = film
    frame = bone_frame("hand", "mcp3", lm, SPACING)
    before = measure_gap(pixels, frame, site="mcp3")
    assert before.found and not narrowing_visible(pixels, frame, before, 3, site="mcp3")  # unchanged film
    assert narrowing_visible(pixels, frame, before, 1, site="mcp3")  # focal grade 1 is not checked
    wider = Gap(before.centre, before.proximal - 1.0, before.distal + 1.0, before.depth)
    assert narrowing_visible(pixels, frame, wider, 3, site="mcp3")  # measured now at under 90% of that
    out = edit_radiograph(pixels, lm, SPACING, "LH", {"mcp3": {"jsn": 3}}, seed=3)
    assert out.grades["mcp3"]["jsn"] == 3


@pytest.mark.parametrize("site, spans_row", [("cmc4", False), ("capnlun", False), ("radcar", True)])
def test_a_wrist_joint_narrows_over_one_bone_not_the_whole_carpal_row(site, spans_row):
    """A CMC or intercarpal joint's narrowing displaces one bone's width (at most 6 mm either side of
    the axis, faded over 3 mm): its neighbours at the same level stay as they are. Only the
    radiocarpal joint spans the whole row. (The across profile in a row of carpal bones finds no edge,
    and the warp used to shear the whole row: a sharp line across every neighbouring base.)"""
    from sharpscore.spatial import BoneFrame, as_spacing
    from sharpscore.synth.edit import Gap, narrow_joint

    sp = 0.15
    yy, xx = np.mgrid[0:400, 0:400]
    x_mm, y_mm = (xx - 200) * sp, (yy - 200) * sp
    # a 20 mm wide row of bone (bright), a 2 mm joint space across it at y = 0, soft tissue outside
    pixels = np.where(np.abs(x_mm) < 10.0, 0.8, 0.3).astype(np.float32)
    pixels[np.abs(y_mm) < 1.0] = np.where(np.abs(x_mm[np.abs(y_mm) < 1.0]) < 10.0, 0.45, 0.3)
    pixels += 0.02 * np.random.default_rng(0).standard_normal(pixels.shape).astype(np.float32)
    frame = BoneFrame((200.0, 200.0), (0.0, -1.0), as_spacing((sp, sp)))  # distal bone up
    out, warp = narrow_joint(pixels, frame, 4, np.random.default_rng(1), site=site, family="wrist",
                             gap=Gap(0.0, -1.0, 1.0, 0.3))
    assert warp is not None
    _, s = frame.from_px(xx, yy)
    changed = np.abs(out - pixels) > 1e-4
    assert changed[np.abs(s) < 3.0].any()
    assert changed[(np.abs(s) > 9.5) & (np.abs(s) < 12.5)].any() == spans_row


def test_a_wrist_erosion_removes_as_much_bone_as_a_finger_erosion_of_its_grade(film):
    """SvdH grades erosion by the share of the surface involved; a carpal bone, the distal radius or
    ulna is graded over its whole outline (a finger joint over the bone end's outline next to the
    joint), and a defect takes the bone down to the level beside it (the darkest within 1.5 mm beyond
    the edge: in the carpus a fixed short distance falls in the next bone's blur). Before, a wrist
    erosion removed a fraction of the bone a finger erosion of the same grade did, and the scorer could
    not learn the wrist from it."""
    from sharpscore.localize.wrist_template import predict_wrist

    pixels, lm = film
    lm = {**lm, **predict_wrist({k: (*v, 1.0) for k, v in lm.items()}, SPACING)}

    def removed_mm2(sites, grade: int) -> list[float]:
        areas = []
        for site in sites:
            for seed in (1, 2):
                out = edit_radiograph(pixels, lm, SPACING, "LH", {site: {"erosion": grade}}, seed=seed)
                if out.grades[site]["erosion"] == grade:  # a defect without a bone edge lowers the grade
                    areas.append(float((pixels - out.pixels > 0.03).sum()) * SPACING[0] ** 2)
        assert len(areas) >= 4, (sites, grade, areas)
        return areas

    for grade in (2, 3):
        finger = np.median(removed_mm2(("mcp2", "mcp3", "mcp4"), grade))
        wrist = np.median(removed_mm2(("nav", "lunate", "radius"), grade))
        assert wrist >= finger, (grade, wrist, finger)
