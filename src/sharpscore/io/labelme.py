"""labelme point-landmark files: the format annotation tools (and RA2-DREAM teams) write."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from .._fsutil import atomic_write_text
from ..errors import InputError

__all__ = ["write_labelme", "read_labelme", "read_labelme_extra"]


def write_labelme(path: str | Path, landmarks: Mapping[str, tuple[float, float]], *, image_path: str,
                  image_height: int, image_width: int, spacing_mm: tuple[float, float] | None = None,
                  region: str | None = None) -> Path:
    """Write point landmarks ``{name: (x, y)}`` (pixel coordinates) as a labelme JSON file.

    ``spacing_mm`` and ``region`` are kept under a ``sharpscore`` key (labelme keeps unknown keys)."""
    shapes = [{"label": name, "points": [[round(float(x), 3), round(float(y), 3)]], "group_id": None,
               "description": "", "shape_type": "point", "flags": {}}
              for name, (x, y) in landmarks.items()]
    doc = {"version": "5.4.1", "flags": {}, "shapes": shapes, "imagePath": image_path, "imageData": None,
           "imageHeight": int(image_height), "imageWidth": int(image_width)}
    extra = {k: v for k, v in (("spacing_mm", list(spacing_mm) if spacing_mm else None), ("region", region)) if v}
    if extra:
        doc["sharpscore"] = extra
    return atomic_write_text(path, json.dumps(doc, indent=1) + "\n")


def read_labelme(path: str | Path) -> tuple[dict[str, tuple[float, float]], tuple[int, int] | None]:
    """``({name: (x, y)}, (height, width) or None)`` from a labelme file's point shapes
    (:func:`read_labelme_extra` gives the ``sharpscore`` metadata too)."""
    points, size, _ = read_labelme_extra(path)
    return points, size


def read_labelme_extra(path: str | Path) -> tuple[dict[str, tuple[float, float]], tuple[int, int] | None, dict]:
    """Like :func:`read_labelme`, plus the ``sharpscore`` metadata dict (spacing, region) if any."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such landmark file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a labelme JSON file ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: not a labelme JSON file (the top level is a {type(doc).__name__}, not an object)")
    shapes = doc.get("shapes", [])
    if not isinstance(shapes, list):
        raise InputError(f"{path}: not a labelme JSON file ('shapes' is a {type(shapes).__name__}, not a list)")
    points: dict[str, tuple[float, float]] = {}
    for i, shape in enumerate(shapes):
        if not isinstance(shape, dict):
            raise InputError(f"{path}: shape {i} is a {type(shape).__name__}, not an object")
        if shape.get("shape_type", "point") != "point" or not shape.get("points"):
            continue
        if "label" not in shape:
            raise InputError(f"{path}: shape {i} has no label")
        try:
            x, y = shape["points"][0]
            points[str(shape["label"])] = (float(x), float(y))
        except (TypeError, ValueError, KeyError, IndexError, OverflowError):
            raise InputError(f"{path}: shape {i} ({str(shape['label'])[:40]!r}) has no (x, y) point: "
                             f"{str(shape.get('points'))[:60]}") from None
    size = None
    try:
        if doc.get("imageHeight") and doc.get("imageWidth"):
            size = (int(doc["imageHeight"]), int(doc["imageWidth"]))
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{path}: imageHeight/imageWidth are not whole numbers") from None
    extra = doc.get("sharpscore") or {}
    if not isinstance(extra, dict):
        raise InputError(f"{path}: its 'sharpscore' entry is a {type(extra).__name__}, not an object")
    return points, size, dict(extra)


# Labels of the RA2-DREAM landmark files published by a challenge team (github.com/ChenfuShi/
# RA2_alpine_lads), and sharpscore's names for them. Their wrist points w1-w3 are not SvdH sites.
RA2_TEAM_LABELS: dict[str, dict[str, str]] = {
    "hand": {"0_mcp_ip": "ip", "1_pip_2": "pip2", "2_pip_3": "pip3", "3_pip_4": "pip4", "4_pip_5": "pip5",
             "5_mcp_1": "mcp1", "6_mcp_2": "mcp2", "7_mcp_3": "mcp3", "8_mcp_4": "mcp4", "9_mcp_5": "mcp5"},
    "foot": {"mtp": "ip", "mtp_1": "mtp1", "mtp_2": "mtp2", "mtp_3": "mtp3", "mtp_4": "mtp4", "mtp_5": "mtp5"},
}


def sharpscore_names(points: dict[str, tuple[float, float]], kind: str) -> dict[str, tuple[float, float]]:
    """``points`` with RA2-DREAM team labels (``5_mcp_1``, ``mtp_3``, ...) renamed to sharpscore's
    landmark names; names that are already sharpscore's are kept, others are dropped."""
    from .. import schema

    names = set(schema.landmarks(kind))
    table = RA2_TEAM_LABELS[kind]
    out = {}
    for label, xy in points.items():
        name = table.get(label, label)
        if name in names:
            out[name] = xy
    return out
