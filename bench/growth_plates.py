"""Open-growth-plate review rule: `python bench/growth_plates.py [--phantom-patients 50]`.

End to end (the shipped localiser's landmarks, as `score_radiograph` uses them), how often the rule
(`ReviewPolicy.physis_depth`, `physis_joints`) flags:
- the 112 real Digital Hand Atlas hands (children and adolescents, 0-18 years) - should be flagged;
  also with their annotated landmarks, to separate the rule from localisation;
- the real adult hand DICOM - should not be;
- phantom adult hands of unseen cohorts (seeds 9001 and 9002, healthy to severe RA) - should not be.

Writes bench/results/growth_plates.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import sharpscore  # noqa: E402
from sharpscore.api.growth_plates import open_growth_plates, physis_depths  # noqa: E402
from sharpscore.api.review import ReviewPolicy  # noqa: E402
from sharpscore.errors import SharpScoreError  # noqa: E402
from sharpscore.models import load_localizer  # noqa: E402
from sharpscore.synth import render  # noqa: E402
from sharpscore.synth.cohort import patient_seeds  # noqa: E402
from sharpscore.synth.disease import sample_patient_grades  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DHA_SPACING = 0.108075


def _summary(counts: list[int], policy: ReviewPolicy) -> dict:
    c = np.array(counts)
    return {"films": int(c.size), "flagged": int((c >= policy.physis_joints).sum()),
            "flagged_fraction": float((c >= policy.physis_joints).mean()) if c.size else None,
            "joints_with_physis_median": float(np.median(c)) if c.size else None,
            "joints_with_physis_max": int(c.max()) if c.size else None}


def _count(pixels, landmarks, spacing, policy: ReviewPolicy) -> int:
    """Joints with an open physis, by the rule `score_radiograph` applies."""
    return open_growth_plates(pixels, landmarks, spacing, depth=policy.physis_depth,
                              min_joints=policy.physis_joints)[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--phantom-patients", type=int, default=50, help="patients per phantom cohort (2 hands each)")
    args = p.parse_args()
    shared, policy = Path(args.shared), ReviewPolicy()
    loc = load_localizer("default")
    out: dict = {"machine": machine(), "command": "python bench/growth_plates.py " + " ".join(sys.argv[1:]),
                 "rule": {"physis_depth": policy.physis_depth, "physis_joints": policy.physis_joints}}

    dha = shared / "dha-hands"
    if dha.is_dir():
        truth: dict[str, dict] = {}
        with (dha / "landmarks.csv").open() as fh:
            for row in csv.DictReader(fh):
                name = {"ip1": "ip"}.get(row["landmark"], row["landmark"])
                truth.setdefault(row["image_id"], {})[name] = (float(row["x_px"]), float(row["y_px"]))
        e2e, annotated, missed = [], [], []
        for image_id in sorted(truth):
            rg = sharpscore.load_radiograph(dha / "images" / f"{image_id}.jpg", spacing_mm=DHA_SPACING)
            annotated.append(_count(rg.pixels, truth[image_id], rg.spacing_mm, policy))
            try:
                pred = loc.predict(rg)
            except SharpScoreError:
                e2e.append(0)
                missed.append(image_id)
                continue
            e2e.append(_count(rg.pixels, pred.landmarks, pred.spacing_mm, policy))
            if e2e[-1] < policy.physis_joints:
                missed.append(image_id)
        out["dha_children_end_to_end"] = _summary(e2e, policy) | {"not_flagged": missed}
        out["dha_children_annotated_landmarks"] = _summary(annotated, policy)
        adult = shared / "dicom" / "NM_Kakadu44_SOTmarkerincons.dcm"
        rg = sharpscore.load_radiograph(adult)
        pred = loc.predict(rg)
        out["real_adult_hand"] = {"file": adult.name, "depths": {k: round(v, 3) for k, v in
                                                                 physis_depths(rg.pixels, pred.landmarks,
                                                                               pred.spacing_mm).items()},
                                  **_summary([_count(rg.pixels, pred.landmarks, pred.spacing_mm, policy)], policy)}

    for seed in (9001, 9002):
        counts = []
        for i in range(args.phantom_patients):
            seeds = patient_seeds(seed, i)
            grades = sample_patient_grades(np.random.default_rng(seeds["disease"]))
            for region in ("LH", "RH"):
                img = render(region, grades[region], seed=seeds[region], person_seed=seeds["hand"])
                pred = loc.predict(img.radiograph)
                counts.append(_count(img.radiograph.pixels, pred.landmarks, pred.spacing_mm, policy))
        out[f"phantom_adults_seed{seed}"] = _summary(counts, policy)

    dest = ROOT / "bench" / "results" / "growth_plates.json"
    dest.write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k != "machine"}, indent=1))


if __name__ == "__main__":
    main()
