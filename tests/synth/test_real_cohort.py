"""``sharpscore synth --real``: a scored cohort from a real, unscored film (skips without ../shared)."""

from __future__ import annotations

import shutil

import numpy as np
from PIL import Image

from shared_data import shared_path
from sharpscore import schema
from sharpscore.cli import main
from sharpscore.io.labelme import read_labelme_extra


def test_synth_real_writes_a_scored_cohort_with_matured_copies(tmp_path):
    films = tmp_path / "films"
    films.mkdir()
    shutil.copy(shared_path("dha-hands", "images", "3162.jpg"), films / "3162.jpg")  # a child: open growth plates
    out = tmp_path / "out"
    assert main(["synth", "--real", str(films), "--out", str(out), "--quiet", "copies=1", "healthy_copies=2",
                 "mature=1.0", "jsn_reference=adult", "seed=4"]) == 0
    rows = schema.read_ra2_csv(out / "training.csv")
    assert [r["Patient_ID"] for r in rows] == ["3162e0", "3162e1", "3162e2"]
    assert rows[0]["Overall_Tol"] == 0 and rows[1]["Overall_Tol"] == 0
    pixels = [np.asarray(Image.open(out / f"3162e{k}-LH.png"), np.float64) / 65535 for k in range(3)]
    original = np.asarray(Image.open(films / "3162.jpg").convert("L"), np.float64) / 255
    assert np.abs(pixels[0] - original).max() < 2e-3  # the first copy is the film as it is
    # the second healthy copy: growth plates closed (bone added, nothing removed), adult joint spaces
    grown = pixels[1] - pixels[0]
    assert grown.max() > 0.05 and (grown > 0.02).sum() > 500
    pts, _, extra = read_labelme_extra(out / "3162e1-LH.json")
    assert {"mcp3", "pip3", "radcar"} <= set(pts) and extra["region"] == "LH"
