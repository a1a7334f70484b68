"""Gallery of phantoms at several severities: `python bench/synth_gallery.py`.

Writes docs/img/synth_gallery.png (phantoms only: safe to publish). With `--real DIR` (the shared
data folder) it also writes a side-by-side figure with real radiographs to `--real-out`, for
judging realism on a developer's machine; that figure must not be committed.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sharpscore.synth import render, sample_patient_grades  # noqa: E402
from sharpscore.synth.disease import DiseaseModel  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEVERITIES = (("healthy", 1e-6), ("moderate", 0.25), ("severe", 1.2))


def phantom_panels() -> list[tuple[str, np.ndarray]]:
    panels = []
    for region in ("RH", "LF"):
        for i, (label, severity) in enumerate(SEVERITIES):
            rng = np.random.default_rng(100 + i)
            grades = sample_patient_grades(rng, DiseaseModel(median_severity=severity, severity_sigma=0.0,
                                                             healthy_fraction=0.0), (region,))[region]
            total = sum(v or 0 for g in grades.values() for v in g.values())
            img = render(region, grades, seed=200 + i, spacing_mm=0.15)
            panels.append((f"phantom {region}, {label} (SvdH {total})", img.radiograph.pixels))
    return panels


def save_grid(panels: list[tuple[str, np.ndarray]], path: Path, cols: int) -> None:
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 5 * rows))
    for ax in np.atleast_1d(axes).ravel():
        ax.axis("off")
    for ax, (title, pix) in zip(np.atleast_1d(axes).ravel(), panels):
        step = max(1, pix.shape[0] // 700)
        ax.imshow(pix[::step, ::step], cmap="gray", vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=70)
    plt.close(fig)
    print(f"wrote {path}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default=str(ROOT / "docs" / "img" / "synth_gallery.png"))
    p.add_argument("--real", help="shared data folder (../shared/data) for a local side-by-side figure")
    p.add_argument("--real-out", default="/tmp/synth_vs_real.png")
    args = p.parse_args()
    panels = phantom_panels()
    save_grid(panels, Path(args.out), cols=3)
    if args.real:
        from sharpscore import load_radiograph

        real = Path(args.real)
        reals = [("real CR hand (DICOM)", load_radiograph(real / "dicom" / "NM_Kakadu44_SOTmarkerincons.dcm").pixels),
                 ("real DHA hand 3300 (child)", load_radiograph(real / "dha-hands" / "images" / "3300.jpg").pixels),
                 ("real DHA hand 3183 (child)", load_radiograph(real / "dha-hands" / "images" / "3183.jpg").pixels)]
        save_grid(reals + panels[:3], Path(args.real_out), cols=3)


if __name__ == "__main__":
    main()
