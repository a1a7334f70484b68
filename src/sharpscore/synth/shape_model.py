"""Statistical shape models (mean + principal modes) of hand and foot joint positions.

Fitted to the joint positions of real adult RA radiographs (the RA2-DREAM landmark files of
github.com/ChenfuShi/RA2_alpine_lads @9c12ac2: 827 hands with 13 points, 736 feet with 6 points).
Only the derived numbers ship, in ``sharpscore/models/shape_models.json`` (the model class and its
loader live in :mod:`sharpscore.shape_model`); regenerate them with::

    python -m sharpscore.synth.shape_model ../shared/data/ra2-landmarks

Shapes are generalised-Procrustes aligned after mirroring left regions to right, expressed in a
right-region frame (thumb / hallux on the image's left, digits pointing up, y down) and scaled to
millimetres from typical adult bone lengths (see ``_MM_REFERENCE``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np

__all__ = ["ShapeModel", "ShapeFit", "load_shape_model", "fit_shape_model", "HAND_POINTS", "FOOT_POINTS"]

from ..io.labelme import RA2_TEAM_LABELS
from ..shape_model import FOOT_POINTS, HAND_POINTS, SHAPE_MODELS_JSON, ShapeFit, ShapeModel, load_shape_model

log = logging.getLogger(__name__)

_FILE_LABELS = {"hand": tuple(RA2_TEAM_LABELS["hand"]) + ("w1", "w2", "w3"), "foot": tuple(RA2_TEAM_LABELS["foot"])}
# Absolute scale: mean adult length of the middle finger's proximal phalanx (MCP3 -> PIP3), and
# of the hallux proximal phalanx (MTP1 -> IP), in mm (anthropometric literature: ~44 and ~31 mm).
_MM_REFERENCE = {"hand": (("mcp3", "pip3"), 44.0), "foot": (("mtp1", "ip"), 31.0)}

_JSON = SHAPE_MODELS_JSON


def _read_points(folder: Path, kind: str, files: list[str] | None = None) -> list[np.ndarray]:
    labels = _FILE_LABELS[kind]
    shapes = []
    paths = sorted(folder.glob("*.json")) if files is None else [folder / f for f in files]
    for f in paths:
        data = json.loads(f.read_text())
        pts = {s["label"]: s["points"][0] for s in data.get("shapes", []) if s.get("points")}
        if not all(lbl in pts for lbl in labels):
            log.warning("%s: missing landmarks, skipped", f.name)
            continue
        shapes.append(np.array([pts[lbl] for lbl in labels], dtype=np.float64))
    return shapes


def _to_right(shape: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Mirror a shape whose medial digit lies on the image's right (a left region)."""
    first = names.index("mcp1" if "mcp1" in names else "mtp1")
    last = names.index("mcp5" if "mcp5" in names else "mtp5")
    if shape[first, 0] > shape[last, 0]:
        shape = shape.copy()
        shape[:, 0] *= -1
    return shape


def _procrustes(shapes: np.ndarray, iters: int = 10) -> np.ndarray:
    """Generalised Procrustes alignment (translation, rotation, scale; no reflection)."""
    x = shapes - shapes.mean(axis=1, keepdims=True)
    x /= np.linalg.norm(x, axis=(1, 2), keepdims=True)
    ref = x[0]
    for _ in range(iters):
        for i in range(len(x)):
            u, _, vt = np.linalg.svd(x[i].T @ ref)
            r = u @ vt
            if np.linalg.det(r) < 0:  # keep a proper rotation
                u[:, -1] *= -1
                r = u @ vt
            x[i] = x[i] @ r
        new_ref = x.mean(axis=0)
        new_ref /= np.linalg.norm(new_ref)
        if np.allclose(new_ref, ref, atol=1e-9):
            break
        ref = new_ref
    return x


def fit_shape_model(folder: str | Path, kind: str, variance: float = 0.95, *, files: list[str] | None = None,
                    limits: bool = False) -> ShapeModel:
    """Fit a point distribution model to a folder of labelme files (``hands/`` or ``feet/``; only
    ``files`` when given). With ``limits`` each point's leave-one-out plausibility limit is measured
    on the same shapes."""
    names = HAND_POINTS if kind == "hand" else FOOT_POINTS
    raw = [_to_right(s, names) for s in _read_points(Path(folder), kind, files)]
    if len(raw) < 10:
        raise ValueError(f"{folder}: too few {kind} landmark files ({len(raw)})")
    aligned = _procrustes(np.stack(raw))
    mean = aligned.mean(axis=0)
    # Orient: digits up (y decreasing distally), medial digit on the left; origin at the centroid.
    if kind == "hand":
        axis = mean[names.index("mcp3")] - mean[names.index("w2")]
    else:
        # Forefoot axis: perpendicular to the line through the first and fifth MTP joints.
        across = mean[names.index("mtp5")] - mean[names.index("mtp1")]
        axis = np.array([across[1], -across[0]])
    angle = np.arctan2(axis[0], -axis[1])  # rotate the axis onto (0, -1)
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, s], [-s, c]])
    aligned = aligned @ rot.T
    mean = aligned.mean(axis=0)
    (a, b), mm = _MM_REFERENCE[kind]
    scale = mm / np.linalg.norm(mean[names.index(a)] - mean[names.index(b)])
    aligned *= scale
    mean *= scale
    flat = (aligned - mean).reshape(len(aligned), -1)
    _, sv, vt = np.linalg.svd(flat, full_matrices=False)
    var = sv**2 / (len(flat) - 1)
    k = int(np.searchsorted(np.cumsum(var) / var.sum(), variance) + 1)
    residual_sd = float(np.sqrt(var[k:].sum() / flat.shape[1]))
    model = ShapeModel(kind=kind, names=names, mean=mean, modes=vt[:k].reshape(k, -1, 2),
                       std=np.sqrt(var[:k]), n_shapes=len(aligned), residual_sd=residual_sd)
    if not limits:
        return model
    loo = np.array([[model.leave_one_out({n: p for n, p in zip(names, shape)})[n] for n in names]
                    for shape in aligned])
    return dataclasses.replace(model, limit=np.percentile(loo, 99.5, axis=0))


def _main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="Fit the shipped hand/foot shape models.")
    p.add_argument("ra2_landmarks", help="folder with hands/ and feet/ labelme files")
    p.add_argument("--out", default=str(_JSON))
    args = p.parse_args(argv)
    folder = Path(args.ra2_landmarks)
    models = {kind: fit_shape_model(folder / sub, kind, limits=True)
              for kind, sub in (("hand", "hands"), ("foot", "feet"))}
    payload = {
        "provenance": ("Derived by sharpscore.synth.shape_model from the RA2-DREAM joint landmark files of "
                       "github.com/ChenfuShi/RA2_alpine_lads @9c12ac2 (ra_joint_predictions/data/landmarks): "
                       "left regions mirrored, generalised Procrustes, PCA to 95% variance, mm scale from "
                       "adult proximal phalanx lengths (MCP3-PIP3 44 mm, MTP1-IP 31 mm); loo_limit_mm: per "
                       "point, the 99.5th percentile of its distance from the model fitted to the other points."),
        **{k: m.to_json() for k, m in models.items()},
    }
    Path(args.out).write_text(json.dumps(payload, indent=1) + "\n")
    for k, m in models.items():
        print(f"{k}: {m.n_shapes} shapes, {len(m.std)} modes, std (mm) {np.round(m.std, 2).tolist()}")


if __name__ == "__main__":  # pragma: no cover
    _main()
