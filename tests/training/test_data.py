import numpy as np
import pytest
from PIL import Image

from sharpscore import schema
from sharpscore.errors import ConfigError
from sharpscore.io.labelme import write_labelme
from sharpscore.training.data import (LabelmeSource, LandmarkCSVSource, ManifestSource, NegativeSource,
                                      RA2DreamSource, load_samples, split_samples)


def test_phantom_source_reads_back_landmarks_grades_and_spacing(tiny_cohort):
    samples = tiny_cohort.samples()
    assert len(samples) == 12 and {s.region for s in samples} == set(schema.REGIONS)
    s = samples[0]
    assert s.spacing_mm == (0.25, 0.25) and set(s.landmarks) == set(schema.landmarks(s.region))
    assert set(s.grades) == {x.name for x in schema.sites(s.region)}
    assert s.load().spacing_mm == (0.25, 0.25)  # the JPEG has none; the source supplies it


def test_ra2_folder_without_landmarks_and_id_filters(tiny_cohort):
    folder = tiny_cohort.folder()
    all_ = RA2DreamSource(root=str(folder)).samples()
    some = RA2DreamSource(root=str(folder), include_ids=["SYN00001"], regions=["LF"]).samples()
    assert len(all_) == 12 and [s.key for s in some] == ["SYN00001-LF"]
    with pytest.raises(ConfigError, match="no such folder"):
        RA2DreamSource(root="/nonexistent").samples()


def test_labelme_and_landmark_csv_sources(tmp_path):
    Image.fromarray(np.zeros((40, 30), np.uint8)).save(tmp_path / "h1.png")
    write_labelme(tmp_path / "h1.json", {"MCP2": (5, 6), "pip2": (7, 8)}, image_path="h1.png", image_height=40,
                  image_width=30)
    lm = LabelmeSource(root=str(tmp_path), region="RH", spacing_mm=0.2, name_map={"MCP2": "mcp2"}).samples()
    assert lm[0].landmarks == {"mcp2": (5.0, 6.0), "pip2": (7.0, 8.0)} and lm[0].spacing_mm == (0.2, 0.2)
    (tmp_path / "lm.csv").write_text("image_id,index,landmark,x_px,y_px\nh1,0,ip1,1,2\nh1,1,tip1,3,4\nh1,2,dip3,5,6\n")
    csv_src = LandmarkCSVSource(csv=str(tmp_path / "lm.csv"), images=str(tmp_path), region="LH", extension=".png",
                                name_map={"ip1": "ip"}).samples()
    assert csv_src[0].landmarks == {"ip": (1.0, 2.0), "dip3": (5.0, 6.0)}  # tip1 is no sharpscore landmark


def test_patient_level_split_and_roles(tiny_cohort):
    samples = load_samples([tiny_cohort, NegativeSource(n=3, role="val")])
    train, val = split_samples(samples, 0.34, seed=0)
    train_p = {s.patient_id for s in train}
    val_p = {s.patient_id for s in val if s.region != "other"}
    assert train_p.isdisjoint(val_p) and len(val_p) == 1  # all four images of a patient stay together
    assert sum(s.region == "other" for s in val) == 3
    rg = [s for s in val if s.region == "other"][0].load()
    assert rg.body_part is None and rg.pixels.ndim == 2


def test_repeat_oversamples_training_only(tiny_cohort):
    src = tiny_cohort.model_copy(update={"repeat": 3, "role": "train"})
    samples = load_samples([src])
    assert len(samples) == 36 and len({id(s) for s in samples}) == 12


def test_k_fold_splits_cover_every_patient_once(tiny_cohort):
    samples = tiny_cohort.samples()
    seen = []
    for fold in range(3):
        train, val = split_samples(samples, 0.0, seed=0, folds=3, fold=fold)
        vp = {s.patient_id for s in val}
        assert vp.isdisjoint({s.patient_id for s in train}) and len(vp) == 1
        seen += sorted(vp)
    assert sorted(seen) == sorted({s.patient_id for s in samples})
    with pytest.raises(ConfigError, match="data.fold"):
        split_samples(samples, 0.0, seed=0, folds=3, fold=3)


