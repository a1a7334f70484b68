"""Where the development data lives. Real data is in ../shared/data beside the checkout; tests that
need it skip cleanly when it is absent (as on a user's machine)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARPSCORE_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


DHA_SPACING = (0.108075, 0.108075)
_DHA_NAMES = {"ip1": "ip", "cmc1": "mc1"}


def dha_film(image_id: str):
    """A Digital Hand Atlas film and its annotated landmarks in sharpscore's names:
    ``(pixels float32, {name: (x, y)})`` (skips when the shared data is absent)."""
    import csv

    import numpy as np

    from sharpscore.io import load_radiograph

    root = shared_path("dha-hands")
    lm = {}
    with open(root / "landmarks.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["image_id"] == image_id:
                lm[_DHA_NAMES.get(row["landmark"], row["landmark"])] = (float(row["x_px"]), float(row["y_px"]))
    return load_radiograph(root / "images" / f"{image_id}.jpg").pixels.astype(np.float32), lm
