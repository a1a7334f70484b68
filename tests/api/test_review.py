import numpy as np
import pytest

from sharpscore.api.review import ReviewPolicy, needs_review, review_flags
from sharpscore.io import Radiograph
from sharpscore.localize.predict import JointLocations
from sharpscore.scoring.predict import JointScore, RegionScores


def _loc(landmarks, spacing=(0.1, 0.1), source="ImagerPixelSpacing"):
    return JointLocations(region="RH", landmarks={k: (x, y, 0.9) for k, (x, y) in landmarks.items()}, evidence={},
                          spacing_mm=spacing, spacing_source=source)


def _scores(sets=None):
    j = JointScore("mcp2", "finger", erosion=0.1, jsn=0.2, erosion_set=sets or [0], jsn_set=[0])
    return RegionScores("RH", [j], {"erosion": np.array([1.0]), "jsn": np.array([1.0]), "total": np.array([1.0])})


ADULT = {"mcp2": (300, 700), "pip2": (300, 300), "mcp3": (380, 690), "pip3": (380, 250), "mcp5": (540, 720),
         "pip5": (540, 400), "mcp4": (460, 700), "pip4": (460, 300), "mcp1": (150, 800), "ip": (100, 550)}


def test_adult_sized_hand_is_not_flagged_but_a_small_one_is():
    from sharpscore.localize.geometry import _reference_pairs

    # place landmarks at the adult reference distances: scale 1.0
    ref = {f"{a}-{b}": mm for a, b, mm in _reference_pairs()["hand"]}
    lm = {"mcp3": (500.0, 800.0), "pip3": (500.0, 800.0 - ref["mcp3-pip3"] / 0.1)}
    rg = Radiograph(np.zeros((1200, 1000), np.float32), (0.1, 0.1), "ImagerPixelSpacing")
    assert not any(f.startswith("smaller_than_adult") for f in review_flags(rg, _loc(lm), _scores()))
    child = {"mcp3": (500.0, 800.0), "pip3": (500.0, 800.0 - 0.7 * ref["mcp3-pip3"] / 0.1)}
    flags = review_flags(rg, _loc(child), _scores())
    assert any(f.startswith("smaller_than_adult_hand") for f in flags) and needs_review(flags)
    # without a measured spacing the size cannot be judged
    assert not any(f.startswith("smaller") for f in review_flags(rg, _loc(child, source="estimated from anatomy"),
                                                                 _scores()))


def test_wide_prediction_sets_and_views():
    rg = Radiograph(np.zeros((100, 100), np.float32), (0.1, 0.1), "x", view="LL")
    flags = review_flags(rg, _loc({}), _scores(sets=[0, 1, 2]), ReviewPolicy(max_set_size=3))
    assert "wide_prediction_set:mcp2:erosion" in flags and "view_not_pa:LL" in flags
    rg.view = "PA"
    assert review_flags(rg, _loc({}), _scores()) == []
    assert not needs_review(["spacing_estimated"]) and needs_review(["low_confidence:mcp2"])


def test_coarse_or_anisotropic_pixels_are_flagged():
    rg = Radiograph(np.zeros((100, 100), np.float32), (0.1, 0.1), "x")
    assert review_flags(rg, _loc({}, spacing=(0.3, 0.3)), _scores()) == []
    coarse = review_flags(rg, _loc({}, spacing=(0.6, 0.6)), _scores())
    assert coarse == ["coarse_resolution:0.60"] and needs_review(coarse)
    skew = review_flags(rg, _loc({}, spacing=(0.1, 0.2)), _scores())
    assert skew == ["anisotropic_spacing:2.00"] and needs_review(skew)
    assert review_flags(rg, _loc({}, spacing=(0.1, 0.11)), _scores()) == []  # within 25%


