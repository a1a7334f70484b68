import json

import numpy as np
import pytest

import sharpscore
from sharpscore import schema
from sharpscore.errors import InputError, NotHandOrFootError


def test_score_radiograph_result(dicom_patient, tmp_path):
    res = sharpscore.score_radiograph(dicom_patient / "P00000-RH.dcm")
    assert res.region == "RH"
    assert set(res.landmarks) == set(schema.HAND_LANDMARKS)  # every site and the DIPs
    assert [j.site for j in res.joints] == [s.name for s in schema.HAND_SITES]
    assert res.joint("ip").jsn is None and res.joint("ip").erosion is not None
    assert res.total == pytest.approx(sum((j.erosion or 0) + (j.jsn or 0) for j in res.joints), abs=1e-6)
    assert 0 <= res.erosion <= 80 and 0 <= res.jsn <= 60
    lo, hi = res.intervals["total"]
    assert lo <= res.total <= hi
    # the shipped scorer learned real hands only with simulated disease: said, and a reader confirms
    assert "scorer_real_films_simulated_disease" in res.flags and res.needs_review
    assert "scorer_trained_on_phantoms_only" not in res.flags
    doc = json.loads(res.to_json(tmp_path / "r.json"))
    assert doc == json.loads((tmp_path / "r.json").read_text())
    assert doc["region"] == "RH" and len(doc["joints"]) == 22 and "research" in doc["disclaimer"].lower()
    png = res.save_overlay(tmp_path / "overlay.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scores_follow_the_truth_on_a_phantom(dicom_patient):
    truth = schema.read_ra2_csv(dicom_patient / "training.csv")[0]
    patient = sharpscore.score_patient({r: dicom_patient / f"P00000-{r}.dcm" for r in schema.REGIONS},
                                       patient_id="P00000")
    row = patient.to_ra2_row()
    assert row["Patient_ID"] == "P00000" and not patient.missing_regions
    assert float(row["Overall_Tol"]) == pytest.approx(patient.total, abs=0.01)
    # the demo patient (total 23): within the reported interval, and far from a healthy or severe patient
    assert row["Overall_Tol_lo"] <= truth["Overall_Tol"] <= row["Overall_Tol_hi"]
    assert abs(patient.total - truth["Overall_Tol"]) < 12


def test_patient_subset_reports_missing_regions(jpeg_patient):
    patient = sharpscore.score_patient({"LH": jpeg_patient / "P00000-LH.jpg", "RF": jpeg_patient / "P00000-RF.jpg"})
    assert patient.missing_regions == ["RH", "LF"] and patient.needs_review
    row = patient.to_ra2_row()
    assert row["LH_mcp_E__2"] is not None and row["RF_mtp_J__5"] is not None
    assert row["RH_mcp_E__2"] is None and row["LF_mtp_E__1"] is None
    assert float(row["Overall_Tol"]) == pytest.approx(patient.regions["LH"].total + patient.regions["RF"].total,
                                                      abs=0.01)
    with pytest.raises(InputError, match="unknown region"):
        sharpscore.score_patient({"XX": jpeg_patient / "P00000-LH.jpg"})


def test_explain_gives_a_signed_occlusion_map_per_joint(scorer, jpeg_patient, tmp_path):
    import torch

    net = scorer.joint_model.nets[0]
    before = {k: v.clone() for k, v in net.state_dict().items()}
    res = scorer.score(jpeg_patient / "P00000-LF.jpg", explain=True)
    # explaining never changes the model (batch-norm statistics included)
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items()) and not net.training
    assert res.explanation_method == "occlusion"
    assert set(res.explanations) == {j.site for j in res.joints}
    for m in res.explanations.values():
        assert m.shape == (scorer.joint_model.spec.size,) * 2 and -1 <= m.min() <= m.max() <= 1
        assert np.isclose(np.abs(m).max(), 1.0) or np.abs(m).max() == 0  # scaled per map, sign kept
    assert res.save_explanations(tmp_path / "occlusion.png").stat().st_size > 1000


def test_gradcam_is_still_available_and_an_unknown_method_is_refused(jpeg_patient, tmp_path):
    from sharpscore import Scorer

    gc = Scorer(explain_method="gradcam").score(jpeg_patient / "P00000-LF.jpg", explain=True)
    assert gc.explanation_method == "gradcam"
    assert all(0 <= m.min() <= m.max() <= 1 for m in gc.explanations.values())
    assert gc.save_explanations(tmp_path / "cam.png").stat().st_size > 1000
    with pytest.raises(InputError, match="unknown explanation method"):
        Scorer(explain_method="saliency")


