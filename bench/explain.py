"""Do the explanation maps point at the lesion? `python bench/explain.py [--films 8]`.

Pointing game on erosions whose pixels are known exactly:
- **real films**: held-out Digital Hand Atlas hands (never trained on) with erosions drawn in by
  ``sharpscore.synth.edit`` at four finger joints (grade 3); the lesion mask is where the edit
  changed the film;
- **phantoms**: the same phantom hand rendered with and without erosions at four finger joints
  (same seed); the mask is where the two differ.
For every eroded site the map's peak (the most positive value) is a hit when it falls on the lesion
mask (dilated by 5 crop pixels, about 1 mm on a finger crop). ``chance``: the hit rate of a uniformly random point
(the dilated mask's share of the crop). Scored with the true landmarks, so localisation does not
enter. Methods: ``occlusion`` (MONAI occlusion sensitivity, the default of ``explain=True``) and
``gradcam`` (MONAI Grad-CAM of the last backbone stage).

Writes bench/results/explain.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402
from real_scoring import TEST_IDS, complete_landmarks, dha_films  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SITES = ("mcp2", "mcp3", "pip3", "pip4")
GRADE = 3
TOLERANCE_PX = 5  # about 1 mm on a finger crop (19.2 mm over 96 px); the pointing game's usual slack


def _crops(scorer, pixels: np.ndarray, spacing, landmarks: dict, region: str):
    """Standardised crops of SITES and the crop-space frames (as Scorer._explain makes them)."""
    import torch

    from sharpscore.scoring.predict import _normalise, prepare_image, site_crops

    js = scorer.joint_model
    small, sp, to_small = prepare_image(torch.from_numpy(np.ascontiguousarray(pixels, np.float32)), spacing,
                                        js.spec.cache_mm_per_px)
    lm = {k: tuple((to_small @ np.array([v[0], v[1], 1.0]))[:2]) for k, v in landmarks.items()}
    raw = site_crops(small, sp, lm, region, js.spec, list(SITES))
    return _normalise(raw), raw


def _lesion_masks(scorer, before: np.ndarray, after: np.ndarray, spacing, landmarks: dict, region: str) -> np.ndarray:
    from scipy.ndimage import binary_dilation

    _, diff = _crops(scorer, np.abs(after - before), spacing, landmarks, region)
    masks = diff[:, 0].numpy() > 0.03
    return np.stack([binary_dilation(m, iterations=TOLERANCE_PX) for m in masks])


def _points(scorer, method: str, pixels, spacing, landmarks, region, masks) -> tuple[int, int, float]:
    import torch

    from sharpscore import schema
    from sharpscore.api.explain import explain_joints
    from sharpscore.scoring.model import head_for, site_index

    crops, _ = _crops(scorer, pixels, spacing, landmarks, region)
    kind = schema.region_kind(region)
    sites = torch.tensor([site_index(kind, n) for n in SITES])
    heads = [[head_for(kind, m) for m in ("erosion", "jsn") if schema.site(kind, n).max_for(m)] for n in SITES]
    maps = explain_joints(scorer.joint_model.nets[0], crops, sites, heads, method)
    hits, n, chance = 0, 0, []
    for m, mask in zip(maps, masks):
        if not mask.any():
            continue  # the edit found no bone edge here
        iy, ix = np.unravel_index(int(np.argmax(m)), m.shape)
        hits += int(mask[iy, ix])
        n += 1
        chance.append(float(mask.mean()))
    return hits, n, float(np.sum(chance))


def _summary(acc: dict) -> dict:
    return {m: {"hits": h, "lesions": n, "hit_rate": round(h / max(n, 1), 3), "chance": round(c / max(n, 1), 3)}
            for m, (h, n, c) in acc.items()}


def real_films(scorer, n_films: int, methods) -> dict:
    from sharpscore.synth.edit import edit_radiograph

    acc = {m: [0, 0, 0.0] for m in methods}
    for fi, (i, rg, lm) in enumerate(dha_films(TEST_IDS[:n_films])):
        lm = complete_landmarks(scorer.localizer, rg, lm)
        grades = {s: {"erosion": GRADE, "jsn": 0} for s in SITES}
        ed = edit_radiograph(rg.pixels, lm, rg.spacing_mm, "LH", grades, seed=fi)
        masks = _lesion_masks(scorer, np.asarray(rg.pixels, np.float32), ed.pixels, rg.spacing_mm, ed.landmarks, "LH")
        for m in methods:
            h, n, c = _points(scorer, m, ed.pixels, rg.spacing_mm, ed.landmarks, "LH", masks)
            acc[m] = [acc[m][0] + h, acc[m][1] + n, acc[m][2] + c]
    return _summary(acc)


def phantoms(scorer, n: int, methods) -> dict:
    from sharpscore.synth import render

    acc = {m: [0, 0, 0.0] for m in methods}
    for k in range(n):
        region = ("RH", "LH")[k % 2]
        healthy = render(region, {}, seed=700 + k, spacing_mm=0.12)
        sick = render(region, {s: {"erosion": GRADE, "jsn": 0} for s in SITES}, seed=700 + k, spacing_mm=0.12)
        rg = sick.radiograph
        masks = _lesion_masks(scorer, healthy.radiograph.pixels, rg.pixels, rg.spacing_mm, sick.landmarks, region)
        for m in methods:
            h, n_, c = _points(scorer, m, rg.pixels, rg.spacing_mm, sick.landmarks, region, masks)
            acc[m] = [acc[m][0] + h, acc[m][1] + n_, acc[m][2] + c]
    return _summary(acc)


def timing(model: str) -> dict:
    """``score(explain=True)`` minus ``score()`` on the real adult hand DICOM (22 sites), median of 3."""
    from sharpscore import Scorer

    film = ROOT.parent / "shared" / "data" / "dicom" / "NM_Kakadu44_SOTmarkerincons.dcm"
    out = {}
    for method in ("occlusion", "gradcam"):
        scorer = Scorer(model, explain_method=method)
        scorer.score(film)  # warm up
        plain, expl = [], []
        for _ in range(3):
            t = time.perf_counter()
            scorer.score(film)
            plain.append(time.perf_counter() - t)
            t = time.perf_counter()
            scorer.score(film, explain=True)
            expl.append(time.perf_counter() - t)
        out[method] = round(float(np.median(expl) - np.median(plain)), 2)
    out["what"] = "extra seconds for explain=True on the 2500 x 2048 adult hand DICOM, median of 3"
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="default")
    p.add_argument("--films", type=int, default=8, help="held-out real films (of 21)")
    p.add_argument("--phantoms", type=int, default=8)
    args = p.parse_args()
    from sharpscore import Scorer

    scorer = Scorer(args.model)
    methods = ("occlusion", "gradcam")
    t0 = time.perf_counter()
    result = {"model": args.model, "machine": machine(), "command": "python bench/explain.py " + " ".join(sys.argv[1:]),
              "what": f"pointing game: erosion grade {GRADE} drawn at {', '.join(SITES)}; peak of the map on the "
                      "lesion (dilated 5 crop px, about 1 mm); true landmarks",
              "real_films": real_films(scorer, args.films, methods),
              "phantoms": phantoms(scorer, args.phantoms, methods)}
    result["seconds_per_film"] = timing(args.model)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    out = ROOT / "bench" / "results" / "explain.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
