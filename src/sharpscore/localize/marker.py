"""Burned-in side markers: the lead 'L' or 'R' a radiographer puts on the film, read from the pixels.

A hand or foot film shows the same anatomy whether it is a right hand or a left hand displayed
mirrored; only the side marker tells them apart. The letters are chiral: an 'R' turned by any angle
is still an 'R', never its mirror image, so a marker that reads as a mirrored letter says the film
is displayed mirrored, and its letter says which side it really is.

How it is read: lead is the brightest thing on a film, so candidates are the compact connected
components of the brightest pixels (above half-way from the film's 99th percentile to its maximum)
of letter size (:data:`LETTER_MM`), away from the located joints. Each candidate is turned through
every angle (and slanted either way: italic markers), stretched onto each glyph's box, blurred by
about a stroke's width and correlated with the letters 'L' and 'R', their mirror images and the
letters printed beside markers that look like an 'R' (:data:`RIVAL_LETTERS`), rendered in several
fonts. A candidate is read when its best glyph is an 'L' or 'R' that correlates well
(:data:`MIN_MATCH`) and better than its mirror image and the other side letter by
:data:`MIN_MARGIN`; letters that look alike mirrored ('O', a ring) have no margin and are not read.
A film whose readable markers disagree gives no reading. Measured in bench/side_markers.py.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..resample import ImagePyramid
from ..spatial import as_spacing

__all__ = ["SideMarker", "read_side_marker", "SIDE_LETTERS", "RIVAL_LETTERS", "LETTER_MM", "MIN_MATCH", "MIN_MARGIN",
           "READ_MM_PER_PX"]

LETTER_MM = (4.0, 25.0)  # the larger side of a marker letter's box
MIN_MATCH = 0.7  # correlation with the best glyph (blurred masks)
READ_MM_PER_PX = 0.15  # the film is read at about this pixel size (the scorer's level: made once per film)
MIN_MARGIN = 0.15  # ... above the best glyph of the mirror image and of the other side letter
_GLYPH_PX = 40  # glyphs are rendered this high
_GRID = 32  # ... and compared on a grid this size, stretched to their box
_SIG = 1.2  # grid cells of blur: about a stroke's width
_ANGLES = np.arange(0.0, 360.0, 5.0)
_SHEARS = (0.0, -0.25, 0.25)
_MAX_CANDIDATES = 12
_JOIN_MM = 1.0  # strokes this close to a seed belong to its letter
SIDE_LETTERS = ("L", "R")
# Letters burned in beside side markers ('PA', 'AP', 'TD', 'DEX', 'SIN', ...) that look like an 'R':
# a 'P' is an 'R' without its leg, a 'B' or 'K' not far from it; a candidate that looks more like one
# of these than like 'L' or 'R' is not read.
RIVAL_LETTERS = ("P", "B", "K")
_FONTS = ("DejaVu Sans:bold", "DejaVu Sans", "DejaVu Serif:bold", "DejaVu Sans Mono:bold", "pillow-default")


@dataclass(frozen=True)
class SideMarker:
    """A side marker read on a film: ``side`` ('L' or 'R'), whether it reads ``mirrored`` (the film is
    displayed mirrored), ``match`` (correlation with the glyph, blurred masks), ``margin`` (over the
    mirror image and the other side letter), ``centre_px`` (x, y) in the film's pixels, ``angle_deg``
    (how far the letter is turned counter-clockwise)."""

    side: str
    mirrored: bool
    match: float
    margin: float
    centre_px: tuple[float, float]
    angle_deg: float

    def to_dict(self) -> dict:
        return {"side": self.side, "mirrored": self.mirrored, "match": self.match, "margin": self.margin,
                "centre_px": [round(float(v), 1) for v in self.centre_px], "angle_deg": self.angle_deg}

    @property
    def film_side(self) -> str:
        """The side the film's anatomy shows as displayed (the other one when mirrored)."""
        return {"L": "R", "R": "L"}[self.side] if self.mirrored else self.side