def test_manifest_source(tiny_cohort, tmp_path):
    folder = tiny_cohort.folder()
    row = schema.read_ra2_csv(folder / "training.csv")[0]
    pid = row["Patient_ID"]
    cols = [c for c in schema.RA2_JOINT_COLUMNS if c.startswith("LH_")]
    lines = ["path,patient,region," + ",".join(cols),
             f"{folder / (pid + '-LH.jpg')},p1,LH," + ",".join(str(row[c]) for c in cols)]
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    (got,) = ManifestSource(csv=str(tmp_path / "m.csv")).samples()
    assert got.patient_id == "p1" and got.region == "LH" and got.landmarks  # labelme beside the image
    assert got.grades["mcp2"]["erosion"] == row["LH_mcp_E__2"] and got.grades["ip"]["jsn"] is None
    (tmp_path / "bad.csv").write_text("path,patient\nx.jpg,p\n")
    with pytest.raises(ConfigError, match="lacks column"):
        ManifestSource(csv=str(tmp_path / "bad.csv")).samples()


def test_ra2_team_landmark_labels_are_renamed(tiny_cohort, tmp_path):
    import shutil

    from sharpscore.io.labelme import RA2_TEAM_LABELS, read_labelme

    folder = tiny_cohort.folder()
    src = sorted(folder.glob("*-RH.jpg"))[0]
    shutil.copy(src, tmp_path / src.name)
    shutil.copy(folder / "training.csv", tmp_path / "training.csv")
    ours, size = read_labelme(src.with_suffix(".json"))
    team = {label: ours[name] for label, name in RA2_TEAM_LABELS["hand"].items()}
    team["w1"] = (1.0, 2.0)  # a wrist point of theirs that is no SvdH site
    write_labelme(tmp_path / src.with_suffix(".json").name, team, image_path=src.name, image_height=size[0],
                  image_width=size[1])
    (s,) = RA2DreamSource(root=str(tmp_path)).samples()
    assert set(s.landmarks) == set(RA2_TEAM_LABELS["hand"].values()) and s.landmarks["mcp2"] == ours["mcp2"]


def _one_labelled_hand(cohort, folder):
    """A left hand of ``cohort`` copied into ``folder`` with its labelme file; (its sample, a
    ``labelme`` base source over ``folder``)."""
    import shutil

    hand = next(s for s in cohort.samples() if s.region == "LH")
    shutil.copy(hand.path, folder / "h1.png")
    h, w = np.asarray(Image.open(hand.path)).shape[:2]
    write_labelme(folder / "h1.json", hand.landmarks, image_path="h1.png", image_height=h, image_width=w)
    return hand, {"type": "labelme", "root": str(folder), "region": "LH", "spacing_mm": 0.25}


def test_real_edit_as_foot_scores_finger_joints_as_foot_sites(tiny_cohort, tmp_path):
    """``as_foot``: a hand's MCPs and thumb IP stand in for a foot's MTPs and hallux IP (same side),
    with foot grades; copies keep the film as their split group and never share a key with hand copies."""
    from sharpscore.training.data import RealEditSource

    hand, base = _one_labelled_hand(tiny_cohort, tmp_path)
    feet = RealEditSource(base=base, as_foot=True, copies=2, healthy_copies=1, seed=3).samples()
    hands = RealEditSource(base=base, copies=2, healthy_copies=1, seed=3).samples()
    assert [s.region for s in feet] == ["LF"] * 3
    assert set(feet[0].landmarks) == set(schema.FOOT_LANDMARKS)
    assert feet[0].landmarks["mtp2"] == tuple(hand.landmarks["mcp2"])
    assert not {s.key for s in feet} & {s.key for s in hands}
    assert {s.group for s in feet} == {s.group for s in hands} == {"h1"}
    # a second source over the same films names its copies apart (one patient is one film copy)
    severe = RealEditSource(base=base, copies=1, healthy_copies=0, seed=4, id_suffix="-severe").samples()
    assert [s.patient_id for s in severe] == ["h1-severe-edit0"] and severe[0].group == "h1"
    assert not {s.patient_id for s in severe} & {s.patient_id for s in hands}
    healthy, edited = feet[0].load(), feet[1].load()
    assert set(feet[1].grades) == {s.name for s in schema.FOOT_SITES}
    drawn = sum(g["erosion"] + g["jsn"] for g in feet[1].grades.values())
    assert drawn > 0 and not np.array_equal(healthy.pixels, edited.pixels)
    assert sum(g["erosion"] + g["jsn"] for g in feet[0].grades.values()) == 0


