import csv
import json
import os
import subprocess
import sys

import pytest
import torch
import yaml

from sharpscore.training import Trainer, train

from tiny import tiny_config


def test_tiny_run_writes_everything(tmp_path, tiny_cohort):
    result = Trainer(tiny_config(tmp_path / "run", tiny_cohort)).fit()
    out = tmp_path / "run"
    assert result["epochs_run"] == 2 and result["best_epoch"] in (1, 2)
    for name in ("config.yaml", "versions.json", "checkpoints/last.pt", "checkpoints/config.yaml", "best.pt",
                 "best.json", "metrics.csv"):
        assert (out / name).exists(), name
    assert yaml.safe_load((out / "config.yaml").read_text())["task"] == "localizer"
    assert "torch" in json.loads((out / "versions.json").read_text())
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"] and float(rows[0]["train_loss"]) > 0
    ck = torch.load(out / "best.pt", weights_only=True)  # loads without pickle execution
    assert "coarse_net.final_conv.conv.weight" in ck["model"] or any(k.startswith("coarse_net") for k in ck["model"])


def test_resume_continues_the_exact_run(tmp_path, tiny_cohort, monkeypatch):
    straight = Trainer(tiny_config(tmp_path / "a", tiny_cohort, epochs=2)).fit()
    # The same run, killed right after its first checkpoint ...
    original = Trainer._checkpoint

    def crash_after_first(self, path, *args):
        original(self, path, *args)
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_checkpoint", crash_after_first)
    with pytest.raises(KeyboardInterrupt):
        Trainer(tiny_config(tmp_path / "b", tiny_cohort, epochs=2)).fit()
    monkeypatch.setattr(Trainer, "_checkpoint", original)
    # ... and resumed: it must end exactly where the uninterrupted run ended.
    resumed = Trainer(tiny_config(tmp_path / "b", tiny_cohort, epochs=2, resume=True)).fit()
    a = torch.load(tmp_path / "a" / "checkpoints" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert resumed["epochs_run"] == 2 and len(resumed["history"]) == 2
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6), k
    assert straight["history"][1]["train_loss"] == resumed["history"][1]["train_loss"]


def test_train_api_with_overrides(tmp_path, tiny_cohort):
    cfg = tiny_config(tmp_path / "c", tiny_cohort)
    result = train(cfg, ["epochs=1", "optimizer.lr=0.001"])
    assert result["epochs_run"] == 1
    assert yaml.safe_load((tmp_path / "c" / "config.yaml").read_text())["optimizer"]["lr"] == 0.001


def test_ddp_on_gloo_with_two_processes(tmp_path, tiny_cohort):
    cfg = tiny_config(tmp_path / "ddp", tiny_cohort, epochs=1, device="cpu")
    from sharpscore.config import dump_config

    dump_config(cfg, tmp_path / "ddp.yaml")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                           "-m", "sharpscore.cli", "train", str(tmp_path / "ddp.yaml")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("trained 1 epochs") == 2  # both ranks finish
    rows = list(csv.DictReader((tmp_path / "ddp" / "metrics.csv").open()))
    assert len(rows) == 1  # rank 0 alone logs
    assert (tmp_path / "ddp" / "best.pt").exists()


def test_wider_wrist_crops_are_trained_and_used(tmp_path, tiny_cohort):
    from sharpscore.localize.predict import Localizer
    from sharpscore.resample import ImagePyramid
    from sharpscore.training.localizer_task import LocalizerDataset, LocalizerTask
    from sharpscore.localize.template import WRIST
    from sharpscore.training.data import load_samples

    cfg = tiny_config(tmp_path / "w", tiny_cohort, epochs=1,
                      model={"coarse_size": 64, "fine_size": 32, "wrist_fine_size": 48,
                             "coarse_features": [4, 4, 8, 8, 16, 4], "fine_features": [4, 4, 8, 8, 16, 4]},
                      augment={"fine_per_image": 2, "wrist_per_image": 3})
    task = LocalizerTask(cfg)
    samples = [s for s in load_samples(cfg.data.sources) if s.region in ("LH", "RH")][:1]
    item = LocalizerDataset(samples, task.spec, task.augment)[0]
    assert item["wrist_fine"].shape == (3, 1, 48, 48) and item["fine"].shape == (2, 1, 32, 32)
    assert item["wrist_fine_valid"].sum() == 3  # a hand: every wrist crop holds a wrist site
    result = Trainer(cfg).fit()
    assert result["epochs_run"] == 1
    rows = list(csv.DictReader((tmp_path / "w" / "metrics.csv").open()))
    assert float(rows[0]["train_wrist"]) > 0

    net = task.build_model()
    loc = Localizer(net)
    sizes = []
    net.fine = lambda x: (sizes.append(x.shape[-1]), torch.zeros(x.shape[0], 32, *x.shape[-2:]))[1]
    coarse = {n: (100.0, 100.0, 1.0) for n in ("mcp2", "pip2", *WRIST)}
    loc._refine(ImagePyramid(torch.rand(300, 300)), (0.2, 0.2), coarse, "hand")
    assert sorted(sizes) == [32, 48]
    sizes.clear()
    loc._refine(ImagePyramid(torch.rand(300, 300)), (0.2, 0.2), {"mtp1": (100.0, 100.0, 1.0)}, "foot")
    assert sizes == [32]
