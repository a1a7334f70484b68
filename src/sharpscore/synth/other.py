"""Radiographs that are *not* hands or feet (chest, pelvis, leg, knee, forearm), for teaching the
region head what to refuse. Coarse anatomy only: they need to look like those films at ~1 mm/px."""

from __future__ import annotations

import numpy as np

from ..io.radiograph import Radiograph
from ..spatial import SpacingSource
from .primitives import BlobBone, LongBone, Transform
from .render import Acquisition, _detector, _marker

__all__ = ["render_other", "OTHER_KINDS"]

OTHER_KINDS = ("chest", "pelvis", "leg", "knee", "forearm", "blank")


def _soft_ellipse(shape, tf: Transform, centre, a, b, thickness) -> np.ndarray:
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    mm = tf.inverse.apply(np.stack([xs.ravel(), ys.ravel()], 1)).reshape(h, w, 2)
    q = ((mm[..., 0] - centre[0]) / a) ** 2 + ((mm[..., 1] - centre[1]) / b) ** 2
    return (thickness * np.sqrt(np.clip(1 - q, 0, 1))).astype(np.float32)


def render_other(kind: str | None = None, seed: int = 0, spacing_mm: float = 0.5) -> Radiograph:
    """A random non-hand, non-foot radiograph (bone bright, float32 in [0, 1])."""
    rng = np.random.default_rng(seed)
    kind = kind or str(rng.choice(OTHER_KINDS, p=[0.3, 0.15, 0.2, 0.15, 0.15, 0.05]))
    field_mm = {"chest": (380, 400), "pelvis": (300, 400), "leg": (420, 200), "knee": (300, 240),
                "forearm": (330, 180), "blank": (300, 300)}[kind]
    h, w = int(field_mm[0] / spacing_mm), int(field_mm[1] / spacing_mm)
    theta = np.deg2rad(rng.uniform(-8, 8))
    c, s = np.cos(theta), np.sin(theta)
    A = np.array([[c, -s], [s, c]]) / spacing_mm
    tf = Transform(A, np.array([w / 2, h / 2]) - A @ np.zeros(2))
    atten = np.zeros((h, w), np.float32)
    k = rng.uniform(0.9, 1.1)
    bones: list = []
    if kind == "chest":
        atten += 0.0035 * _soft_ellipse((h, w), tf, (0, 20), 170 * k, 210 * k, 220)
        for side in (-1, 1):  # lungs: air lowers attenuation
            atten -= 0.0025 * _soft_ellipse((h, w), tf, (side * 70 * k, -10), 55 * k, 120 * k, 180)
        for i in range(10):
            y = -120 + i * 24
            for side in (-1, 1):
                bones.append(LongBone(base=np.array([side * 8.0, y]), head=np.array([side * 140 * k, y + 30]),
                                      r_base=4, r_shaft=3.5, r_head=3.5, head_dome=1, base_cup=0.5))
        for i in range(12):
            bones.append(BlobBone(centre=np.array([0.0, -130 + i * 24]), a=16, b=10, depth=14))
        for side in (-1, 1):
            bones.append(LongBone(base=np.array([side * 15.0, -150]), head=np.array([side * 140 * k, -165]),
                                  r_base=6, r_shaft=5, r_head=6))
    elif kind == "pelvis":
        atten += 0.0030 * _soft_ellipse((h, w), tf, (0, 0), 190 * k, 160, 250)
        for side in (-1, 1):
            bones.append(BlobBone(centre=np.array([side * 80 * k, -60]), a=60, b=50, depth=10, angle=side * 0.4))
            bones.append(BlobBone(centre=np.array([side * 95 * k, 40]), a=24, b=24, depth=22))
            bones.append(LongBone(base=np.array([side * 100 * k, 60]), head=np.array([side * 120 * k, 260]),
                                  r_base=20, r_shaft=14, r_head=14, head_dome=0))
        bones.append(BlobBone(centre=np.array([0.0, -40]), a=35, b=50, depth=14))
    elif kind in ("leg", "forearm"):
        length = 400 if kind == "leg" else 300
        r = (18, 12) if kind == "leg" else (10, 8)
        atten += 0.006 * _soft_ellipse((h, w), tf, (0, 0), 70 if kind == "leg" else 45, length * 0.7, 90)
        bones.append(LongBone(base=np.array([-12.0, -length / 2]), head=np.array([-10.0, length / 2]), r_base=r[0] * 1.4,
                              r_shaft=r[0], r_head=r[0] * 1.3, head_dome=3))
        bones.append(LongBone(base=np.array([22.0, -length / 2]), head=np.array([18.0, length / 2]), r_base=r[1] * 0.9,
                              r_shaft=r[1] * 0.6, r_head=r[1], head_dome=3))
    elif kind == "knee":
        atten += 0.006 * _soft_ellipse((h, w), tf, (0, 0), 75, 200, 110)
        bones.append(LongBone(base=np.array([0.0, -200]), head=np.array([0.0, -4]), r_base=16, r_shaft=15, r_head=40,
                              head_dome=8))
        bones.append(LongBone(base=np.array([0.0, 4]), head=np.array([0.0, 200]), r_base=38, r_shaft=15, r_head=16,
                              base_cup=3))
        bones.append(BlobBone(centre=np.array([0.0, -20]), a=22, b=25, depth=10))
    for b in bones:
        b.texture_seed = int(rng.integers(2**31))
        b.render(atten, tf)
    acq = Acquisition()
    pixels = _detector(atten, tf, acq, rng)
    if rng.random() < 0.5:
        _marker(pixels, str(rng.choice(["L", "R"])), tf, _NoAnatomy(), rng)
    return Radiograph(pixels=np.clip(pixels, 0, 1), spacing_mm=(spacing_mm, spacing_mm), spacing_source=SpacingSource.PHANTOM,
                      body_part=None, source=f"<phantom other:{kind} seed={seed}>", format="array",
                      metadata={"phantom": True, "kind": kind})


class _NoAnatomy:
    landmarks = {"c": np.zeros(2)}
