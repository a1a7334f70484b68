"""A tiny localiser training config for engine tests."""

def tiny_config(out_dir, source, **extra):
    from sharpscore.training import TrainConfig

    data = {"val_fraction": 0.34, "sources": [source.model_dump(), {"type": "negatives", "n": 2, "role": "train"}]}
    base = dict(task="localizer", out_dir=str(out_dir), epochs=2, batch_size=2, max_steps_per_epoch=2, data=data,
                model={"coarse_size": 64, "fine_size": 32,
                       "coarse_features": [4, 4, 8, 8, 16, 4], "fine_features": [4, 4, 8, 8, 16, 4]},
                augment={"fine_per_image": 2})
    base.update(extra)
    return TrainConfig(**base)
