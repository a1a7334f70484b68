"""Bone primitives rendered as projected X-ray path lengths.

Each primitive lives in millimetres in the region frame and knows how to add its attenuation to
an image given the mm -> pixel transform. Long bones are solids of revolution (cortical shell over a
trabecular core) with a flared base, a narrower shaft and a rounded head; carpal and tarsal bones
are ellipsoids. Erosions are :class:`Defect` holes cut into a bone near its joint margin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter

__all__ = ["Defect", "LongBone", "BlobBone", "Transform"]


@dataclass
class Transform:
    """mm (region frame) -> pixel (x, y): ``px = A @ mm + t``."""

    A: np.ndarray
    t: np.ndarray

    def apply(self, pts: np.ndarray) -> np.ndarray:
        return np.asarray(pts, dtype=np.float64) @ self.A.T + self.t

    @property
    def inverse(self) -> "Transform":
        inv = np.linalg.inv(self.A)
        return Transform(inv, -inv @ self.t)

    @property
    def mm_per_px(self) -> float:
        return float(np.sqrt(abs(np.linalg.det(np.linalg.inv(self.A)))))


@dataclass
class Defect:
    """A punched-out erosion in a bone's local frame: centre ``(u, v)`` mm, radius mm, depth 0-1."""

    u: float
    v: float
    radius: float
    depth: float = 0.9


@dataclass
class _Bone:
    density: float = 1.0  # periarticular osteopenia lowers it locally via ``osteopenia``
    cortex_mu: float = 0.070
    trabecular_mu: float = 0.030
    defects: list[Defect] = field(default_factory=list)
    osteopenia: float = 0.0  # 0-1: fraction of trabecular density lost near the joint ends
    texture_seed: int = 0

    def _local_grid(self, tf: Transform, shape: tuple[int, int], corners_mm: np.ndarray):
        """Pixel bbox of the primitive and the mm coordinates of its pixel centres."""
        px = tf.apply(corners_mm)
        x0, y0 = np.floor(px.min(0)).astype(int) - 2
        x1, y1 = np.ceil(px.max(0)).astype(int) + 3
        h, w = shape
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 <= x0 or y1 <= y0:
            return None
        inv = tf.inverse
        xs = np.arange(x0, x1, dtype=np.float32)
        ys = np.arange(y0, y1, dtype=np.float32)
        gx, gy = np.meshgrid(xs, ys)
        mx = inv.A[0, 0] * gx + inv.A[0, 1] * gy + inv.t[0]
        my = inv.A[1, 0] * gx + inv.A[1, 1] * gy + inv.t[1]
        return (slice(y0, y1), slice(x0, x1)), mx.astype(np.float32), my.astype(np.float32)

    def _texture(self, shape: tuple[int, int], mm_per_px: float) -> np.ndarray:
        """Trabecular texture: band-limited noise around 1, features ~0.6 mm."""
        rng = np.random.default_rng(self.texture_seed)
        noise = rng.standard_normal(shape).astype(np.float32)
        fine = gaussian_filter(noise, sigma=max(0.6, 0.35 / mm_per_px))
        fine /= fine.std() + 1e-6
        return 1.0 + 0.22 * fine

    def _cut_defects(self, atten: np.ndarray, u: np.ndarray, v: np.ndarray, mm_per_px: float) -> None:
        soft = max(0.15, 0.8 * mm_per_px)
        for d in self.defects:
            dist = np.sqrt((u - d.u) ** 2 + (v - d.v) ** 2)
            hole = np.clip((d.radius - dist) / soft, 0.0, 1.0)
            if hole.any():
                atten *= 1.0 - d.depth * hole


