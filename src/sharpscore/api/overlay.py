"""Overlay PNG of a scored radiograph."""

from __future__ import annotations

from pathlib import Path

from matplotlib import colormaps

from ..flags import FlagKind, ReviewFlag, flagged_sites


_RINGED = (FlagKind.LOW_CONFIDENCE, FlagKind.WIDE_PREDICTION_SET, FlagKind.METAL_AT_JOINT, FlagKind.NOT_SCORED)


def _informational(flag: str) -> bool:
    try:
        return ReviewFlag.parse(flag).kind.informational
    except ValueError:  # a kind this version does not know asks for review
        return False


def _flagged_sites(flags: list[str]) -> set[str]:
    return flagged_sites(flags, _RINGED)


def draw_scores(result, path: str | Path, max_side: int = 1400) -> Path:
    """Each site: a dot coloured by its expected erosion + JSN relative to the site's maximum
    (green 0 to red max) with the values written beside it; flagged sites ringed in red."""
    from ..localize.overlay import draw_side_marker, radiograph_axes, save_figure

    fig, ax, step = radiograph_axes(result.radiograph, max_side)
    cmap = colormaps["RdYlGn_r"]
    flagged = _flagged_sites(result.flags)
    from .. import schema

    for j in result.joints:
        if j.site not in result.landmarks:
            continue
        x, y, _ = result.landmarks[j.site]
        site = schema.site(result.region, j.site)
        value = (j.erosion or 0.0) + (j.jsn or 0.0)
        frac = value / max(site.erosion_max + site.jsn_max, 1)
        ax.plot(x / step, y / step, "o", ms=7, color=cmap(min(1.0, 3 * frac)), mec="white", mew=0.6)
        text = "/".join(f"{m[0].upper()}{v:.1f}" for m, v in (("erosion", j.erosion), ("jsn", j.jsn)) if v is not None)
        ax.text(x / step + 8, y / step + 3, f"{j.site} {text}", color="yellow", fontsize=6)
        if j.site in flagged:
            ax.plot(x / step, y / step, "o", ms=14, mfc="none", mec="red", mew=1.5)
    for name in ("dip2", "dip3", "dip4", "dip5"):
        if name in result.landmarks:
            x, y, _ = result.landmarks[name]
            ax.plot(x / step, y / step, "+", ms=5, color="cyan")
    draw_side_marker(ax, result.side_marker, step)
    lo, hi = result.intervals["total"]
    title = (f"{result.region}: erosion {result.erosion:.1f}, JSN {result.jsn:.1f}, total {result.total:.1f} "
             f"[{lo:.0f}-{hi:.0f}, {result.coverage:.0%}]")
    if result.needs_review:
        # the reasons a reader must look first, then how the result was made
        flags = sorted(result.flags, key=lambda f: _informational(f))
        title += "\nNEEDS REVIEW: " + ", ".join(flags[:5]) + (" ..." if len(flags) > 5 else "")
    ax.set_title(title + "\nresearch use only - not a diagnosis", fontsize=7,
                 color="red" if result.needs_review else "black")
    return save_figure(fig, path)