def test_metal_over_a_joint_is_flagged():
    from sharpscore.synth import render

    im = render("RH", None, seed=3, p_ring=0.0)
    rg = im.radiograph
    loc = _loc({k: tuple(v[:2]) for k, v in im.landmarks.items()}, spacing=rg.spacing_mm)
    rs = RegionScores("RH", [JointScore(n, "finger") for n in ("mcp2", "mcp3", "mcp4", "pip3")], {})
    assert not [f for f in review_flags(rg, loc, rs) if f.startswith("metal")]
    # an implant (denser than any bone) 2.5 mm across over MCP3
    x, y = im.landmarks["mcp3"][:2]
    yy, xx = np.mgrid[: rg.shape[0], : rg.shape[1]]
    disk = np.hypot((xx - x) * rg.spacing_mm[1], (yy - y) * rg.spacing_mm[0]) < 2.5
    metal = Radiograph(np.where(disk, 1.0, rg.pixels * 0.85).astype(np.float32), rg.spacing_mm, "x")
    flags = review_flags(metal, loc, rs)
    assert [f for f in flags if f.startswith("metal")] == ["metal_at_joint:mcp3"] and needs_review(flags)


def test_burned_in_mark_over_a_joint_is_flagged(scorer, jpeg_patient, tmp_path):
    """A phantom film exported as RGB with a green measurement line across MCP3: scored as grey,
    flagged burned_in_annotations and annotation_at_joint:mcp3 (so a reader looks), no other joint."""
    import numpy as np
    from PIL import Image

    import sharpscore

    path = jpeg_patient / "P00000-RH.jpg"
    plain = scorer.score(path)
    x, y = plain.landmarks["mcp3"][:2]
    grey = np.asarray(Image.open(path).convert("L"))
    rgb = np.repeat(grey[..., None], 3, -1).copy()
    rgb[int(y) - 2:int(y) + 2, int(x) - 60:int(x) + 60] = (0, 255, 0)
    Image.fromarray(rgb).save(tmp_path / "marked.png")
    res = sharpscore.score_radiograph(tmp_path / "marked.png")
    marked = {f.split(":")[1] for f in res.flags if f.startswith("annotation_at_joint:")}
    assert "burned_in_annotations" in res.flags and "mcp3" in marked
    assert marked <= {"mcp2", "mcp3", "mcp4"}  # the line is 120 px long: its neighbours at most
    assert res.needs_review
    assert "burned_in_annotations" not in plain.flags


def test_jsn_contradicted_by_the_measured_width_is_flagged(scorer):
    """A narrowing grade of 2.5 at the healthy real adult hand's PIP5, whose film shows a normal
    0.9 mm space: flagged. A phantom with true JSN 3 at MCP2 (a narrow space): not flagged."""
    from shared_data import shared_path

    from sharpscore.api.review import review_flags
    from sharpscore.io import load_radiograph
    from sharpscore.synth import render

    rg = load_radiograph(shared_path("dicom", "NM_Kakadu44_SOTmarkerincons.dcm"))
    res = scorer.score(rg)
    pip5 = res.joint("pip5")
    assert 0.7 < pip5.jsw_mm < 1.2
    assert "jsn_disagrees_with_jsw:pip5" not in res.flags or pip5.jsn >= 2
    pip5.jsn = 2.5  # as an over-calling scorer would read it
    flags = review_flags(rg, scorer.localizer.predict(rg), res.region_scores)
    assert "jsn_disagrees_with_jsw:pip5" in flags
    ph = render("RH", {"mcp2": (0, 3), "pip3": (0, 2)}, seed=41, spacing_mm=0.12)
    res = scorer.score(ph.radiograph)
    assert res.joint("mcp2").jsn > 1.5 and res.joint("mcp2").jsw_mm < 1.0
    assert not any(f.startswith("jsn_disagrees_with_jsw") for f in res.flags)