@dataclass
class LongBone(_Bone):
    """A tubular bone from ``base`` (proximal articular end) to ``head`` (distal end), in mm.

    ``r_base``, ``r_shaft`` and ``r_head`` are half-widths. ``head_dome`` is the convex height of
    the head's articular surface; ``base_cup`` the depth of the base's concave surface (its lips
    reach towards the proximal neighbour).
    """

    base: np.ndarray = field(default_factory=lambda: np.zeros(2))
    head: np.ndarray = field(default_factory=lambda: np.array([0.0, -40.0]))
    r_base: float = 5.0
    r_shaft: float = 3.0
    r_head: float = 4.5
    head_dome: float = 2.5
    base_cup: float = 1.2
    cortex_mid: float = 0.38  # cortical fraction of the radius at mid-shaft
    cortex_end: float = 0.12

    @property
    def length(self) -> float:
        return float(np.linalg.norm(self.head - self.base))

    @property
    def axis(self) -> np.ndarray:
        return (self.head - self.base) / max(self.length, 1e-6)

    def local(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(u, v): distance along the axis from the base, and signed lateral offset (mm)."""
        a = self.axis
        d = np.asarray(pts) - self.base
        return d @ a, d @ np.array([-a[1], a[0]])

    def to_mm(self, u: float, v: float) -> np.ndarray:
        a = self.axis
        return self.base + u * a + v * np.array([-a[1], a[0]])

    def radius_at(self, u: np.ndarray) -> np.ndarray:
        t = np.clip(u / max(self.length, 1e-6), 0.0, 1.0)
        base_w = np.clip(1.0 - t / 0.28, 0.0, 1.0) ** 2
        head_w = np.clip(1.0 - (1.0 - t) / 0.22, 0.0, 1.0) ** 2
        return self.r_shaft + (self.r_base - self.r_shaft) * base_w + (self.r_head - self.r_shaft) * head_w

    def head_surface(self, v: np.ndarray) -> np.ndarray:
        """u of the head's articular surface at lateral offset v (a dome)."""
        q = np.clip(np.abs(v) / max(self.r_head, 1e-6), 0.0, 1.0)
        return self.length - self.head_dome * (1.0 - np.sqrt(1.0 - q * q))

    def base_surface(self, v: np.ndarray) -> np.ndarray:
        """u of the base's articular surface (a shallow cup: the lips reach proximally)."""
        q = np.clip(np.abs(v) / max(self.r_base, 1e-6), 0.0, 1.0)
        return -self.base_cup * (1.0 - np.sqrt(1.0 - q * q)) + self.base_cup * 0.15

    def render(self, atten: np.ndarray, tf: Transform) -> None:
        a = self.axis
        n = np.array([-a[1], a[0]])
        rmax = max(self.r_base, self.r_head, self.r_shaft) + 0.5
        corners = np.array([self.base - a * (self.base_cup + 1) + n * rmax, self.base - a * (self.base_cup + 1) - n * rmax,
                            self.head + a + n * rmax, self.head + a - n * rmax])
        grid = self._local_grid(tf, atten.shape, corners)
        if grid is None:
            return
        sl, mx, my = grid
        dx, dy = mx - np.float32(self.base[0]), my - np.float32(self.base[1])
        u = dx * np.float32(a[0]) + dy * np.float32(a[1])
        v = dx * np.float32(n[0]) + dy * np.float32(n[1])
        r = self.radius_at(u).astype(np.float32)
        inside = (np.abs(v) < r) & (u <= self.head_surface(v)) & (u >= self.base_surface(v))
        if not inside.any():
            return
        r2 = r * r
        outer = np.where(inside, 2.0 * np.sqrt(np.maximum(r2 - v * v, 0.0)), 0.0)
        t = np.clip(u / max(self.length, 1e-6), 0.0, 1.0)
        mid = 1.0 - np.abs(2.0 * t - 1.0)  # 1 at mid-shaft
        cortex = self.cortex_end + (self.cortex_mid - self.cortex_end) * np.clip(mid * 1.6, 0, 1) ** 2
        ri = r * (1.0 - cortex)
        inner = np.where(inside, 2.0 * np.sqrt(np.maximum(ri * ri - v * v, 0.0)), 0.0)
        mm_px = tf.mm_per_px
        # Rounded ends: taper the path length over the last ~1 mm before each articular surface.
        to_head = self.head_surface(v) - u
        to_base = u - self.base_surface(v)
        taper = np.sqrt(np.clip(np.minimum(to_head, to_base) / 1.2, 0.0, 1.0))
        # Subchondral plate: a dense band just under each articular surface.
        plate = np.exp(-(np.minimum(to_head, to_base) / 0.45) ** 2) * np.clip(r - np.abs(v), 0, 2) * 1.4
        # Marrow fat fills the diaphysis: trabecular density is highest in the bone ends.
        trab_mu = self.trabecular_mu * self.density * (0.35 + 0.65 * (1.0 - np.clip(mid * 1.5, 0, 1)) ** 2)
        if self.osteopenia > 0:
            near_end = np.exp(-np.minimum(to_head, to_base) / 8.0)
            trab_mu = trab_mu * (1.0 - self.osteopenia * near_end)
        tex = self._texture(u.shape, mm_px)
        value = (self.cortex_mu * (outer - inner) + trab_mu * inner * tex) * taper + self.cortex_mu * plate
        value = np.where(inside, value, 0.0).astype(np.float32)
        self._cut_defects(value, u, v, mm_px)
        atten[sl] += value


@dataclass
class BlobBone(_Bone):
    """An ellipsoidal bone (carpal, tarsal, sesamoid): centre, half-axes ``(a, b)`` in mm in the
    plane, ``depth`` half-thickness, rotated by ``angle`` (radians)."""

    centre: np.ndarray = field(default_factory=lambda: np.zeros(2))
    a: float = 5.0
    b: float = 7.0
    depth: float = 6.0
    angle: float = 0.0
    cortex: float = 0.8  # mm
    partly_in_view: bool = False

    def local(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = np.cos(self.angle), np.sin(self.angle)
        d = np.asarray(pts) - self.centre
        return d @ np.array([c, s]), d @ np.array([-s, c])

    def to_mm(self, x: float, y: float) -> np.ndarray:
        c, s = np.cos(self.angle), np.sin(self.angle)
        return self.centre + x * np.array([c, s]) + y * np.array([-s, c])

    def render(self, atten: np.ndarray, tf: Transform) -> None:
        m = max(self.a, self.b) + 0.5
        corners = self.centre + np.array([[-m, -m], [m, -m], [m, m], [-m, m]])
        grid = self._local_grid(tf, atten.shape, corners)
        if grid is None:
            return
        sl, mx, my = grid
        c, s = np.float32(np.cos(self.angle)), np.float32(np.sin(self.angle))
        dx, dy = mx - np.float32(self.centre[0]), my - np.float32(self.centre[1])
        x = dx * c + dy * s
        y = -dx * s + dy * c
        q = (x / self.a) ** 2 + (y / self.b) ** 2
        inside = q < 1.0
        if not inside.any():
            return
        outer = 2.0 * self.depth * np.sqrt(np.clip(1.0 - q, 0.0, 1.0))
        ai, bi = max(self.a - self.cortex, 0.5), max(self.b - self.cortex, 0.5)
        qi = (x / ai) ** 2 + (y / bi) ** 2
        inner = 2.0 * (self.depth - self.cortex) * np.sqrt(np.clip(1.0 - qi, 0.0, 1.0))
        tex = self._texture(x.shape, tf.mm_per_px)
        trab_mu = self.trabecular_mu * self.density * (1.0 - 0.6 * self.osteopenia)
        value = self.cortex_mu * (outer - inner) + trab_mu * inner * tex
        value = np.where(inside, value, 0.0).astype(np.float32)
        self._cut_defects(value, x, y, tf.mm_per_px)
        atten[sl] += value
