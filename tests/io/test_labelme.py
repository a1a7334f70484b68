"""Reading a reader's labelme landmark file: a well-formed file round-trips; a hostile one is a
typed InputError, never a raw exception (bench/fuzz.py --target landmarks found 1,718 of 4,013)."""

from __future__ import annotations

import json

import pytest

from sharpscore.errors import InputError
from sharpscore.io.labelme import read_labelme_extra, write_labelme


def _good(tmp_path):
    path = write_labelme(tmp_path / "a.json", {"mcp2": (10.0, 20.5), "pip3": (30.0, 40.0)}, image_path="a.png",
                         image_height=100, image_width=80, spacing_mm=(0.1, 0.1), region="RH")
    return path, json.loads(path.read_text())


def test_a_labelme_file_round_trips(tmp_path):
    path, _ = _good(tmp_path)
    points, size, extra = read_labelme_extra(path)
    assert points == {"mcp2": (10.0, 20.5), "pip3": (30.0, 40.0)} and size == (100, 80)
    assert extra == {"spacing_mm": [0.1, 0.1], "region": "RH"}


@pytest.mark.parametrize("mutate", [
    lambda d: [d],                                                     # the top level is a list
    lambda d: {**d, "shapes": True},                                   # shapes not a list
    lambda d: {**d, "shapes": [3.0]},                                  # a shape not an object
    lambda d: {**d, "shapes": [{"points": [[1, 2]], "shape_type": "point"}]},      # no label
    lambda d: {**d, "shapes": [{"label": "mcp2", "points": [[1]]}]},   # a point without y
    lambda d: {**d, "shapes": [{"label": "mcp2", "points": [[None, 2]]}]},
    lambda d: {**d, "shapes": [{"label": "mcp2", "points": "[1,2]"}]},
    lambda d: {**d, "imageHeight": float("inf")},                      # not a whole number
    lambda d: {**d, "imageWidth": "wide"},
    lambda d: {**d, "sharpscore": [1]},                                # metadata not an object
])
def test_a_hostile_labelme_file_is_a_typed_error(tmp_path, mutate):
    path, doc = _good(tmp_path)
    path.write_text(json.dumps(mutate(doc)))
    with pytest.raises(InputError):
        read_labelme_extra(path)