def test_a_model_that_knows_little_keeps_needs_review(scorer, jpeg_patient):
    """A total interval wider than a quarter of the region's range (a barely trained or calibrated
    model: item 2 of the reader-workflow issue) sets needs_review whatever the provenance."""
    calibration = scorer.joint_model.calibration  # the hand films' own interval, else the one over all
    cal = calibration.get("interval/region/hand") or calibration["interval/region"]
    q = cal.q
    try:
        cal.q = 50.0
        res = scorer.score(jpeg_patient / "P00000-RH.jpg")
    finally:
        cal.q = q
    assert any(f.startswith("wide_total_interval:") for f in res.flags) and res.needs_review
    normal = scorer.score(jpeg_patient / "P00000-RH.jpg")
    assert not any(f.startswith("wide_total_interval:") for f in normal.flags)


def test_a_burned_in_grey_line_across_a_joint_is_flagged():
    """A thin straight white line (a measurement line drawn into a grey film) across MCP3: flagged
    burned_in_annotations and annotation_at_joint:mcp3; an implant-sized blob is not a line."""
    from sharpscore.synth import render

    im = render("RH", None, seed=3, p_ring=0.0)
    rg = im.radiograph
    loc = _loc({k: tuple(v[:2]) for k, v in im.landmarks.items()}, spacing=rg.spacing_mm)
    rs = RegionScores("RH", [JointScore(n, "finger") for n in ("mcp2", "mcp3", "mcp4", "pip3")], {})
    assert not [f for f in review_flags(rg, loc, rs) if "annotation" in f]
    x, y = im.landmarks["mcp3"][:2]
    lined = (rg.pixels * 0.85).astype(np.float32)
    yy, xx = np.mgrid[: rg.shape[0], : rg.shape[1]]
    lined[np.abs((yy - y) - 0.4 * (xx - x)) < 1.0] = 1.0  # an oblique line, 1-2 px thick, across the film
    flags = review_flags(Radiograph(lined, rg.spacing_mm, "x"), loc, rs)
    assert "burned_in_annotations" in flags and "annotation_at_joint:mcp3" in flags and needs_review(flags)
    disk = np.hypot((xx - x) * rg.spacing_mm[1], (yy - y) * rg.spacing_mm[0]) < 2.5
    blob = Radiograph(np.where(disk, 1.0, rg.pixels * 0.85).astype(np.float32), rg.spacing_mm, "x")
    assert not [f for f in review_flags(blob, loc, rs) if "annotation" in f]


def test_a_black_block_over_a_joint_is_flagged():
    """A black rectangle (a redaction box) over half of PIP3: flagged burned_in_annotations and
    annotation_at_joint:pip3; the joints it does not reach are not."""
    from sharpscore.synth import render

    im = render("RH", None, seed=3, p_ring=0.0)
    rg = im.radiograph
    loc = _loc({k: tuple(v[:2]) for k, v in im.landmarks.items()}, spacing=rg.spacing_mm)
    rs = RegionScores("RH", [JointScore(n, "finger") for n in ("mcp2", "mcp3", "mcp4", "pip3")], {})
    x, y = (int(round(v)) for v in im.landmarks["pip3"][:2])
    blocked = rg.pixels.copy()
    blocked[y - 60:y + 60, x:x + 80] = 0.0
    flags = review_flags(Radiograph(blocked, rg.spacing_mm, "x"), loc, rs)
    assert "annotation_at_joint:pip3" in flags and "burned_in_annotations" in flags and needs_review(flags)
    assert not [f for f in flags if f in ("annotation_at_joint:mcp2", "annotation_at_joint:mcp4")]
    # a grey block (a pasted label in mid-grey) is flagged the same way; the film's own noise is not
    assert not [f for f in review_flags(rg, loc, rs) if "annotation" in f]
    grey = rg.pixels.copy()
    grey[y - 60:y + 60, x:x + 80] = 0.5
    flags = review_flags(Radiograph(grey, rg.spacing_mm, "x"), loc, rs)
    assert "annotation_at_joint:pip3" in flags and "annotation_at_joint:mcp3" not in flags
