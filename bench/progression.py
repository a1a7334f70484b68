"""Progression figures: `python bench/progression.py [--patients 100] [--write-retest]`.

- test-retest: phantom patients (four regions, baseline grades from the real prior) acquired twice
  with unchanged disease (new exposure, noise, pixel size 0.10-0.15 mm, rotation, positioning):
  SD of the differences of the SvdH total (one SDC for all, 1.96 x SD), and the per-patient model
  sharpscore.score_progression uses (SD^2 = c x mean total, floor from healthy regions) fitted on the
  first half of the patients and checked on the second (SD of the standardised differences: 1 when
  the model is right); JSW SD of one measurement; `--write-retest` stores c and the floor in
  src/sharpscore/models/retest.json; `--from-raw` refits from the stored raw figures;
- progression: the same patients at a second visit (sharpscore.synth.longitudinal: 35% stable,
  the others 1+ grade steps), the first baseline acquisition against the follow-up, read as
  sharpscore.score_progression reads them (paired reading, compare_visits): sensitivity for a true
  change >= 1 unit and specificity for no change at the SDC (and at other multiples of the SD),
  standardised response mean, per-joint change QWK;
- runtime of one two-visit, four-region patient (score_progression, model loaded), this machine.

Writes bench/results/progression.json. Unseen seeds (patients from 50000).
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

from sharpscore import schema  # noqa: E402
from sharpscore.api import Scorer  # noqa: E402
from sharpscore.api.progression import RetestModel, read_paired, retest_model  # noqa: E402
from sharpscore.evaluation.progression import (joint_change_kappa, progression_agreement,  # noqa: E402
                                               sdc_of_change, standardised_response_mean)
from sharpscore.synth.longitudinal import longitudinal_patient  # noqa: E402
from sharpscore.synth.render import render  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ACQ = {"spacing_mm": (0.10, 0.15)}


def _score_visit(scorer, films) -> dict:
    res = scorer.score_many([f.radiograph for f in films.values()], batch_size=4)
    return dict(zip(films, res))


def fit_retest(records: list[dict]) -> RetestModel:
    """``c`` and the floor of the test-retest model from unchanged-disease pairs: c is the median of
    (difference of the patient totals)^2 / (their mean) over the median of a chi-square(1), 0.455
    (robust to the few pairs where a joint flips); the floor is the RMS region difference among
    near-healthy regions."""
    ratios = [(r["retest"][1] - r["retest"][0]) ** 2 / max(0.5 * sum(r["retest"]), 0.5) for r in records]
    healthy = [d for r in records for d in r["healthy_region_diffs"]]
    floor = float(np.sqrt(np.mean(np.square(healthy)))) if len(healthy) >= 10 else 0.1
    return RetestModel(c=float(np.median(ratios) / 0.455), floor=floor)


def _pair(scorer, a: dict, b: dict, paired: bool) -> tuple[dict, dict]:
    """Two visits as score_progression compares them: each region read again at joint positions
    shared by both visits (read_paired), or as scored (``paired=False``)."""
    if not paired:
        return a, b
    pa, pb = {}, {}
    for r in a:
        pa[r], pb[r], _ = read_paired(scorer, a[r], b[r])
    return pa, pb


def collect(scorer, n: int, paired: bool = True) -> dict:
    """Score every patient: the baseline acquired twice (test-retest) and the follow-up once; each
    pair of visits read as score_progression reads it (paired unless ``paired=False``)."""
    records, jt, jp, jsw = [], [], [], []
    for i in range(n):
        lp = longitudinal_patient(50000 + i, visits=2)
        a0, b = (_score_visit(scorer, {r: render(r, lp.visits[0][r], seed=lp.acquisition_seeds[0][r] + k,
                                                person_seed=lp.person_seeds[r], **ACQ) for r in schema.REGIONS})
                 for k in range(2))
        follow = _score_visit(scorer, {r: lp.render(1, r, **ACQ) for r in schema.REGIONS})
        a, b = _pair(scorer, a0, b, paired)
        base, follow = _pair(scorer, a0, follow, paired)
        for r in schema.REGIONS:
            for ja in a[r].joints:
                jb = b[r].joint(ja.site)
                if ja.jsw_mm is not None and jb.jsw_mm is not None:
                    jsw.append(jb.jsw_mm - ja.jsw_mm)
        for r in schema.REGIONS:  # per-joint change (model-free: expected grade differences)
            for ja in base[r].joints:
                jf = follow[r].joint(ja.site)
                g0, g1 = lp.visits[0][r][ja.site], lp.visits[1][r][ja.site]
                for m in ("erosion", "jsn"):
                    if getattr(ja, m) is not None and getattr(jf, m) is not None:
                        jt.append(g1[m] - g0[m])
                        jp.append(getattr(jf, m) - getattr(ja, m))
        records.append({"true_change": int(lp.change()),
                        "retest": [round(sum(x.total for x in a.values()), 3), round(sum(x.total for x in b.values()), 3)],
                        "followup": round(sum(x.total for x in follow.values()), 3),
                        "baseline_for_followup": round(sum(x.total for x in base.values()), 3),
                        "healthy_region_diffs": [round(b[r].total - a[r].total, 4) for r in schema.REGIONS
                                                 if a[r].total < 1.0 and b[r].total < 1.0]})
        if (i + 1) % 10 == 0:
            print(f"{i + 1}/{n} patients", flush=True)
    return {"records": records, "joint_change_qwk": round(joint_change_kappa(jt, jp), 4), "joint_changes": len(jt),
            "jsw_sd_one_measurement_mm": round(float(np.std(jsw, ddof=1) / np.sqrt(2)), 4), "jsw_pairs": len(jsw)}


def analyse(raw: dict) -> tuple[dict, dict, RetestModel]:
    """Fit the test-retest model on the first half of the patients, check it on the second half,
    and read progression (first baseline acquisition against the follow-up) for every patient."""
    rec = raw["records"]
    n, half = len(rec), len(rec) // 2
    model = fit_retest(rec[:half])
    first = np.array([r["retest"][0] for r in rec])
    second = np.array([r["retest"][1] for r in rec])
    sd_model = np.array([model.sd(0.5 * (a + b), len(schema.REGIONS)) for a, b in zip(first, second)])
    z = (second - first) / sd_model
    held = np.arange(n) >= half
    rt = {"patients": n, "sdc_total_one_sd_for_all": round(sdc_of_change(first, second), 3),
          "sd_of_difference_total": round(float(np.std(second - first, ddof=1)), 3),
          "retest_model": {"variance_per_unit_c": round(model.c, 4), "region_sd_floor": round(model.floor, 4),
                           "fitted_on_patients": half},
          "held_out_z_sd": round(float(np.std(z[held], ddof=1)), 3),
          "held_out_within_sdc": round(float(np.mean(np.abs(z[held]) <= 1.96)), 3),
          "jsw_sd_one_measurement_mm": raw["jsw_sd_one_measurement_mm"], "jsw_pairs": raw["jsw_pairs"],
          "by_baseline_total": {}}
    for lo, hi in ((0, 10), (10, 40), (40, 1000)):
        m = (first >= lo) & (first < hi)
        if m.sum() >= 3:
            rt["by_baseline_total"][f"{lo}-{hi}"] = {
                "patients": int(m.sum()), "sd_of_difference": round(float(np.std(second[m] - first[m], ddof=1)), 3),
                "model_sd_median": round(float(np.median(sd_model[m])), 3),
                "sdc_median": round(float(np.median(1.96 * sd_model[m])), 3),
                "held_out_z_sd": round(float(np.std(z[m & held], ddof=1)), 3) if (m & held).sum() >= 3 else None}
    t = np.array([r["true_change"] for r in rec], float)
    b0 = np.array([r.get("baseline_for_followup", r["retest"][0]) for r in rec])
    o = np.array([r["followup"] for r in rec]) - b0
    sdcs = np.array([1.96 * model.sd(0.5 * (b + r["followup"]), len(schema.REGIONS)) for b, r in zip(b0, rec)])
    called = o > sdcs
    agree = progression_agreement(t, called, threshold=1.0)
    pr = {"patients": n, "sdc_median": round(float(np.median(sdcs)), 3), **agree,
          "true_change_range": [int(t.min()), int(t.max())],
          "srm_observed": round(standardised_response_mean(o), 3), "srm_true": round(standardised_response_mean(t), 3),
          "change_error_mean": round(float((o - t).mean()), 3), "change_error_sd": round(float((o - t).std(ddof=1)), 3),
          "joint_change_qwk": raw["joint_change_qwk"], "joint_changes": raw["joint_changes"],
          "called_progressed_by_true_change": {str(k): round(float(np.mean(called[t == k])), 3)
                                               for k in sorted(set(t.astype(int).tolist())) if k <= 5}}
    # the same calls at other multiples of the modelled SD (1.96: the SDC), for a ROC-like view
    z = o / (sdcs / 1.96)
    pr["operating_points"] = {f"{k} SD": progression_agreement(t, z > k, threshold=1.0)
                              for k in (1.0, 1.28, 1.5, 1.645, 1.96)}
    shipped = retest_model("default")
    sd_s = np.array([1.96 * shipped.sd(0.5 * (b + r["followup"]), len(schema.REGIONS)) for b, r in zip(b0, rec)])
    pr["with_shipped_retest_model"] = {"c": shipped.c, **progression_agreement(t, o > sd_s, threshold=1.0),
                                       "sdc_median": round(float(np.median(sd_s)), 3)}
    return rt, pr, model


def runtime(scorer) -> dict:
    from sharpscore.api.progression import score_progression

    lp = longitudinal_patient(70000, visits=2)
    visits = [{r: lp.render(v, r, **ACQ).radiograph for r in schema.REGIONS} for v in range(2)]
    out = {}
    runs = (("unpaired_s", False), ("two_visits_four_regions_s", True), ("unpaired_again_s", False))
    for label, paired in runs:
        t0 = time.perf_counter()
        score_progression(visits[0], visits[1], scorer=scorer, paired=paired)
        out[label] = round(time.perf_counter() - t0, 2)
    return {**out, "note": "model already loaded; films already decoded (phantoms in memory); the paired "
                           "reading (default) between two runs without it"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=100)
    p.add_argument("--write-retest", action="store_true")
    p.add_argument("--unpaired", action="store_true",
                   help="compare the visits as scored, without the paired reading (read_paired)")
    p.add_argument("--out", default="progression.json", help="file name under bench/results/")
    p.add_argument("--from-raw", action="store_true",
                   help="refit and re-read from the raw figures of the last run (no scoring)")
    a = p.parse_args()
    scorer = Scorer()
    t0 = time.perf_counter()
    dest = ROOT / "bench" / "results" / a.out
    raw = json.loads(dest.read_text())["raw"] if a.from_raw else collect(scorer, a.patients, paired=not a.unpaired)
    rt, pr, model = analyse(raw)
    out = {"what": __doc__.split("\n\n")[1], "machine": machine(), "model": "scorer/default",
           "command": f"python bench/progression.py --patients {a.patients}" + (" --unpaired" if a.unpaired else ""),
           "paired_reading": not a.unpaired, "retest": rt, "progression": pr}
    if a.write_retest:  # the phantom c; bench/progression_real.py --write-retest then ships the larger of it and the real-texture c
        path = ROOT / "src" / "sharpscore" / "models" / "retest.json"
        table = json.loads(path.read_text())
        table["scorer/default"] = {"variance_per_unit_c": round(model.c, 4), "phantom_c": round(model.c, 4),
                                   "region_sd_floor": round(model.floor, 4),
                                   "pairs": len(raw["records"]) // 2, "source": out["command"] + " --write-retest"}
        path.write_text(json.dumps(table, indent=1) + "\n")
    out["runtime"] = runtime(scorer)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["raw"] = raw
    dest.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("retest", "progression", "runtime")}, indent=1))


if __name__ == "__main__":
    main()