def _font(name: str, size: int):
    from PIL import ImageFont

    if name == "pillow-default":
        return ImageFont.load_default(size=size)
    from matplotlib import font_manager

    family, _, weight = name.partition(":")
    path = font_manager.findfont(font_manager.FontProperties(family=family, weight=weight or "normal"),
                                 fallback_to_default=True)
    return ImageFont.truetype(path, size)


def _bounds(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(row0, row1, col0, col1) of the mask's set pixels (ends exclusive), None when it has none."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if len(rows) == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _crop_to_box(mask: np.ndarray) -> np.ndarray | None:
    b = _bounds(mask)
    return None if b is None else mask[b[0]:b[1], b[2]:b[3]]


@functools.lru_cache(maxsize=1)
def _glyphs() -> tuple[tuple[str, bool, np.ndarray], ...]:
    """(letter, mirrored, mask) for the side letters and their rivals, upright and mirrored, in every
    font that loads."""
    from PIL import Image, ImageDraw

    out = []
    for name in _FONTS:
        try:
            font = _font(name, 2 * _GLYPH_PX)
        except (OSError, ValueError, TypeError):  # a font not installed here
            continue
        for letter in SIDE_LETTERS + RIVAL_LETTERS:
            img = Image.new("L", (4 * _GLYPH_PX, 4 * _GLYPH_PX), 0)
            ImageDraw.Draw(img).text((_GLYPH_PX, _GLYPH_PX // 2), letter, fill=255, font=font)
            box = _crop_to_box(np.asarray(img) > 127)
            if box is None:
                continue
            f = _GLYPH_PX / box.shape[0]
            mask = ndi.zoom(box.astype(np.float32), f, order=1) > 0.5
            out.append((letter, False, mask))
            out.append((letter, True, mask[:, ::-1].copy()))
    return tuple(out)


def _points(mask: np.ndarray) -> np.ndarray:
    """(N, 2) (x, y) centres of a mask's pixels, the mask first resized (nearest) so that its longer
    side spans twice the grid's cells: no gaps when the points are binned, and few points."""
    f = 2 * _GRID / max(mask.shape)
    rows = np.minimum((np.arange(int(round(mask.shape[0] * f))) / f).astype(int), mask.shape[0] - 1)
    cols = np.minimum((np.arange(int(round(mask.shape[1] * f))) / f).astype(int), mask.shape[1] - 1)
    ys, xs = np.nonzero(mask[np.ix_(rows, cols)])
    return np.column_stack([xs, ys]).astype(np.float32)  # (x, y)


@functools.lru_cache(maxsize=1)
def _blur_matrix() -> np.ndarray:
    """Gaussian blur of :data:`_SIG` cells along one axis of the grid, as a matrix (B @ img @ B.T)."""
    x = np.arange(_GRID, dtype=np.float32)
    b = np.exp(-0.5 * ((x[:, None] - x[None, :]) / _SIG) ** 2)
    return (b / b.sum(1, keepdims=True)).astype(np.float32)


def _pose_images(points: np.ndarray, matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points moved by each of ``matrices`` (K, 2, 2), each pose's box stretched onto the grid,
    binned, blurred by about a stroke's width and standardised (thin and bold strokes still
    correlate): (K, grid*grid) images and the boxes' aspects (K,) (width / height)."""
    q = matrices @ points.T  # (K, 2, N)
    lo, hi = q.min(2, keepdims=True), q.max(2, keepdims=True)
    size = np.maximum(hi - lo, 1.0)
    cells = np.minimum(((q - lo) * (_GRID / size)).astype(np.intp), _GRID - 1)
    k = len(matrices)
    flat = (np.arange(k)[:, None] * (_GRID * _GRID) + cells[:, 1] * _GRID + cells[:, 0]).ravel()
    img = np.zeros(k * _GRID * _GRID, np.float32)
    img[flat] = 1.0
    img = img.reshape(k, _GRID, _GRID)
    blur = _blur_matrix()
    img = (blur @ img @ blur.T).reshape(k, -1)
    img -= img.mean(1, keepdims=True)
    img /= np.maximum(np.linalg.norm(img, axis=1, keepdims=True), 1e-9)
    return img, size[:, 0, 0] / size[:, 1, 0]


@functools.lru_cache(maxsize=1)
def _templates() -> tuple[list[tuple[str, bool]], np.ndarray, np.ndarray]:
    """Glyph classes, their images (G, grid*grid) and box aspects (G,)."""
    keys, images, aspects = [], [], []
    for letter, mirrored, glyph in _glyphs():
        img, aspect = _pose_images(_points(glyph), np.eye(2)[None])
        keys.append((letter, mirrored))
        images.append(img[0])
        aspects.append(aspect[0])
    return keys, np.array(images), np.array(aspects)


@functools.lru_cache(maxsize=1)
def _poses() -> tuple[np.ndarray, np.ndarray]:
    """Every turn (:data:`_ANGLES`) times every slant (:data:`_SHEARS`): (K, 2, 2) matrices on image
    (x, y) points, and each one's angle (turning the letter counter-clockwise on screen)."""
    mats, angles = [], []
    for angle in _ANGLES:
        t = np.deg2rad(angle)
        rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
        for shear in _SHEARS:
            mats.append(np.array([[1.0, shear], [0.0, 1.0]]) @ rot)
            angles.append(angle)
    return np.array(mats, np.float32), np.array(angles)


def _best_matches(mask: np.ndarray) -> dict[tuple[str, bool], tuple[float, float]]:
    """Best (correlation, angle) of the component ``mask`` against each (letter, mirrored) glyph class,
    over every turn (and a slant either way: italic markers) of the component. Turning and slanting
    keep a letter's handedness; only a mirror changes it."""
    keys, images, aspects = _templates()
    mats, angles = _poses()
    pts = _points(mask)
    if len(pts) == 0:
        return {}
    imgs, aspect = _pose_images(pts - pts.mean(0), mats)
    scores = imgs @ images.T  # (K poses, G glyphs)
    # a letter's box keeps its shape, whatever the scale
    scores[np.abs(np.log(aspect[:, None] / aspects[None, :])) >= np.log(1.4)] = -1.0
    best: dict[tuple[str, bool], tuple[float, float]] = {}
    for g, key in enumerate(keys):
        k = int(np.argmax(scores[:, g]))
        if scores[k, g] > -1.0 and scores[k, g] > best.get(key, (-1.0, 0.0))[0]:
            best[key] = (float(scores[k, g]), float(angles[k]))
    return best


def _candidates(img: np.ndarray, mm_per_px: float, avoid: np.ndarray) -> list[tuple[np.ndarray, tuple[float, float]]]:
    """Letter-sized objects among the brightest pixels: (mask, centre (x, y) in ``img`` pixels).

    Seeds are the components of the brightest pixels; each is segmented again in a box around it at
    half-way between the box's background (median) and its peak, which keeps a thin or faint stroke
    that the global threshold broke. Kept: letter-sized, a stroke's fill of the box, standing out
    from its surroundings as lead does (not a bone end within soft tissue), holding no joint."""
    sample = img[:: max(1, img.shape[0] // 512), :: max(1, img.shape[1] // 512)]
    top = float(img.max())
    q01, q99 = (float(v) for v in np.quantile(sample, [0.01, 0.99]))
    if not np.isfinite(top) or top - q99 <= 1e-3:
        return []
    seeds, _ = ndi.label(img >= top - 0.5 * (top - q99))
    lo, hi = LETTER_MM[0] / mm_per_px, LETTER_MM[1] / mm_per_px
    pad = int(np.ceil(2.0 / mm_per_px))
    objects = [(i, sl) for i, sl in enumerate(ndi.find_objects(seeds), start=1)
               if sl is not None and max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) <= hi]
    objects.sort(key=lambda o: -(o[1][0].stop - o[1][0].start) * (o[1][1].stop - o[1][1].start))
    done = np.zeros(img.shape, bool)
    found = []
    for i, sl in objects[:4 * _MAX_CANDIDATES]:
        if done[sl].any():
            continue  # part of a letter already segmented
        y0, y1 = max(0, sl[0].start - pad), min(img.shape[0], sl[0].stop + pad)
        x0, x1 = max(0, sl[1].start - pad), min(img.shape[1], sl[1].stop + pad)
        box = img[y0:y1, x0:x1]
        background, peak = float(np.median(box)), float(box.max())
        if (peak - background) < 0.5 * (top - q01):
            continue  # not standing out as lead does: a bone end within soft tissue
        # the strokes near the seed: a letter broken into pieces by the global threshold is whole again
        near = ndi.distance_transform_edt(seeds[y0:y1, x0:x1] != i) <= _JOIN_MM / mm_per_px
        mask = (box >= 0.5 * (background + peak)) & near
        b = _bounds(mask)
        if b is None:
            continue
        done[y0:y1, x0:x1] |= mask
        mask = mask[b[0]:b[1], b[2]:b[3]]
        h, w = mask.shape
        if not lo <= max(h, w) <= hi or min(h, w) < 0.2 * max(h, w):
            continue
        if not 0.15 <= mask.mean() <= 0.8:  # a stroke letter, not a solid blob or a thin line
            continue
        oy, ox = y0 + b[0], x0 + b[2]
        if len(avoid) and np.any((avoid[:, 0] >= ox) & (avoid[:, 0] < ox + w)
                                 & (avoid[:, 1] >= oy) & (avoid[:, 1] < oy + h)):
            continue  # holds a joint: anatomy, not a marker
        cy, cx = ndi.center_of_mass(mask)
        found.append((mask, (ox + cx, oy + cy)))
        if len(found) == _MAX_CANDIDATES:
            break
    return found


def read_side_marker(pixels, spacing_mm, *, landmarks: Mapping | None = None,
                     mm_per_px: float = READ_MM_PER_PX) -> SideMarker | None:
    """The film's side marker, or None when no 'L' or 'R' can be read (none there, unreadable, or
    markers that disagree).

    Args:
        pixels: the film (H, W), marker bright as bone is: a numpy array, a torch tensor or the film's
            :class:`~sharpscore.resample.ImagePyramid` (its level at ``mm_per_px`` is used).
        spacing_mm: its (row, column) pixel size; markers are sought by their size in mm.
        landmarks: ``{site: (x, y, ...)}`` in ``pixels``' frame; a candidate whose box holds a joint
            is anatomy, not a marker.
        mm_per_px: the pixel size the film is read at (thin strokes break much coarser).
    """
    pyr = pixels if isinstance(pixels, ImagePyramid) else ImagePyramid(pixels)
    sp = as_spacing(spacing_mm)
    small = pyr.shrunk(max(1.0, mm_per_px / sp.iso)).numpy()
    fy, fx = pyr.full.shape[0] / small.shape[0], pyr.full.shape[1] / small.shape[1]
    avoid = np.array([(p[0], p[1]) for p in (landmarks or {}).values()], float).reshape(-1, 2)
    avoid = (avoid + 0.5) / np.array([fx, fy]) - 0.5
    readings: list[SideMarker] = []
    for mask, (cx, cy) in _candidates(small, min(sp.row * fy, sp.col * fx), avoid):
        best = _best_matches(mask)
        if not best:
            continue
        (letter, mirrored), (score, angle) = max(best.items(), key=lambda kv: kv[1][0])
        if letter not in SIDE_LETTERS or score < MIN_MATCH:
            continue
        # how much better than its mirror image and the other side letter (a rival letter is worse)
        margin = score - max((v[0] for k, v in best.items() if k != (letter, mirrored) and k[0] in SIDE_LETTERS),
                             default=0.0)
        if margin >= MIN_MARGIN:
            readings.append(SideMarker(letter, bool(mirrored), round(float(score), 3), round(float(margin), 3),
                                       (float((cx + 0.5) * fx - 0.5), float((cy + 0.5) * fy - 0.5)), angle))
    if not readings or len({(r.side, r.mirrored) for r in readings}) > 1:
        return None
    return max(readings, key=lambda r: r.match)
