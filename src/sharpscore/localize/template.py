"""Wrist landmarks from the finger joints: a mean hand template placed by a similarity fit.

The coarse heatmaps find finger joints reliably but not the small, crowded wrist sites. The wrist
is, however, predicted by the finger joints: the detected finger joints are aligned (similarity
transform, reflection allowed, so left hands work) to their mean over phantom hands from
:mod:`sharpscore.synth`, a ridge regression fitted on those hands predicts the wrist landmarks
from them, and the predictions, mapped back, seed the fine stage, which then finds each site.
The mean template of every landmark serves a second pass (refit to everything found, outliers
dropped).

Regenerate the shipped template with ``python -m sharpscore.synth.hand_template`` (the builders
live with the phantoms they are fitted to, so the localiser does not import ``synth``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..shape_model import similarity_fit
from ..spatial import to_mm, to_px

__all__ = ["ANCHORS", "WRIST", "TEMPLATE_JSON", "load_template", "similarity_fit", "fit_template",
           "wrist_from_fingers"]

ANCHORS: tuple[str, ...] = ("ip", "mcp1", "mcp2", "mcp3", "mcp4", "mcp5", "pip2", "pip3", "pip4", "pip5")
WRIST: tuple[str, ...] = ("mc1", "cmc3", "cmc4", "cmc5", "mul", "mna", "nav", "capnlun", "lunate", "radcar",
                          "radius", "ulna")
TEMPLATE_JSON = Path(__file__).with_name("hand_template.json")
_PATH = TEMPLATE_JSON


@lru_cache(maxsize=1)
def _regression() -> dict[str, np.ndarray]:
    doc = json.loads(_PATH.read_text())["regression"]
    return {k: np.asarray(doc[k], float) for k in ("reference", "coef", "intercept")}


@lru_cache(maxsize=1)
def load_template() -> dict[str, np.ndarray]:
    doc = json.loads(_PATH.read_text())
    return {k: np.asarray(v, float) for k, v in doc["landmarks_mm"].items()}


def fit_template(points: dict[str, tuple[float, float]], spacing_mm: tuple[float, float], *,
                 trim_mm: float | None = None) -> tuple[dict[str, tuple[float, float]], dict[str, float]]:
    """Fit the template to ``points`` (pixels) by a similarity transform; returns the template's
    position of every landmark (pixels) and each fitted point's residual (mm). With ``trim_mm``,
    points with a larger residual are dropped and the fit repeated once (robust to a few outliers)."""
    tpl = load_template()
    names = [k for k in points if k in tpl]

    def fit(use):
        dst = to_mm([points[k][:2] for k in use], spacing_mm)
        s, r, t = similarity_fit(np.array([tpl[k] for k in use]), dst)
        pred = {k: (s * v @ r.T + t) for k, v in tpl.items()}
        res = {k: float(np.linalg.norm(pred[k] - to_mm(points[k][:2], spacing_mm))) for k in use}
        return pred, res

    pred, res = fit(names)
    if trim_mm is not None:
        keep = [k for k in names if res[k] <= trim_mm]
        if len(keep) >= 6 and len(keep) < len(names):
            pred, _ = fit(keep)
            res = {k: float(np.linalg.norm(pred[k] - to_mm(points[k][:2], spacing_mm))) for k in names}
    return {k: tuple(float(c) for c in to_px(v, spacing_mm)) for k, v in pred.items()}, res


def wrist_from_fingers(landmarks: dict, spacing_mm: tuple[float, float], min_confidence: float = 0.5) \
        -> dict[str, tuple[float, float]] | None:
    """Wrist positions (pixels) predicted from the finger joints by the shipped regression; an
    unsure finger joint is first put where the mean template, fitted to the confident ones, has it
    (the regression, unlike the rigid template, follows the spread of the fingers); None with fewer
    than six confident finger joints."""
    use = {k: landmarks[k] for k in ANCHORS if k in landmarks and landmarks[k][2] >= min_confidence}
    if len(use) < 6:
        return None
    filled = {k: v[:2] for k, v in use.items()}
    if len(use) < len(ANCHORS):
        pred, _ = fit_template(use, spacing_mm)
        filled.update({k: pred[k] for k in ANCHORS if k not in use})
    reg = _regression()
    pts = to_mm([filled[k] for k in ANCHORS], spacing_mm)
    s, r, t = similarity_fit(pts, reg["reference"])  # image (mm) -> reference frame, reflection allowed
    x = (s * pts @ r.T + t).reshape(1, -1)
    y = (x @ reg["coef"].T + reg["intercept"]).reshape(-1, 2)
    back = (y - t) @ r / s  # the inverse similarity (r is orthogonal)
    return {k: tuple(float(v) for v in to_px(p, spacing_mm)) for k, p in zip(WRIST, back)}
