"""Partial views of training films: what is hidden is taught silent, the border is not supervised."""

import numpy as np

from sharpscore.training.partial_view import EDGE_MM, PartialView, random_view


def test_a_view_crops_and_collimates_and_measures_depth():
    view = PartialView((10, 20, 110, 220), normal=(1.0, 0.0), offset=60.0, fill=0.0)
    out = view.apply(np.ones((300, 200), np.uint8))
    assert out.shape == (200, 100)
    assert out[:, :60].min() == 1 and out[:, 62:].max() == 0
    depth = view.depth_px(np.array([[30.0, 100.0], [80.0, 100.0], [30.0, 1.0]]))
    assert depth[0] > 20 and depth[1] < 0 and 0 < depth[2] < 2


def test_random_views_keep_enough_joints_and_are_reproducible():
    rng_pts = np.random.default_rng(0)
    landmarks = {f"j{i}": tuple(rng_pts.uniform(100, 700, 2)) for i in range(20)}
    seen_partial = 0
    for seed in range(40):
        a = random_view((800, 800), landmarks, 0.2, np.random.default_rng(seed))
        b = random_view((800, 800), landmarks, 0.2, np.random.default_rng(seed))
        assert a == b
        if a is None:
            continue
        x0, y0 = a.box[:2]
        depth = a.depth_px(np.array(list(landmarks.values())) - [x0, y0])
        assert (depth > EDGE_MM / 0.2).sum() >= 4
        seen_partial += int((depth < 0).any())
    assert seen_partial >= 20  # most draws hide some joints


def test_the_dataset_teaches_hidden_joints_silence(tiny_cohort, tmp_path):
    from sharpscore import schema
    from sharpscore.localize.geometry import channel_index
    from sharpscore.training.data import load_samples
    from sharpscore.training.localizer_task import LocalizerDataset, LocalizerTask

    from .tiny import tiny_config

    cfg = tiny_config(tmp_path / "p", tiny_cohort, augment={"fine_per_image": 2, "partial": 1.0})
    task = LocalizerTask(cfg)
    samples = [s for s in load_samples(cfg.data.sources) if s.region in ("LH", "RH")][:2]
    ds = LocalizerDataset(samples, task.spec, task.augment, seed=0)
    silent = 0
    for epoch in range(4):
        ds.set_epoch(epoch)
        for i in range(len(ds)):
            item = ds[i]
            idx = [channel_index("hand", n) for n in schema.landmarks("hand")]
            peak = item["coarse_target"][idx].flatten(1).amax(1)
            mask = item["coarse_mask"][idx]
            silent += int(((peak == 0) & (mask == 1)).sum())  # hidden by the view: supervised to silence
            assert (peak > 0.5).sum() >= 1
    assert silent > 0