def test_occlusion_peak_falls_on_a_drawn_erosion(scorer):
    """A phantom hand with grade-4 erosions at two MCPs: the occlusion map's peak lies on the
    lesion (where the eroded and healthy renders differ) at both."""
    import torch
    from scipy.ndimage import binary_dilation

    from sharpscore.api.explain import explain_joints
    from sharpscore.scoring.model import head_for, site_index
    from sharpscore.scoring.predict import _normalise, prepare_image, site_crops
    from sharpscore.synth import render

    sites = ["mcp2", "mcp3"]
    healthy = render("RH", {}, seed=707, spacing_mm=0.12)
    sick = render("RH", {s: {"erosion": 4, "jsn": 0} for s in sites}, seed=707, spacing_mm=0.12)
    js = scorer.joint_model

    def crops(pixels):
        small, sp, to_small = prepare_image(torch.from_numpy(np.asarray(pixels, np.float32)), (0.12, 0.12),
                                            js.spec.cache_mm_per_px)
        lm = {k: tuple((to_small @ np.array([v[0], v[1], 1.0]))[:2]) for k, v in sick.landmarks.items()}
        return site_crops(small, sp, lm, "RH", js.spec, sites)

    lesion = crops(np.abs(sick.radiograph.pixels - healthy.radiograph.pixels))[:, 0].numpy() > 0.03
    heads = [[head_for("hand", "erosion"), head_for("hand", "jsn")]] * 2
    maps = explain_joints(js.nets[0], _normalise(crops(sick.radiograph.pixels)),
                          torch.tensor([site_index("hand", s) for s in sites]), heads)
    for m, mask in zip(maps, lesion):
        assert mask.any()
        iy, ix = np.unravel_index(int(np.argmax(m)), m.shape)
        assert binary_dilation(mask, iterations=5)[iy, ix]


def test_a_given_region_is_checked(scorer, jpeg_patient):
    film = jpeg_patient / "P00000-RH.jpg"
    with pytest.raises(InputError, match="region must be one of"):
        scorer.score(film, region="XX")
    res = scorer.score(film, region="LF")  # the film shows a right hand: the image decides, flagged
    assert res.region == "RH" and "region_conflicts_with_given:LF" in res.flags and res.needs_review
    assert not any(f.startswith("region_conflicts") for f in scorer.score(film, region="RH").flags)


def test_score_many_keeps_errors_in_place(scorer, jpeg_patient, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    out = scorer.score_many([jpeg_patient / "P00000-RH.jpg", bad, jpeg_patient / "P00000-LF.jpg"], batch_size=2,
                            errors="keep")
    assert out[0].region == "RH" and isinstance(out[1], InputError) and out[2].region == "LF"
    single = scorer.score(jpeg_patient / "P00000-LF.jpg")
    assert out[2].total == pytest.approx(single.total, abs=1e-4)  # batching does not change scores
    with pytest.raises(InputError):
        scorer.score_many([bad])


def test_other_films_are_refused(scorer):
    from sharpscore.synth.other import render_other

    with pytest.raises(NotHandOrFootError):
        scorer.score(render_other("chest", seed=1))


def test_to_dataframe(scorer, jpeg_patient):
    pytest.importorskip("pandas")
    df = scorer.score(jpeg_patient / "P00000-RF.jpg").to_dataframe()
    assert list(df["site"]) == [s.name for s in schema.FOOT_SITES] and df["erosion"].between(0, 10).all()


def test_real_adult_hand_dicom_gets_every_site(scorer):
    from shared_data import shared_path

    res = scorer.score(shared_path("dicom", "NM_Kakadu44_SOTmarkerincons.dcm"))
    assert res.region == "RH"
    erosion = [j.site for j in res.joints if j.erosion is not None]
    jsn = [j.site for j in res.joints if j.jsn is not None]
    assert len(erosion) == 16 and len(jsn) == 15
    assert all(0 <= j.erosion <= 5 for j in res.joints if j.erosion is not None)


def _other_shared_dicoms():
    from shared_data import SHARED

    folder = SHARED / "dicom"
    names = sorted(p.name for p in folder.glob("*.dcm")) if folder.exists() else []
    return [n for n in names if n != "NM_Kakadu44_SOTmarkerincons.dcm"] or ["(shared data absent)"]


@pytest.mark.parametrize("name", _other_shared_dicoms())
def test_every_other_shared_dicom_is_refused(scorer, name):
    from shared_data import shared_path

    with pytest.raises(NotHandOrFootError, match="not a hand or foot"):
        scorer.score(shared_path("dicom", name))


def test_provenance_flags_follow_what_the_scorer_has_seen(dicom_patient):
    foot = sharpscore.score_radiograph(dicom_patient / "P00000-RF.dcm")
    assert "scorer_never_saw_real_foot" in foot.flags and foot.needs_review
    phantom = sharpscore.score_radiograph(dicom_patient / "P00000-RH.dcm", model="phantom")
    assert "scorer_trained_on_phantoms_only" in phantom.flags and phantom.needs_review


def test_one_call_reads_the_full_image_once(scorer, monkeypatch):
    """The localiser's coarse and fine views and the scorer's crops come from one resampling."""
    import sharpscore.resample as resample
    from sharpscore.synth import render

    made = []
    real = resample.ImagePyramid.__init__

    def tracking(self, pixels):
        real(self, pixels)
        made.append(self)

    monkeypatch.setattr(resample.ImagePyramid, "__init__", tracking)
    rg = render("LH", seed=5).radiograph
    scorer.score(rg, explain=True)
    assert len(made) == 1
    assert made[0].full_resamples == 1
