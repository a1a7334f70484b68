"""The spatial layer: one owner of spacing, coordinate order and local bone frames."""

import re
from pathlib import Path

import numpy as np
import pytest

from sharpscore.spatial import BoneFrame, Spacing, as_spacing, bone_frame, distance_mm, to_mm, to_px


def test_spacing_is_row_col_and_points_are_x_y():
    sp = as_spacing((0.2, 0.1))  # rows 0.2 mm, columns 0.1 mm
    assert sp == Spacing(0.2, 0.1) and sp.iso == 0.1
    assert to_mm((10, 5), sp).tolist() == [1.0, 1.0]  # x * col, y * row
    assert np.allclose(to_px(to_mm([[3, 4], [7, 9]], sp), sp), [[3, 4], [7, 9]])
    assert distance_mm((0, 0), (10, 5), sp) == pytest.approx(np.sqrt(2))
    assert as_spacing(0.15) == Spacing(0.15, 0.15)
    assert sp.scaled(2, 4) == Spacing(0.4, 0.4)


def test_bone_frame_round_trip_and_axis():
    frame = BoneFrame((100.0, 200.0), (0.0, -1.0), Spacing(0.1, 0.1))  # axis pointing up the image
    x, y = frame.to_px(5.0, 0.0)  # 5 mm distal = 50 px up
    assert (float(x), float(y)) == pytest.approx((100.0, 150.0))
    t, s = frame.from_px(np.array([130.0]), np.array([180.0]))
    assert (float(t[0]), float(s[0])) == pytest.approx((2.0, 3.0))
    lm = {"mcp3": (100, 200), "pip3": (100, 0)}
    f = bone_frame("hand", "mcp3", lm, (0.1, 0.1))
    assert f.axis == pytest.approx((0.0, -1.0))


def test_only_the_spatial_layer_indexes_spacing():
    src = Path(__file__).resolve().parents[1] / "src" / "sharpscore"
    pattern = re.compile(r"spacing(_mm)?\[[01]\]|sr, sc = ")
    offenders = [f"{p.relative_to(src)}:{i}" for p in src.rglob("*.py") if p.name != "spatial.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []
