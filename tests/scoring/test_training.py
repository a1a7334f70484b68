"""Scorer training through the shared engine, fine-tuning, calibration and the docs/finetune.md recipe."""

import json
from pathlib import Path

import pytest
import torch

from sharpscore import schema
from sharpscore.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
TINY = {"size": 48, "widths": [8, 8, 16, 16], "hidden": 16, "site_embedding": 4}


@pytest.fixture(scope="module")
def ra2_cohort(tmp_path_factory):
    """Six phantom patients in the RA2-DREAM layout, coarse pixels to stay fast."""
    from sharpscore.synth import SynthConfig, generate_cohort

    out = tmp_path_factory.mktemp("ra2")
    generate_cohort(SynthConfig(n=6, seed=11, workers=1, acquisition={"spacing_mm": [0.2, 0.2]},
                                disease={"median_severity": 0.3}), out, progress=False)
    return out


def test_few_step_training_and_reload(ra2_cohort, tmp_path):
    from sharpscore.models import load_scorer
    from sharpscore.training import train

    res = train(None, {"data.sources": [{"type": "ra2", "root": str(ra2_cohort)}], "data.val_fraction": 0.34},
                task="scorer", out_dir=str(tmp_path / "run"), epochs=2, batch_size=8, max_steps_per_epoch=3,
                model=TINY)
    assert res["epochs_run"] == 2 and "val_qwk_mean" in res["history"][-1]
    meta = json.loads((tmp_path / "run" / "best.json").read_text())
    assert meta["task"] == "scorer" and meta["spec"]["size"] == 48 and meta["trained_on"] == ["ra2"]
    scorer = load_scorer(tmp_path / "run" / "best.pt")
    assert scorer.trained_on == ("ra2",)  # a cohort of one's own: no phantoms-only flag
    ck = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert torch.equal(scorer.nets[0].state_dict()["site.weight"], ck["model"]["site.weight"])
    assert (tmp_path / "run" / "config.yaml").exists()

    # A barely trained network is badly calibrated: temperature + class priors fitted on half of the
    # validation patients lower the calibration error on the other half.
    from sharpscore.training.calibrate import calibrate_scorer
    from sharpscore.training import TrainConfig

    cfg = TrainConfig(task="scorer", out_dir=str(tmp_path / "run"),
                      calibration={"landmarks": "data", "eval_fraction": 0.5},
                      data={"sources": [{"type": "ra2", "root": str(ra2_cohort)}], "val_fraction": 0.99})
    summary = calibrate_scorer(cfg)
    jsn = summary["eval"]["jsn"]
    assert jsn["n"] >= 100 and jsn["ece_after"] < jsn["ece_before"]
    # totals' intervals: one per region kind where there are enough films of it, else the one over all
    cal = json.loads((tmp_path / "run" / "best.calibration.json").read_text())["calibrators"]
    assert "interval/region" in cal and "interval/region/hand" not in cal  # fewer than 20 hands
    assert set(summary["eval"]["region_total_interval_coverage_by_source"]) == {"ra2"}
    assert 0 <= summary["eval"]["by_source"]["ra2"]["ece_jsn"] < 1  # calibration measured per source too
    for key in ("interval_sources", "joint_sources"):
        with pytest.raises(ConfigError, match="no calibration source named"):
            calibrate_scorer(cfg.model_copy(update={"calibration": {"landmarks": "data", key: ["x"]}}))
    calibrate_scorer(cfg.model_copy(update={"calibration": {"landmarks": "data", "interval_sources": ["ra2"],
                                                            "min_interval_regions": 2}}))
    cal = json.loads((tmp_path / "run" / "best.calibration.json").read_text())["calibrators"]
    assert cal["interval/region/hand"]["q"] > 0 and cal["interval/region/foot"]["q"] > 0

    # A calibration fitted on a handful of patients is not trusted: every result says so.
    from sharpscore.api import Scorer

    scorer = Scorer(str(tmp_path / "run" / "best.pt"))
    assert scorer.joint_model.calibration_patients == summary["fit_patients"] < 30
    res = scorer.score(sorted(p for p in ra2_cohort.glob("*-RH.*") if p.suffix != ".json")[0])
    assert f"small_calibration:{summary['fit_patients']}" in res.flags and res.needs_review


