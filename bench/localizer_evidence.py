"""Joint evidence (median heatmap peak of the hand / foot channels) on validation data, to choose
the refusal threshold: `python bench/localizer_evidence.py --model runs/localizer-default/best.pt`.

Validation data only: the 21 held-out DHA hands, an unseen phantom cohort (seed 9001) and the
validation negatives (seed 2). The shared non-hand DICOMs are kept as the test of the threshold.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from localizer import DHA_SPACING, DHA_VALID  # noqa: E402

import sharpscore  # noqa: E402
from sharpscore import schema  # noqa: E402
from sharpscore.localize.geometry import kind_channels, letterbox_matrix, warp  # noqa: E402
from sharpscore.localize.predict import shrink  # noqa: E402
from sharpscore.models import load_localizer  # noqa: E402
from sharpscore.synth import render  # noqa: E402
from sharpscore.synth.other import render_other  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@torch.inference_mode()
def evidence(loc, rg) -> dict[str, float]:
    img = torch.from_numpy(rg.pixels)
    s = loc.spec.coarse_size
    small = shrink(img, max(1.0, max(img.shape) / (1.5 * s)))
    heat = loc.net.coarse(warp(small, letterbox_matrix(tuple(small.shape), s)[None], s))[0]
    return {k: float(heat[kind_channels(k)].flatten(1).amax(1).median()) for k in ("hand", "foot")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="default")
    p.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    a = p.parse_args()
    torch.set_num_threads(2)
    loc = load_localizer(a.model)
    groups: dict[str, list[float]] = {"hand films": [], "foot films": [], "other films": []}
    shared = Path(a.shared)
    if shared.exists():
        for i in DHA_VALID:
            rg = sharpscore.load_radiograph(shared / "dha-hands" / "images" / f"{i}.jpg", spacing_mm=DHA_SPACING)
            groups["hand films"].append(evidence(loc, rg)["hand"])
    for i in range(10):
        for region in schema.REGIONS:
            ev = evidence(loc, render(region, None, seed=9001 * 10 + i).radiograph)
            groups["hand films" if region[1] == "H" else "foot films"].append(ev[schema.region_kind(region)])
    for i in range(30):
        ev = evidence(loc, render_other(seed=2 * 100_003 + i))
        groups["other films"].append(max(ev.values()))
    summary = {k: {"n": len(v), "min": round(min(v), 3), "p05": round(float(np.percentile(v, 5)), 3),
                   "median": round(float(np.median(v)), 3), "max": round(max(v), 3)} for k, v in groups.items()}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