def test_real_edit_mature_closes_growth_plates_from_the_hand_landmarks(tiny_cohort, tmp_path, monkeypatch):
    """``mature``: every copy but the first healthy one may be drawn on the film with its growth plates
    closed, found from the hand's own landmarks and region, also when the hand stands in for a foot."""
    import sharpscore.synth.mature as mature_mod
    from sharpscore.synth.mature import MaturationResult
    from sharpscore.training.data import RealEditSource

    calls = []

    def fake(pixels, landmarks, spacing, region, **kw):
        calls.append((region, set(landmarks)))
        return MaturationResult(np.clip(pixels + 0.01, 0, 1).astype(np.float32), {"x": (0.1, 1.0)})

    monkeypatch.setattr(mature_mod, "close_growth_plates", fake)
    hand, base = _one_labelled_hand(tiny_cohort, tmp_path)
    plain = RealEditSource(base=base, copies=1, healthy_copies=2, seed=3, jsn_reference="adult")
    made = RealEditSource(base=base, copies=1, healthy_copies=2, seed=3, jsn_reference="adult", mature=1.0)
    a, b = [s.load().pixels for s in plain.samples()], [s.load().pixels for s in made.samples()]
    assert np.array_equal(a[0], b[0])  # the first healthy copy is the film as it is
    assert all(not np.array_equal(x, y) for x, y in zip(a[1:], b[1:]))
    assert len(calls) == 1 and calls[0][0] == "LH" and "pip3" in calls[0][1]  # made once per film
    calls.clear()
    feet = RealEditSource(base=base, as_foot=True, copies=1, healthy_copies=1, seed=3, mature=1.0).samples()
    [s.load() for s in feet]
    assert calls and calls[0][0] == "LH" and "pip3" in calls[0][1]


def test_calibration_scores_an_as_foot_copy_at_its_foot_sites(tiny_cohort, tmp_path, monkeypatch):
    """Calibration localises every film; a hand film standing in for a foot is found as the hand it
    is and must be scored at the homologous foot sites, not skipped as a region mismatch."""
    from types import SimpleNamespace

    import sharpscore.models as models
    from sharpscore.training import calibrate
    from sharpscore.training.data import RealEditSource

    hand, base = _one_labelled_hand(tiny_cohort, tmp_path)
    feet = RealEditSource(base=base, as_foot=True, copies=1, healthy_copies=1, seed=3).samples()
    assert all(s.as_foot for s in feet)
    found = SimpleNamespace(region="LH", spacing_mm=(0.25, 0.25),
                            landmarks={k: (*v, 1.0) for k, v in hand.landmarks.items()})
    monkeypatch.setattr(models, "load_localizer", lambda name: SimpleNamespace(predict=lambda rg: found))
    seen = []

    class Scorer:
        def score(self, pixels, spacing, landmarks, region):
            seen.append((region, set(landmarks)))
            return SimpleNamespace(features=None)

    scored = calibrate._score_samples(Scorer(), feet)
    assert len(scored) == 2 and all(r == "LF" for r, _ in seen)
    assert all(names == set(schema.FOOT_LANDMARKS) for _, names in seen)
    assert seen and found.landmarks["mcp2"][:2] == hand.landmarks["mcp2"]
