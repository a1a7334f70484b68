import numpy as np
import pytest
import torch

from sharpscore.localize.decode import decode_heatmaps
from sharpscore.localize.geometry import (CHANNELS, crop_matrix, estimate_spacing, letterbox_matrix, warp,
                                          warp_points)
from sharpscore.localize.predict import _side_from_geometry, scale_matrix, shrink
from sharpscore.synth import render


def test_channels_cover_every_landmark_once():
    assert len(CHANNELS) == 32 and len(set(CHANNELS)) == 32


def test_letterbox_fits_and_round_trips():
    m = letterbox_matrix((300, 200), 100)
    corners = warp_points(np.array([[0, 0], [199, 299]]), m)
    assert corners.min() >= -1 and corners.max() <= 101
    aug = letterbox_matrix((300, 200), 100, scale=1.1, rotate_deg=12, shift=(0.05, -0.03), flip=True)
    pts = np.array([[10.0, 20.0], [150.0, 250.0]])
    back = (aug @ np.column_stack([warp_points(pts, aug), np.ones(2)]).T).T[:, :2]
    assert np.allclose(back, pts)


def test_warp_samples_where_the_matrix_says():
    img = torch.zeros(50, 60)
    img[20, 30] = 1.0
    m = crop_matrix((30.0, 20.0), 9, (0.5, 0.5), 0.5)  # 1:1 crop centred on the bright pixel
    crop = warp(img, m[None], 9)[0, 0]
    assert crop[4, 4] == pytest.approx(1.0, abs=1e-4) and float(crop.sum()) == pytest.approx(1.0, abs=1e-4)


def test_crop_centre_is_the_landmark_in_mm():
    img = render("RH", None, seed=1, spacing_mm=0.12, noise=0.0)
    x, y = img.landmarks["mcp3"]
    m = crop_matrix((x, y), 64, (0.12, 0.12), 0.25, rotate_deg=20)
    centre = warp_points(np.array([[x, y]]), m)[0]
    assert np.allclose(centre, [31.5, 31.5])
    # 10 mm to the right of the landmark is 40 output pixels away (at 0.25 mm/px).
    far = warp_points(np.array([[x + 10 / 0.12, y]]), m)[0]
    assert np.hypot(*(far - centre)) == pytest.approx(40.0)


def test_decode_is_subpixel():
    ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    truth = [(10.3, 7.6), (20.75, 25.2)]
    maps = torch.stack([torch.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 1.6**2)) for x, y in truth])
    xy, conf = decode_heatmaps(maps)
    assert np.allclose(xy.numpy(), truth, atol=0.02) and (conf > 0.9).all()


def test_shrink_and_scale_matrix_agree():
    img = torch.zeros(100, 80)
    img[41:44, 61:64] = 1.0  # a blob centred on (62, 42)
    small = shrink(img, 2.0)
    iy, ix = divmod(int(small.argmax()), small.shape[1])
    p = scale_matrix(img.shape[1] / small.shape[1], img.shape[0] / small.shape[0]) @ np.array([ix, iy, 1.0])
    assert abs(p[0] - 62) <= 1.5 and abs(p[1] - 42) <= 1.5


def test_spacing_from_anatomy_and_side_from_geometry():
    for region in ("RH", "LF"):
        img = render(region, None, seed=3, spacing_mm=0.15)
        est = estimate_spacing(img.landmarks, region[1] == "H" and "hand" or "foot")
        assert est == pytest.approx(0.15, rel=0.2)
        lm = {k: (*v, 1.0) for k, v in img.landmarks.items()}
        assert _side_from_geometry(lm, "hand" if region[1] == "H" else "foot") == region[0]