def test_finetune_from_shipped_weights_with_frozen_backbone(ra2_cohort, tmp_path):
    import sharpscore
    from sharpscore.models import default_weights_path

    shipped = torch.load(default_weights_path("scorer"), weights_only=True)["model"]
    res = sharpscore.finetune(None, {"data.sources": [{"type": "ra2", "root": str(ra2_cohort)}],
                                     "data.val_fraction": 0.34},
                              out_dir=str(tmp_path / "ft"), epochs=1, batch_size=8, max_steps_per_epoch=2,
                              freeze=["backbone"], sites=["mcp2", "mcp3", "mtp5"])
    tuned = torch.load(res["best_path"], weights_only=True)["model"]
    conv = "backbone.conv1.weight"
    assert torch.allclose(tuned[conv].float(), shipped[conv].float(), atol=1e-3)  # frozen (fp16 in the bundle)
    head = "heads.jsn.weight"
    assert not torch.allclose(tuned[head].float(), shipped[head].float(), atol=1e-4)  # trained


def test_unknown_sites_are_rejected(ra2_cohort, tmp_path):
    import sharpscore
    from sharpscore.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown site"):
        sharpscore.finetune(None, {"data.sources": [{"type": "ra2", "root": str(ra2_cohort)}]},
                            out_dir=str(tmp_path / "x"), sites=["mcp9"])


def test_finetune_recipe_end_to_end(ra2_cohort, tmp_path, capsys):
    """The three commands of docs/finetune.md on a phantom cohort."""
    from sharpscore.cli import main

    doc = (ROOT / "docs" / "finetune.md").read_text()
    assert "sharpscore train configs/finetune-ra2.yaml" in doc and "sharpscore calibrate" in doc
    run = tmp_path / "mine"
    common = [f"data.sources.0.root={ra2_cohort}", f"out_dir={run}", "data.val_fraction=0.5"]
    fast = ["epochs=1", "max_steps_per_epoch=2", "batch_size=8"]
    assert main(["train", str(ROOT / "configs" / "finetune-ra2.yaml"), *common, *fast]) == 0
    assert main(["calibrate", str(ROOT / "configs" / "finetune-ra2.yaml"), *common]) == 0
    out = capsys.readouterr().out
    assert "calibration written to" in out and "held-out" in out
    cal = json.loads((run / "best.calibration.json").read_text())["calibrators"]
    assert {"temperature/jsn", "aps/jsn", "interval/patient", "interval/region"} <= set(cal)
    assert main(["evaluate", "--pred", str(run / "calibration" / "predictions.csv"), "--truth",
                 str(run / "calibration" / "truth.csv"), "--out", str(run / "report")]) == 0
    metrics = json.loads((run / "report" / "metrics.json").read_text())
    assert {"sc1", "sc2", "sc3"} <= set(metrics["ra2"]) and "icc2_1" in metrics["total"]
    assert "finger_jsn" in metrics["probabilities"] and (run / "report" / "reliability.png").exists()
    # the calibrated bundle loads with its calibration
    from sharpscore.models import load_scorer

    assert "aps/jsn" in load_scorer(run / "best.pt").calibration


def test_partial_landmark_files_are_completed_by_the_localiser(ra2_cohort, tmp_path):
    """RA2-DREAM team files hold finger joints only; the localiser supplies the wrist sites."""
    import shutil

    from sharpscore.io.labelme import read_labelme, write_labelme
    from sharpscore.scoring.model import ScorerSpec
    from sharpscore.training.scorer_task import ScorerDataset
    from sharpscore.training.data import RA2DreamSource

    src = sorted(ra2_cohort.glob("*-LH.jpg"))[0]
    shutil.copy(src, tmp_path / src.name)
    shutil.copy(ra2_cohort / "training.csv", tmp_path / "training.csv")
    ours, size = read_labelme(src.with_suffix(".json"))
    fingers = {k: v for k, v in ours.items() if k == "ip" or k[:3] in ("mcp", "pip")}
    write_labelme(tmp_path / src.with_suffix(".json").name, fingers, image_path=src.name, image_height=size[0],
                  image_width=size[1])
    samples = RA2DreamSource(root=str(tmp_path)).samples()
    ds = ScorerDataset(samples, ScorerSpec(**TINY), None)
    assert len(ds.items) == len(schema.HAND_SITES)  # all 22 sites, wrist ones from the localiser
    assert samples[0].landmarks["mcp2"] == fingers["mcp2"]  # the file's own points win


