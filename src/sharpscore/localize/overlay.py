"""Overlay PNGs of localised joints."""

from __future__ import annotations

from pathlib import Path

from matplotlib import colormaps
from matplotlib.figure import Figure
import numpy as np  # noqa: E402

from .._fsutil import atomic_write  # noqa: E402
from ..spatial import as_spacing  # noqa: E402



def radiograph_axes(rg, max_side: int = 1400):
    """A figure showing ``rg`` at most ``max_side`` pixels across; returns (figure, axes, step),
    where image pixel coordinates divided by ``step`` are plot coordinates."""
    if rg is None:
        raise ValueError("this result holds no radiograph to draw on")
    step = max(1, int(np.ceil(max(rg.shape) / max_side)))
    pix = rg.pixels[::step, ::step]
    fig = Figure(figsize=(pix.shape[1] / 100, pix.shape[0] / 100), dpi=100)
    ax = fig.subplots()
    ax.imshow(pix, cmap="gray", vmin=0, vmax=1)
    return fig, ax, step


def save_figure(fig, path: str | Path) -> Path:
    """Tight layout, atomic PNG write, figure closed."""
    ax = fig.axes[0]
    ax.axis("off")
    fig.tight_layout()
    out = atomic_write(path, lambda p: fig.savefig(p, format="png"))
    return out


def draw_side_marker(ax, marker, step: int) -> None:
    """Box the side marker read on the film (a :class:`~sharpscore.localize.marker.SideMarker` or its
    dict; nothing when None) and say what it read."""
    if marker is None:
        return
    m = marker if isinstance(marker, dict) else marker.to_dict()
    x, y = m["centre_px"]
    ax.plot(x / step, y / step, "s", ms=16, mfc="none", mec="cyan", mew=1.2)
    ax.text(x / step + 12, y / step - 10, f"marker {m['side']}" + (" (mirrored)" if m["mirrored"] else ""),
            color="cyan", fontsize=6)


def draw_landmarks(loc, path: str | Path, max_side: int = 1400) -> Path:
    """The radiograph with each landmark marked, green (confident) to red (unsure), and named."""
    fig, ax, step = radiograph_axes(loc.radiograph, max_side)
    cmap = colormaps["RdYlGn"]
    for name, (x, y, c) in loc.landmarks.items():
        ax.plot(x / step, y / step, "o", ms=5, mfc="none", mec=cmap(float(c)), mew=1.5)
        ax.text(x / step + 6, y / step, name, color=cmap(float(c)), fontsize=6)
    draw_side_marker(ax, loc.side_marker, step)
    title = f"{loc.region}  spacing {as_spacing(loc.spacing_mm).row:.3f} mm ({loc.spacing_source})" if loc.spacing_mm else loc.region
    if loc.flags:
        title += "\nflags: " + ", ".join(loc.flags[:6]) + (" ..." if len(loc.flags) > 6 else "")
    ax.set_title(title + "\nresearch use only", fontsize=7)
    return save_figure(fig, path)
