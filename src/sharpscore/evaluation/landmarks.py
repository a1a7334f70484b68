"""Localisation error of joint landmarks, in millimetres where spacing is known."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..spatial import distance_mm

__all__ = ["landmark_errors", "summarise_landmark_errors"]


def landmark_errors(pred: Mapping[str, Sequence[float]], truth: Mapping[str, Sequence[float]],
                    spacing_mm: float | Sequence[float] | None = None) -> dict[str, dict[str, float]]:
    """Per landmark present in both: error in pixels and (with spacing) in mm.

    ``pred`` values may carry a third item (confidence), which is ignored here."""
    out = {}
    for name, t in truth.items():
        if name not in pred:
            continue
        dx, dy = float(pred[name][0]) - float(t[0]), float(pred[name][1]) - float(t[1])
        entry = {"px": float(np.hypot(dx, dy))}
        if spacing_mm is not None:
            entry["mm"] = distance_mm(pred[name][:2], t[:2], spacing_mm)
        out[name] = entry
    return out


def summarise_landmark_errors(errors: Sequence[Mapping[str, Mapping[str, float]]],
                              thresholds_mm: Sequence[float] = (2.0, 4.0, 10.0)) -> dict[str, object]:
    """Pool per-image errors: overall and per landmark median/mean error and % within thresholds."""
    unit = "mm" if all("mm" in e for img in errors for e in img.values()) else "px"
    per: dict[str, list[float]] = {}
    for img in errors:
        for name, e in img.items():
            per.setdefault(name, []).append(e[unit])

    def stats(values: list[float]) -> dict[str, float]:
        v = np.asarray(values)
        s = {"n": int(v.size), "median": float(np.median(v)), "mean": float(v.mean())}
        if unit == "mm":
            for t in thresholds_mm:
                s[f"within_{t:g}mm"] = float(np.mean(v <= t))
        return s

    everything = [x for v in per.values() for x in v]
    return {"unit": unit, "all": stats(everything) if everything else {},
            "per_landmark": {k: stats(v) for k, v in sorted(per.items())}}