def test_resolution_and_jpeg_augmentation_change_crops_deterministically():
    import numpy as np
    import torch

    from sharpscore.training.scorer_task import ScorerAugment, ScorerDataset

    ds = ScorerDataset.__new__(ScorerDataset)
    x = torch.rand(1, 96, 96)
    ds.augment = ScorerAugment(gamma=(1, 1), contrast=(1, 1), noise=0, blur=0, lowres=1.0, jpeg=1.0)
    a = ds._intensity(x, np.random.default_rng(3))
    b = ds._intensity(x, np.random.default_rng(3))
    assert torch.equal(a, b) and a.shape == x.shape
    assert float((a - x).abs().mean()) > 0.02  # coarser and compressed
    ds.augment = ScorerAugment(gamma=(1, 1), contrast=(1, 1), noise=0, blur=0)
    assert torch.allclose(ds._intensity(x, np.random.default_rng(3)), x)  # off by default


def test_film_processing_raises_or_softens_local_contrast_at_a_scale_in_mm():
    import numpy as np
    import torch

    from sharpscore.training.scorer_task import ScorerAugment, ScorerDataset, film_processing

    # a bright bone edge: unsharp masking overshoots on both sides, a negative amount flattens it
    x = torch.full((1, 96, 96), 0.3)
    x[:, :, 48:] = 0.7
    sharp, soft = film_processing(x, 5.0, 1.0), film_processing(x, 5.0, -0.5)
    assert sharp[0, 0, 46] < 0.3 - 0.02 and sharp[0, 0, 50] > 0.7 + 0.02
    assert 0.3 < soft[0, 0, 46] < soft[0, 0, 50] < 0.7
    assert torch.allclose(film_processing(x, 5.0, 0.0), x)
    assert torch.allclose(sharp[0, 0, :20], x[0, 0, :20], atol=1e-3)  # flat far from the edge
    # in the dataset: deterministic by seed, sigma given in mm and converted with the crop's mm/px
    ds = ScorerDataset.__new__(ScorerDataset)
    ds.augment = ScorerAugment(gamma=(1, 1), contrast=(1, 1), noise=0, blur=0, processing=1.0,
                               processing_amount=(1.0, 1.0), processing_sigma_mm=(1.0, 1.0))
    a = ds._intensity(x, np.random.default_rng(3), mm_per_px=0.2)
    assert torch.equal(a, ds._intensity(x, np.random.default_rng(3), mm_per_px=0.2))
    assert torch.allclose(a, film_processing(x, 5.0, 1.0), atol=1e-6)


def test_a_finetune_keeps_its_starting_weights_architecture(tmp_path):
    """``init`` weights bring their architecture (the saved ScorerSpec); the config's ``model`` keys
    override it one by one. (Before, a config without ``model`` built the default architecture and
    loaded into it whatever fitted.)"""
    from sharpscore.scoring import ScorerNet, ScorerSpec
    from sharpscore.training import TrainConfig
    from sharpscore.training.scorer_task import ScorerTask

    spec = ScorerSpec(**TINY, pooling="site")
    path = tmp_path / "start.pt"
    torch.save({"model": ScorerNet(spec).state_dict(),
                "meta": json.dumps({"task": "scorer", "spec": spec.model_dump(mode="json")})}, path)
    task = ScorerTask(TrainConfig(task="scorer", init=str(path)))
    assert task.spec == spec
    task = ScorerTask(TrainConfig(task="scorer", init=str(path), model={"dropout": 0.3}))
    assert task.spec == spec.model_copy(update={"dropout": 0.3})
    assert ScorerTask(TrainConfig(task="scorer")).spec == ScorerSpec()  # no init: the defaults
    assert ScorerTask(TrainConfig(task="scorer", init=str(tmp_path / "missing.pt"))).spec == ScorerSpec()
