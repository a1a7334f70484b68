"""Rendering a phantom radiograph: skeleton -> projected attenuation -> detector image."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.path import Path as MplPath
from scipy.ndimage import distance_transform_edt, gaussian_filter, zoom

from .. import schema
from ..io.radiograph import Radiograph
from ..spatial import SpacingSource
from .anatomy import Anatomy, build_anatomy, full_grades
from .primitives import LongBone, Transform
from ..config import ConfigModel

__all__ = ["Acquisition", "render", "PhantomImage"]


class Acquisition(ConfigModel):
    """How a phantom is 'exposed'. Ranges ``(low, high)`` are sampled uniformly per image."""

    spacing_mm: tuple[float, float] = (0.08, 0.20)
    rotation_deg: float = 10.0
    margin_mm: tuple[float, float] = (6.0, 30.0)
    forearm_mm: tuple[float, float] = (30.0, 80.0)  # how much forearm / hindfoot stays in view
    gain: tuple[float, float] = (1.8, 2.8)
    background: tuple[float, float] = (0.0, 0.14)
    gamma: tuple[float, float] = (0.8, 1.25)
    noise: tuple[float, float] = (0.004, 0.02)
    blur_px: tuple[float, float] = (0.4, 1.1)
    scatter: tuple[float, float] = (0.0, 0.25)
    heel: tuple[float, float] = (0.0, 0.06)
    soft_tissue_mu: tuple[float, float] = (0.010, 0.016)
    p_collimation: float = 0.5
    p_marker: float = 0.8
    p_ring: float = 0.12
    p_osteopenia: float = 0.5
    p_swelling: float = 0.5

    def sample(self, name: str, rng: np.random.Generator) -> float:
        lo, hi = getattr(self, name)
        return float(lo if hi == lo else rng.uniform(lo, hi))


@dataclass
class PhantomImage:
    """A rendered phantom: the radiograph, its landmarks (pixel x, y) and its true grades."""

    radiograph: Radiograph
    landmarks: dict[str, tuple[float, float]]
    grades: dict[str, dict[str, int | None]]
    region: str
    axes: dict[str, tuple[float, float]] | None = None  # unit vector proximal -> distal, pixel frame
    joint_space_mm: dict[str, float] | None = None  # rendered joint-space width at each digit joint's centre

    def __iter__(self):  # allows ``rg, landmarks, grades = render(...)``
        return iter((self.radiograph, self.landmarks, self.grades))


def render(region: str, grades: dict | None = None, seed: int = 0, *,
           acquisition: Acquisition | None = None, person_seed: int | None = None,
           **overrides: Any) -> PhantomImage:
    """Render one phantom hand or foot radiograph with known joint positions and SvdH grades.

    Args:
        region: ``'LH'``, ``'RH'``, ``'LF'`` or ``'RF'``.
        grades: ``{site: (erosion, jsn)}`` or ``{site: {'erosion': g, 'jsn': g}}``; missing sites
            are healthy (0). Foot erosion is 0-10 (both sides of the joint summed).
        seed: fixes everything random (anatomy, acquisition); same seed -> identical pixels.
        acquisition: an :class:`Acquisition`; keyword overrides such as ``spacing_mm=0.1`` or
            ``noise=(0, 0)`` replace single fields (a scalar means a fixed value).
        person_seed: fix the person (anatomy) separately from ``seed`` -- the same hand at
            different grades, or the left and right hands of one patient.

    Returns:
        :class:`PhantomImage` (unpacks as ``radiograph, landmarks, grades``); landmarks are in
        pixel coordinates of the returned image for every localisation landmark of the region.
    """
    kind = schema.region_kind(region)
    acq = acquisition or Acquisition()
    if overrides:
        values = {k: ((v, v) if isinstance(v, (int, float)) and isinstance(getattr(acq, k), tuple) else v)
                  for k, v in overrides.items()}
        acq = Acquisition(**{**acq.model_dump(), **values})
    full = full_grades(kind, grades)
    rng = np.random.default_rng(seed)
    person_rng = np.random.default_rng(person_seed if person_seed is not None else rng.integers(2**31))
    if person_seed is not None:
        rng.integers(2**31)  # keep the acquisition stream identical either way
    damage = sum(v or 0 for g in full.values() for v in g.values())
    # Draw every random number whatever the grades, so that grades change only the disease.
    draw_osteopenia, level_osteopenia, draw_swelling = rng.random(), rng.uniform(0.2, 0.5), rng.random()
    osteopenia = float(level_osteopenia) if damage > 0 and draw_osteopenia < acq.p_osteopenia else 0.0
    anatomy = build_anatomy(kind, {k: {m: v or 0 for m, v in g.items()} for k, g in full.items()},
                            person_rng, osteopenia=osteopenia)
    swelling = bool(damage > 0 and draw_swelling < acq.p_swelling)

    spacing = acq.sample("spacing_mm", rng)
    tf, shape = _layout(anatomy, region, spacing, acq, rng)
    atten = np.zeros(shape, np.float32)
    for bone in anatomy.bones:
        bone.render(atten, tf)
    soft = _soft_tissue(anatomy, tf, shape, full if swelling else None)
    atten += np.float32(acq.sample("soft_tissue_mu", rng)) * soft
    if kind == "hand" and rng.random() < acq.p_ring:
        _ring(atten, anatomy, tf, rng)
    pixels = _detector(atten, tf, acq, rng)
    if rng.random() < acq.p_collimation:
        _collimate(pixels, anatomy, tf, rng)
    if rng.random() < acq.p_marker:
        _marker(pixels, schema.region_side(region), tf, anatomy, rng)
    np.clip(pixels, 0.0, 1.0, out=pixels)

    landmarks = {name: tuple(float(v) for v in tf.apply(anatomy.landmarks[name]))
                 for name in schema.landmarks(kind)}
    rg = Radiograph(pixels=pixels, spacing_mm=(spacing, spacing), spacing_source=SpacingSource.PHANTOM,
                    body_part=kind, laterality=schema.region_side(region), view="PA" if kind == "hand" else "DP",
                    source=f"<phantom {region} seed={seed}>", format="array",
                    metadata={"phantom": True, "seed": seed, "osteopenia": osteopenia, "swelling": swelling})
    axes = {}
    for name, vec in anatomy.joint_axes.items():
        d = tf.A @ vec
        axes[name] = tuple(float(v) for v in d / np.linalg.norm(d))
    return PhantomImage(radiograph=rg, landmarks=landmarks, grades=full, region=region, axes=axes,
                        joint_space_mm=anatomy.joint_space_mm())


def _layout(anatomy: Anatomy, region: str, spacing: float, acq: Acquisition,
            rng: np.random.Generator) -> tuple[Transform, tuple[int, int]]:
    mirror = np.diag([-1.0, 1.0]) if schema.region_side(region) == "L" else np.eye(2)
    theta = np.deg2rad(rng.uniform(-acq.rotation_deg, acq.rotation_deg))
    c, s = np.cos(theta), np.sin(theta)
    A = mirror @ np.array([[c, -s], [s, c]]) / spacing  # a left region is the mirror image of a right one
    pts = [p for p in anatomy.landmarks.values()]
    down = -anatomy.named["up"]
    proximal_keep = acq.sample("forearm_mm", rng)
    for b in anatomy.bones:
        if isinstance(b, LongBone):
            if b.length > 150:  # radius/ulna: keep only the distal part in view
                pts += [b.base, b.base + down * proximal_keep]
            else:
                pts += [b.base, b.head]
        elif not getattr(b, "partly_in_view", False):
            pts.append(b.centre)
    px = np.array(pts) @ A.T
    m_left, m_top, m_right, m_bottom = (acq.sample("margin_mm", rng) for _ in range(4))
    if mirror[0, 0] < 0:
        m_left, m_right = m_right, m_left
    lo = px.min(0) - np.array([m_left, m_top]) / spacing
    hi = px.max(0) + np.array([m_right, m_bottom]) / spacing
    # Keep the whole digits in view: the soft tissue of the tips needs ~8 mm.
    lo -= 6.0 / spacing
    hi += 6.0 / spacing
    w, h = (np.ceil(hi - lo)).astype(int)
    return Transform(A, -lo), (int(h), int(w))


def _soft_tissue(anatomy: Anatomy, tf: Transform, shape: tuple[int, int], grades: dict | None) -> np.ndarray:
    """Projected soft-tissue thickness (mm), computed on a ~1 mm grid and upsampled."""
    mm_px = tf.mm_per_px
    f = max(1, int(round(1.0 / mm_px)))
    hc, wc = -(-shape[0] // f), -(-shape[1] // f)
    ys, xs = np.mgrid[0:hc, 0:wc].astype(np.float32)
    grid_px = np.stack([xs.ravel() * f + f / 2, ys.ravel() * f + f / 2], axis=1)
    mm = tf.inverse.apply(grid_px)
    thick = np.zeros(hc * wc, np.float32)
    for p0, p1, r, flat in anatomy.capsules:
        seg = p1 - p0
        t = np.clip(((mm - p0) @ seg) / max(seg @ seg, 1e-9), 0, 1)
        d2 = np.sum((mm - (p0 + t[:, None] * seg)) ** 2, axis=1)
        thick = np.maximum(thick, 2.0 * flat * np.sqrt(np.clip(r * r - d2, 0, None)))
    thick = thick.reshape(hc, wc)
    cell_mm = f * mm_px
    for poly, inflate, plateau in anatomy.polygons:
        inside = MplPath(poly).contains_points(mm).reshape(hc, wc)
        outside_dist = distance_transform_edt(~inside) * cell_mm
        region_mask = outside_dist < inflate
        depth = distance_transform_edt(region_mask) * cell_mm
        # A flat plateau with a rounded edge (the palm/forefoot is a slab, not a dome).
        edge = np.sqrt(np.clip(depth / (2.0 * inflate), 0.0, 1.0))
        thick = np.maximum(thick, gaussian_filter(plateau * edge, 4.0 / cell_mm))
    if grades:  # soft-tissue swelling around inflamed joints
        for site, g in grades.items():
            if site in anatomy.landmarks and (g.get("erosion") or 0) + (g.get("jsn") or 0) > 0:
                c = tf.apply(anatomy.landmarks[site]) / f
                d2 = (xs - c[0]) ** 2 + (ys - c[1]) ** 2
                thick *= 1.0 + 0.18 * np.exp(-d2 * cell_mm**2 / (2 * 6.0**2))
    thick = gaussian_filter(thick, 1.0)
    up = zoom(thick, f, order=1)[: shape[0], : shape[1]]
    if up.shape != shape:
        up = np.pad(up, ((0, shape[0] - up.shape[0]), (0, shape[1] - up.shape[1])), mode="edge")
    return up.astype(np.float32)


def _ring(atten: np.ndarray, anatomy: Anatomy, tf: Transform, rng: np.random.Generator) -> None:
    """A metal ring on the proximal phalanx of a finger: a very dense band across it."""
    d = int(rng.choice([4, 3, 2, 5], p=[0.5, 0.25, 0.15, 0.1]))
    bone = anatomy.named.get(f"p1_{d}")
    if not isinstance(bone, LongBone):
        return
    u0 = bone.length * rng.uniform(0.3, 0.55)
    half_w = rng.uniform(0.8, 2.5)
    radius = bone.r_base * 1.75
    centre = bone.to_mm(u0, 0.0)
    corners = np.array([bone.to_mm(u0 + sx * (half_w + 1), sy * (radius + 1)) for sx in (-1, 1) for sy in (-1, 1)])
    px = tf.apply(corners)
    x0, y0 = np.maximum(np.floor(px.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(px.max(0)).astype(int) + 1, [atten.shape[1], atten.shape[0]])
    if x1 <= x0 or y1 <= y0:
        return
    gx, gy = np.meshgrid(np.arange(x0, x1), np.arange(y0, y1))
    mm = tf.inverse.apply(np.stack([gx.ravel(), gy.ravel()], 1))
    u, v = bone.local(mm)
    u = u - u0
    band = (np.abs(u) < half_w) & (np.abs(v) < radius)
    edge = 1.0 + 2.5 * np.clip(np.abs(v) / radius, 0, 1) ** 6
    value = np.where(band, 0.9 * edge, 0.0).reshape(gy.shape).astype(np.float32)
    atten[y0:y1, x0:x1] += value
    del centre


def _detector(atten: np.ndarray, tf: Transform, acq: Acquisition, rng: np.random.Generator) -> np.ndarray:
    """Log-domain detector response, scatter, heel effect, blur and quantum noise."""
    gain = np.float32(acq.sample("gain", rng))
    bg = np.float32(acq.sample("background", rng))
    img = np.float32(1.0) - np.exp(-gain * atten)
    img = bg + (np.float32(1.0) - bg) * img
    scatter = acq.sample("scatter", rng)
    if scatter > 0:
        small = img[::8, ::8]
        blurred = zoom(gaussian_filter(small, 15.0 / (8 * tf.mm_per_px)), 8, order=1)[: img.shape[0], : img.shape[1]]
        if blurred.shape == img.shape:
            img = (1 - scatter) * img + scatter * blurred
    heel = acq.sample("heel", rng)
    if heel > 0:
        angle = rng.uniform(0, 2 * np.pi)
        h, w = img.shape
        yy = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None]
        xx = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :]
        img = img + np.float32(heel) * (np.cos(angle) * xx + np.sin(angle) * yy)
    blur = acq.sample("blur_px", rng)
    if blur > 0:
        img = gaussian_filter(img, blur)
    noise = acq.sample("noise", rng)
    if noise > 0:
        n = rng.standard_normal(img.shape, dtype=np.float32)
        img = img + np.float32(noise) * (0.4 + 0.6 * np.clip(img, 0, 1)) * n
    gamma = acq.sample("gamma", rng)
    img = np.clip(img, 0.0, 1.0) ** np.float32(gamma)
    return img.astype(np.float32)


def _collimate(img: np.ndarray, anatomy: Anatomy, tf: Transform, rng: np.random.Generator) -> None:
    """Collimator shutters: the image outside a rectangle is unexposed (bright) or masked (black)."""
    pts = tf.apply(np.array(list(anatomy.landmarks.values())))
    h, w = img.shape
    lo = pts.min(0) - 8.0 / tf.mm_per_px
    hi = pts.max(0) + 8.0 / tf.mm_per_px
    x0 = int(rng.uniform(0, max(lo[0], 1)))
    y0 = int(rng.uniform(0, max(lo[1], 1) * 0.5))
    x1 = int(rng.uniform(min(hi[0], w - 1), w))
    y1 = h if rng.random() < 0.7 else int(rng.uniform(min(hi[1] + 40, h - 1), h))
    value = np.float32(rng.uniform(0.85, 1.0) if rng.random() < 0.6 else 0.0)
    mask = np.ones((h, w), np.float32)
    mask[y0:y1, x0:x1] = 0.0
    mask = gaussian_filter(mask, 0.5 / tf.mm_per_px)
    img *= 1.0 - mask
    img += value * mask


def _marker(img: np.ndarray, side: str, tf: Transform, anatomy: Anatomy, rng: np.random.Generator) -> None:
    """A lead side marker ('L' or 'R') in a top corner, away from the anatomy."""
    from PIL import Image, ImageDraw, ImageFont

    size_px = int(rng.uniform(7.0, 11.0) / tf.mm_per_px)
    if size_px < 8:
        return
    try:
        font = ImageFont.load_default(size=size_px)
    except TypeError:  # pragma: no cover - Pillow without FreeType
        font = ImageFont.load_default()
    pad = size_px // 5
    box = Image.new("L", (size_px + 2 * pad, size_px + 2 * pad), 0)
    draw = ImageDraw.Draw(box)
    draw.text((pad + size_px // 8, pad - size_px // 8), side, fill=255, font=font)
    if rng.random() < 0.4:
        draw.ellipse([1, 1, box.size[0] - 2, box.size[1] - 2], outline=255, width=max(1, size_px // 14))
    glyph = np.asarray(box, dtype=np.float32) / 255.0
    h, w = img.shape
    gh, gw = glyph.shape
    if gh >= h or gw >= w:
        return
    pts = tf.apply(np.array(list(anatomy.landmarks.values())))
    corners = [(int(pad * 3), int(pad * 3)), (w - gw - pad * 3, int(pad * 3))]
    # The corner farther from every landmark.
    best = max(corners, key=lambda c: np.min(np.hypot(pts[:, 0] - c[0] - gw / 2, pts[:, 1] - c[1] - gh / 2)))
    x, y = best
    if x < 0 or y < 0:
        return
    region = img[y:y + gh, x:x + gw]
    np.maximum(region, np.float32(rng.uniform(0.9, 1.0)) * glyph, out=region)
