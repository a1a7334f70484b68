"""The reader's correction loop as a figure: `python bench/reader_figure.py`.

A phantom right hand (sharpscore.synth.write_example: MCP2 erosion 2 / JSN 1 drawn) is scored with
its MCP2 landmark put 6 mm up the proximal phalanx, as a localiser error a reader would see on the
overlay; the reader moves it back (``landmarks=``) and the joint is rescored. Writes
docs/img/reader_workflow.png (a phantom only: safe to publish).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "docs" / "img" / "reader_workflow.png"))
    a = p.parse_args()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    import sharpscore

    with tempfile.TemporaryDirectory() as tmp:
        film = Path(tmp) / "hand.dcm"
        truth = sharpscore.synth.write_example(str(film))
        first = sharpscore.score_radiograph(film)
        x, y, _ = first.landmarks["mcp2"]
        px, py, _ = first.landmarks["pip2"]
        spacing = first.spacing_mm[0]
        step = np.array([px - x, py - y]) / np.hypot(px - x, py - y) * 6.0 / spacing  # 6 mm towards PIP2
        wrong = sharpscore.score_radiograph(film, landmarks={"mcp2": (x + step[0], y + step[1])})
        fixed = sharpscore.score_radiograph(film, landmarks={"mcp2": (x, y)})
        pixels = sharpscore.load_radiograph(film).pixels
    drawn = truth.grades["mcp2"]
    fig = Figure(figsize=(9, 4.6))
    FigureCanvasAgg(fig)
    half = int(14 / spacing)
    for i, (res, title) in enumerate(((wrong, "1. MCP2 placed on the phalanx"),
                                      (fixed, "2. the reader moves it; rescored"))):
        ax = fig.add_subplot(1, 2, i + 1)
        cx, cy = int(x), int(y)
        ax.imshow(pixels[cy - half:cy + half, cx - half:cx + half], cmap="gray",
                  extent=(cx - half, cx + half, cy + half, cy - half))
        lx, ly, _ = res.landmarks["mcp2"]
        ax.plot([lx], [ly], "o", ms=12, mfc="none", mec="yellow" if i else "red", mew=2)
        j = res.joint("mcp2")
        ax.set_title(f"{title}\nMCP2 erosion {j.erosion:.1f} (set {j.erosion_set}), "
                     f"JSN {j.jsn:.1f} (set {j.jsn_set})", fontsize=9)
        ax.set_axis_off()
    fig.suptitle(f"Phantom right hand, MCP2 drawn with erosion {drawn['erosion']} and JSN {drawn['jsn']}: "
                 "score_radiograph(film, landmarks={'mcp2': (x, y)})", fontsize=9)
    fig.tight_layout()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=80)
    print(f"wrote {a.out}: misplaced MCP2 erosion {wrong.joint('mcp2').erosion:.2f} jsn {wrong.joint('mcp2').jsn:.2f}; "
          f"moved back {fixed.joint('mcp2').erosion:.2f} / {fixed.joint('mcp2').jsn:.2f}; drawn {drawn}")


if __name__ == "__main__":
    main()
