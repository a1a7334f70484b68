"""Progression on real films: `python bench/progression_real.py [--copies 2]`.

The 21 held-out Digital Hand Atlas hands (real texture; never used to train the scorer or the
localiser; children's hands, healthy) carry simulated disease drawn with the disease editor
(sharpscore.synth.edit) at a baseline and a follow-up visit (grades from
sharpscore.synth.longitudinal: baseline from the real RA2-DREAM prior, 35% stable, others 1+ grade
steps). The follow-up is also re-acquired: a rotation of up to 3 degrees, a 2% size change, a new
exposure curve and noise. A third film, the baseline re-acquired without new disease, gives the
test-retest spread on real texture. Read with sharpscore's paired comparison (compare_visits) at the
SDC of models/retest.json.

Writes bench/results/progression-real.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402
from real_scoring import TEST_IDS, complete_landmarks, dha_films  # noqa: E402

from sharpscore.api import Scorer  # noqa: E402
from sharpscore.api.progression import RetestModel, compare_visits, read_paired, retest_model  # noqa: E402
from sharpscore.evaluation.progression import progression_agreement, sdc_of_change  # noqa: E402
from sharpscore.io import Radiograph  # noqa: E402
from sharpscore.synth.edit import edit_radiograph  # noqa: E402
from sharpscore.synth.longitudinal import progress_grades, total_of  # noqa: E402
from sharpscore.synth.real_prior import sample_real_grades  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def reacquire(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same film acquired again: small rotation and size change about the centre, a new
    exposure curve (gamma), new noise."""
    ang = np.deg2rad(rng.uniform(-3, 3))
    scale = rng.uniform(0.98, 1.02)
    c, s = np.cos(ang), np.sin(ang)
    m = np.array([[c, -s], [s, c]]) / scale
    centre = np.array(pixels.shape) / 2
    out = ndimage.affine_transform(pixels, m, offset=centre - m @ centre, order=1, mode="nearest")
    out = np.clip(out, 0, 1) ** rng.uniform(0.9, 1.1)
    out = out + rng.normal(0, 0.006, out.shape)
    return np.clip(out, 0, 1).astype(np.float32)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--copies", type=int, default=2, help="disease histories per film")
    p.add_argument("--write-retest", action="store_true",
                   help="ship c = the larger of the phantom c and this real-texture c (models/retest.json)")
    p.add_argument("--unpaired", action="store_true",
                   help="compare the visits as scored, without the paired reading (read_paired)")
    p.add_argument("--out", default="progression-real.json", help="file name under bench/results/")
    a = p.parse_args()
    scorer = Scorer()
    retest = retest_model("default")
    t0 = time.perf_counter()
    retest_b, retest_r, true_change, observed, called, sdcs = [], [], [], [], [], []
    follow_t, base_t, film_of = [], [], []
    for fi, (i, rg, lm) in enumerate(dha_films(TEST_IDS)):
        lm = complete_landmarks(scorer.localizer, rg, lm)
        for k in range(a.copies):
            rng = np.random.default_rng([7, fi, k])
            g0 = sample_real_grades(rng, ("LH",), healthy_fraction=0.1)
            g1 = g0 if rng.random() < 0.35 else progress_grades(g0, rng, max(1, int(rng.poisson(3.0))))
            seed = int(rng.integers(2**31))
            films, drawn = [], []
            for grades, again in ((g0, False), (g0, True), (g1, True)):
                ed = edit_radiograph(rg.pixels, lm, rg.spacing_mm, "LH", grades["LH"], seed=seed)
                drawn.append(ed.grades)
                px = reacquire(ed.pixels, rng) if again else ed.pixels
                films.append(Radiograph(pixels=px, spacing_mm=rg.spacing_mm, spacing_source="user",
                                        source=f"{i}-{k}"))
            try:
                base, same, follow = (scorer.score(f) for f in films)
            except Exception as exc:  # noqa: BLE001 - counted in the output
                print(f"{i}-{k}: {exc}", file=sys.stderr)
                continue
            flags = []
            if not a.unpaired:  # as score_progression reads two visits: at joint positions both share
                r0, same, _ = read_paired(scorer, base, same)
                base, follow, flags = read_paired(scorer, base, follow)
            else:
                r0 = base
            retest_b.append(r0.total)
            retest_r.append(same.total)
            follow_t.append(follow.total)
            base_t.append(base.total)
            film_of.append(fi)
            prog = compare_visits({"LH": base}, {"LH": follow}, retest=retest, flags=flags)
            # what the editor could draw: its recorded grades (an invisible lesion is recorded lower)
            true_change.append(total_of({"LH": drawn[2]}) - total_of({"LH": drawn[0]}))
            observed.append(prog.total_change)
            called.append(prog.progressed)
            sdcs.append(prog.sdc)
    t, o = np.array(true_change, float), np.array(observed)
    # The test-retest model refitted on real texture: c from the first half of the films' retest
    # pairs, checked (progression calls) on the other half, against the phantom-fitted c there.
    rb, rr, ft = np.array(retest_b), np.array(retest_r), np.array(follow_t)
    first = np.array(film_of) < len(TEST_IDS) // 2
    c_real = float(np.median((rr[first] - rb[first]) ** 2 / np.maximum(0.5 * (rb[first] + rr[first]), 0.5)) / 0.455)
    held = {}
    entry = json.loads((ROOT / "src" / "sharpscore" / "models" / "retest.json").read_text())["scorer/default"]
    c_phantom = float(entry.get("phantom_c", retest.c))
    for label, c in (("phantom_c", c_phantom), ("real_c", c_real), ("larger_c", max(c_phantom, c_real))):
        model = RetestModel(c=c, floor=retest.floor)
        sd = np.array([model.sd(0.5 * (b + f), 1) for b, f in zip(base_t, ft)])
        calls = o > 1.96 * sd
        z = (rr - rb) / np.array([model.sd(0.5 * (b + r), 1) for b, r in zip(rb, rr)])
        held[label] = {"c": round(c, 4), **progression_agreement(t[~first], calls[~first], threshold=1.0),
                       "retest_z_sd": round(float(np.std(z[~first], ddof=1)), 3)}
    if a.write_retest:
        path = ROOT / "src" / "sharpscore" / "models" / "retest.json"
        table = json.loads(path.read_text())
        entry = table["scorer/default"]
        entry["phantom_c"] = c_phantom
        entry["real_texture_c"] = round(c_real, 4)
        entry["variance_per_unit_c"] = round(max(entry["phantom_c"], c_real), 4)
        entry["source"] = ("the larger of the phantom c (python bench/progression.py --patients 100 --write-retest) "
                           "and the real-texture c (python bench/progression_real.py --write-retest)")
        path.write_text(json.dumps(table, indent=1) + "\n")
    out = {"what": __doc__.split("\n\n")[1], "machine": machine(), "model": "scorer/default",
           "command": (f"python bench/progression_real.py --copies {a.copies}"
                       + (" --unpaired" if a.unpaired else "")),
           "paired_reading": not a.unpaired,
           "pairs": len(t), "retest_model": {"c": retest.c, "floor": retest.floor},
           "sdc_median": round(float(np.median(sdcs)), 3),
           "retest_region_sd_of_difference_real": round(float(np.std(np.array(retest_r) - retest_b, ddof=1)), 3),
           "retest_sdc_region_real": round(sdc_of_change(retest_b, retest_r), 3),
           **progression_agreement(t, called, threshold=1.0),
           "change_error_mean": round(float((o - t).mean()), 3), "change_error_sd": round(float((o - t).std(ddof=1)), 3),
           "held_out_films_by_retest_model": held,
           "seconds": round(time.perf_counter() - t0, 1)}
    (ROOT / "bench" / "results" / a.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k not in ("what", "machine")}, indent=1))


if __name__ == "__main__":
    main()
