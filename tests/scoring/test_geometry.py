import numpy as np
import pytest
import torch

from sharpscore.localize.geometry import warp, warp_points
from sharpscore.scoring.geometry import distal_direction, site_crop_matrix
from sharpscore.scoring.model import ScorerSpec
from sharpscore.scoring.predict import site_crops


def _blob_image(centre, shape=(400, 300)):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return torch.from_numpy(np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * 3.0**2)).astype(np.float32))


@pytest.mark.parametrize("distal", [(0.0, -1.0), (0.6, -0.8), (-1.0, 0.0)])
@pytest.mark.parametrize("mirror", [False, True])
def test_landmark_lands_at_crop_centre(distal, mirror):
    centre = (123.4, 201.7)
    m = site_crop_matrix(centre, np.array(distal), (0.2, 0.1), 20.0, 65, mirror=mirror)
    p = warp_points(np.array([centre]), m)[0]
    assert np.allclose(p, [32.0, 32.0], atol=1e-9)
    crop = warp(_blob_image(centre), m[None], 65)[0, 0]
    iy, ix = divmod(int(crop.argmax()), 65)
    assert (iy, ix) == (32, 32)


def test_crop_covers_fov_in_millimetres_and_points_distal_up():
    # anisotropic pixels: 0.2 mm rows, 0.1 mm columns; a 20 mm crop of 100 px is 0.2 mm per crop px
    m = site_crop_matrix((100.0, 100.0), np.array([0.0, -1.0]), (0.2, 0.1), 20.0, 100)
    top = m @ np.array([49.5, 0.0, 1.0])
    bottom = m @ np.array([49.5, 99.0, 1.0])
    assert top[1] < bottom[1]  # crop top is image up (distal)
    assert np.isclose((bottom[1] - top[1]) * 0.2, 99 * 0.2)  # mm along rows
    right = m @ np.array([99.0, 49.5, 1.0])
    assert np.isclose((right[0] - 100.0) * 0.1, 49.5 * 0.2)


def test_mirroring_swaps_sides():
    spec = ScorerSpec(size=64, fov_mm={"finger": 12.8, "wrist": 20.0, "foot": 20.0})
    # a bright dot 3 mm to the right of the joint (radial side of a right hand is on the image left)
    img = _blob_image((160, 200))
    lm = {"mcp2": (130.0, 200.0), "pip2": (130.0, 100.0)}
    right = site_crops(img, (0.1, 0.1), lm, "RH", spec, ["mcp2"])[0, 0]
    left = site_crops(img, (0.1, 0.1), lm, "LH", spec, ["mcp2"])[0, 0]
    assert torch.allclose(left, torch.flip(right, dims=[1]), atol=1e-5)
    assert int(right.argmax()) % 64 > 32 > int(left.argmax()) % 64


def test_axes_follow_neighbouring_landmarks():
    lm = {"mcp3": (100, 300), "pip3": (100, 200), "dip3": (100, 150), "radcar": (110, 500),
          "mcp1": (40, 330), "ip": (0, 250)}
    sp = (0.4, 0.4)  # mcp3-pip3 40 mm
    assert np.allclose(distal_direction("hand", "pip3", lm, sp), [0, -1])
    d = distal_direction("hand", "ip", lm, sp)
    assert np.allclose(d, np.array([-40, -80]) / np.hypot(40, 80))
    wrist = distal_direction("hand", "lunate", lm, sp)
    assert wrist[1] < -0.99
    foot = {"mtp1": (0, 100), "mtp5": (100, 130), "ip": (-10, 40)}
    d = distal_direction("foot", "mtp3", foot, (0.1, 0.1))
    assert d[1] < -0.9  # perpendicular to the MTP row, towards the toes
    assert np.allclose(distal_direction("foot", "mtp3", {}, (0.1, 0.1)), [0, -1])


def test_a_misplaced_neighbour_does_not_turn_the_crop():
    sp = (0.4, 0.4)
    lm = {"mcp3": (100, 300), "pip3": (100, 200), "mcp2": (40, 310), "mcp4": (160, 305), "mcp5": (210, 320),
          "radcar": (110, 500)}
    hand_axis = distal_direction("hand", "lunate", lm, sp)
    # pip4 found on another finger, 70 mm away: the MCP4 crop follows the hand axis instead
    bad = {**lm, "pip4": (-40, 280)}
    assert np.allclose(distal_direction("hand", "mcp4", bad, sp), hand_axis)
    # a neighbour the localiser is unsure of is not used either
    unsure = {**{k: (*v, 0.9) for k, v in lm.items()}, "pip4": (200, 240, 0.1)}
    assert np.allclose(distal_direction("hand", "mcp4", unsure, sp), hand_axis)
    good = {**lm, "pip4": (165, 205)}
    assert not np.allclose(distal_direction("hand", "mcp4", good, sp), hand_axis)
