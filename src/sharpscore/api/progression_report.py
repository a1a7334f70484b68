"""Files of a progression report: JSON, per-joint CSV, change map and temporal-subtraction images."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .. import schema
from ..jsw import sample_in_frame
from ..spatial import bone_frame, to_mm

if TYPE_CHECKING:  # pragma: no cover
    from .progression import Progression

__all__ = ["registered_crops", "write_report"]

CROP_MM = 9.0  # half-size of a review crop around the joint
STEP_MM = 0.1


def registered_crops(base, follow, site: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(baseline, follow-up, difference) crops of ``site``, each sampled in its own visit's joint
    frame in mm (so position, rotation and pixel size are matched by the landmarks), each scaled
    to zero mean and unit SD before the difference."""
    kind = schema.region_kind(base.region)
    grid = np.arange(-CROP_MM, CROP_MM + 1e-9, STEP_MM)
    t, s = -grid[:, None], grid[None, :]  # distal up
    crops = []
    for res in (base, follow):
        frame = bone_frame(kind, site, res.landmarks, res.spacing_mm)
        c = sample_in_frame(res.radiograph.pixels, frame, t, s)
        crops.append((c - c.mean()) / max(float(c.std()), 1e-6))
    return crops[0], crops[1], crops[1] - crops[0]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _review_image(prog: "Progression", ch, path: Path) -> None:
    from matplotlib.figure import Figure

    base, follow = prog.baseline[ch.region], prog.followup[ch.region]
    b, f, d = registered_crops(base, follow, ch.site)
    fig = Figure(figsize=(9, 3.4))
    lim = float(np.percentile(np.abs(d), 99)) or 1.0
    for ax, img, title, kw in ((fig.add_subplot(131), b, "baseline", {"cmap": "gray"}),
                               (fig.add_subplot(132), f, "follow-up (registered)", {"cmap": "gray"}),
                               (fig.add_subplot(133), d, "difference", {"cmap": "coolwarm", "vmin": -lim, "vmax": lim})):
        ax.imshow(img, **kw)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    jsw = "" if ch.jsw_change_mm is None else f", JSW {ch.jsw_change_mm:+.2f} mm"
    fig.suptitle(f"{ch.region} {ch.site}: erosion {ch.erosion_change or 0:+.2f}, JSN {ch.jsn_change or 0:+.2f}{jsw}"
                 "  (research use only)", fontsize=10)
    path.write_bytes(_png(fig))


def _change_map(prog: "Progression", path: Path) -> None:
    from matplotlib.figure import Figure

    regions = list(prog.regions)
    fig = Figure(figsize=(3.6 * len(regions), 4.2))
    vmax = max([abs(j.total_change) for j in prog.joints] + [1.0])
    for i, reg in enumerate(regions):
        ax = fig.add_subplot(1, len(regions), i + 1)
        base = prog.baseline[reg]
        pts, vals, names = [], [], []
        for j in prog.joints:
            if j.region == reg and j.site in base.landmarks:
                pts.append(to_mm(base.landmarks[j.site][:2], base.spacing_mm))
                vals.append(j.total_change)
                names.append(j.site)
        if pts:
            xy = np.array(pts)
            sc = ax.scatter(xy[:, 0], xy[:, 1], c=vals, cmap="coolwarm", vmin=-vmax, vmax=vmax, s=60,
                            edgecolors="k", linewidths=0.4)
            for (x, y), n in zip(xy, names):
                ax.annotate(n, (x, y), fontsize=6, xytext=(3, 3), textcoords="offset points")
            ax.invert_yaxis()
            ax.set_aspect("equal")
        ax.set_title(f"{reg}: {prog.regions[reg]['change']:+.2f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if prog.joints:
        fig.colorbar(sc, ax=fig.axes, shrink=0.7, label="expected grade change (erosion + JSN)")
    fig.suptitle(f"SvdH change {prog.total_change:+.2f} (SDC {prog.sdc:.2f}; "
                 f"P(progression) {prog.p_progression:.2f})  research use only", fontsize=10)
    path.write_bytes(_png(fig))


def write_report(prog: "Progression", folder: Path) -> Path:
    from .._fsutil import atomic_write_text
    from ..schema import csv_text

    folder.mkdir(parents=True, exist_ok=True)
    prog.to_json(folder / "progression.json")
    rows = io.StringIO()
    w = csv.writer(rows)
    w.writerow(["region", "site", "erosion_change", "jsn_change", "jsw_change_mm", "jsw_change_sd_mm", "flags"])
    for j in prog.joints:
        d = j.to_dict()
        w.writerow([j.region, j.site, d["erosion_change"], d["jsn_change"], d["jsw_change_mm"],
                    d["jsw_change_sd_mm"], csv_text(";".join(j.flags))])
    atomic_write_text(folder / "joint_changes.csv", rows.getvalue())
    _change_map(prog, folder / "change_map.png")
    for j in prog.joints:
        shown = abs(j.erosion_change or 0) >= 0.5 or abs(j.jsn_change or 0) >= 0.5 or (
            j.jsw_change_mm is not None and j.jsw_change_sd_mm and j.jsw_change_mm < -2 * j.jsw_change_sd_mm
            and j.jsw_change_mm < -0.1)
        base, follow = prog.baseline[j.region], prog.followup[j.region]
        if shown and base.radiograph is not None and follow.radiograph is not None:
            _review_image(prog, j, folder / f"review_{j.region}_{j.site}.png")
    return folder
