"""Progression figures: `python bench/progression.py [--patients 100] [--write-retest]`.

- test-retest: phantom patients (four regions, baseline grades from the real prior) acquired twice
  with unchanged disease (new exposure, noise, pixel size 0.10-0.15 mm, rotation, positioning):
  SD of the differences of the SvdH total (one SDC for all, 1.96 x SD), and the per-patient model
  sharpscore.score_progression uses (SD = k * sqrt(predicted variances of both visits), floor from
  healthy regions) fitted on the first half of the patients and checked on the second (SD of the
  standardised differences: 1 when the model is right); JSW SD of one measurement; `--write-retest`
  stores k and the floor in src/sharpscore/models/retest.json;
- progression: the same patients at a second visit (sharpscore.synth.longitudinal: 35% stable,
  the others 1+ grade steps), the first baseline acquisition against the follow-up, read as
  sharpscore.score_progression reads them (compare_visits): sensitivity for a true
  change >= 1 unit and specificity for no change, standardised response mean, per-joint change QWK;
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
from sharpscore.api.progression import RetestModel, compare_visits  # noqa: E402
from sharpscore.evaluation.progression import (joint_change_kappa, progression_agreement,  # noqa: E402
                                               sdc_of_change, standardised_response_mean)
from sharpscore.synth.longitudinal import longitudinal_patient  # noqa: E402
from sharpscore.synth.render import render  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ACQ = {"spacing_mm": (0.10, 0.15)}


def _score_visit(scorer, films) -> dict:
    res = scorer.score_many([f.radiograph for f in films.values()], batch_size=4)
    return dict(zip(films, res))


def _var(res) -> float:
    from sharpscore.api.progression import _variance

    return _variance(res.distributions["total"])


def fit_retest(pairs: list[tuple[dict, dict]]) -> RetestModel:
    """``k`` and the floor of the test-retest model from pairs of unchanged-disease acquisitions
    (``{region: RadiographScore}`` each). Every patient counts alike: k^2 is the mean over patients
    of (difference of the totals)^2 / (sum of the predicted variances), so that the standardised
    differences have unit variance; the floor is the RMS region difference among near-healthy regions."""
    ratios, healthy = [], []
    for a, b in pairs:
        d = sum(x.total for x in b.values()) - sum(x.total for x in a.values())
        v = sum(_var(a[r]) + _var(b[r]) for r in a)
        if v > 1e-6:
            ratios.append(d * d / v)
        healthy += [b[r].total - a[r].total for r in a if a[r].total < 1.0 and b[r].total < 1.0]
    floor = float(np.sqrt(np.mean(np.square(healthy)))) if len(healthy) >= 10 else 0.1
    return RetestModel(k=float(np.sqrt(np.mean(ratios))), floor=floor)


def run(scorer, n: int) -> tuple[dict, dict, RetestModel]:
    """Per patient three acquisitions of each region: the baseline twice (test-retest) and the
    follow-up once; the progression pair is (first baseline acquisition, follow-up). The test-retest
    model is fitted on the first half of the patients' retest pairs and checked on the second half;
    progression is read on every patient."""
    retest_pairs, jsw, progression_pairs = [], [], []
    for i in range(n):
        lp = longitudinal_patient(50000 + i, visits=2)
        base = [_score_visit(scorer, {r: render(r, lp.visits[0][r], seed=lp.acquisition_seeds[0][r] + k,
                                                person_seed=lp.person_seeds[r], **ACQ) for r in schema.REGIONS})
                for k in range(2)]
        follow = _score_visit(scorer, {r: lp.render(1, r, **ACQ) for r in schema.REGIONS})
        a, b = base
        retest_pairs.append((a, b))
        for r in schema.REGIONS:
            for ja in a[r].joints:
                jb = b[r].joint(ja.site)
                if ja.jsw_mm is not None and jb.jsw_mm is not None:
                    jsw.append(jb.jsw_mm - ja.jsw_mm)
        progression_pairs.append((lp, a, follow))
        if (i + 1) % 10 == 0:
            print(f"{i + 1}/{n} patients", flush=True)
    half = n // 2
    model = fit_retest(retest_pairs[:half])
    first = np.array([sum(x.total for x in a.values()) for a, _ in retest_pairs])
    second = np.array([sum(x.total for x in b.values()) for _, b in retest_pairs])
    sd_model = np.array([model.sd(sum(_var(a[r]) + _var(b[r]) for r in a), len(a)) for a, b in retest_pairs])
    z = (second - first) / sd_model
    held = np.arange(n) >= half
    rt = {"patients": n, "sdc_total_one_sd_for_all": round(sdc_of_change(first, second), 3),
          "sd_of_difference_total": round(float(np.std(second - first, ddof=1)), 3),
          "retest_model": {"variance_scale_k": round(model.k, 4), "region_sd_floor": round(model.floor, 4),
                           "fitted_on_patients": half},
          "patient_sdc_median": round(float(np.median(1.96 * sd_model)), 3),
          "held_out_z_sd": round(float(np.std(z[held], ddof=1)), 3),
          "held_out_within_sdc": round(float(np.mean(np.abs(z[held]) <= 1.96)), 3),
          "jsw_sd_one_measurement_mm": round(float(np.std(jsw, ddof=1) / np.sqrt(2)), 4), "jsw_pairs": len(jsw),
          "by_baseline_total": _by_severity(first, second, sd_model)}
    true_change, observed, called, sdcs = [], [], [], []
    jt, jp = [], []
    for lp, a, follow in progression_pairs:
        prog = compare_visits(a, follow, retest=model)
        true_change.append(lp.change())
        observed.append(prog.total_change)
        called.append(prog.progressed)
        sdcs.append(prog.sdc)
        for ch in prog.joints:
            g0, g1 = lp.visits[0][ch.region][ch.site], lp.visits[1][ch.region][ch.site]
            for m, v in (("erosion", ch.erosion_change), ("jsn", ch.jsn_change)):
                if v is not None:
                    jt.append(g1[m] - g0[m])
                    jp.append(v)
    t, o = np.array(true_change, float), np.array(observed)
    agree = progression_agreement(t, called, threshold=1.0)
    pr = {"patients": n, "sdc_median": round(float(np.median(sdcs)), 3), **agree,
          "true_change_range": [int(t.min()), int(t.max())],
          "srm_observed": round(standardised_response_mean(o), 3), "srm_true": round(standardised_response_mean(t), 3),
          "change_error_mean": round(float((o - t).mean()), 3), "change_error_sd": round(float((o - t).std(ddof=1)), 3),
          "joint_change_qwk": round(joint_change_kappa(jt, jp), 4), "joint_changes": len(jt),
          "called_progressed_by_true_change": {str(k): round(float(np.mean([c for c, tt in zip(called, t) if tt == k])), 3)
                                               for k in sorted(set(t.astype(int).tolist())) if k <= 5}}
    pr["raw"] = [{"true_change": int(lp.change()), "baseline_totals": [round(sum(x.total for x in a.values()), 3),
                                                                       round(sum(x.total for x in b.values()), 3)],
                  "baseline_variances": [round(sum(_var(x) for x in a.values()), 4), round(sum(_var(x) for x in b.values()), 4)],
                  "followup_total": round(sum(x.total for x in f.values()), 3),
                  "followup_variance": round(sum(_var(x) for x in f.values()), 4)}
                 for (lp, a, f), (_, b) in zip(progression_pairs, retest_pairs)]
    return rt, pr, model


def _by_severity(first, second, sd_model) -> dict:
    out = {}
    for lo, hi in ((0, 10), (10, 40), (40, 1000)):
        m = (first >= lo) & (first < hi)
        if m.sum() >= 3:
            out[f"{lo}-{hi}"] = {"patients": int(m.sum()),
                                 "sd_of_difference": round(float(np.std(second[m] - first[m], ddof=1)), 3),
                                 "model_sd_median": round(float(np.median(sd_model[m])), 3)}
    return out


def runtime(scorer) -> dict:
    from sharpscore.api.progression import score_progression

    lp = longitudinal_patient(70000, visits=2)
    visits = [{r: lp.render(v, r, **ACQ).radiograph for r in schema.REGIONS} for v in range(2)]
    t0 = time.perf_counter()
    score_progression(visits[0], visits[1], scorer=scorer)
    return {"two_visits_four_regions_s": round(time.perf_counter() - t0, 2),
            "note": "model already loaded; films already decoded (phantoms in memory)"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=100)
    p.add_argument("--write-retest", action="store_true")
    a = p.parse_args()
    scorer = Scorer()
    t0 = time.perf_counter()
    rt, pr, model = run(scorer, a.patients)
    out = {"what": __doc__.split("\n\n")[1], "machine": machine(), "model": "scorer/default",
           "command": f"python bench/progression.py --patients {a.patients}", "retest": rt, "progression": pr}
    if a.write_retest:
        path = ROOT / "src" / "sharpscore" / "models" / "retest.json"
        table = json.loads(path.read_text())
        table["scorer/default"] = {"variance_scale_k": round(model.k, 4), "region_sd_floor": round(model.floor, 4),
                                   "pairs": a.patients // 2, "source": out["command"] + " --write-retest"}
        path.write_text(json.dumps(table, indent=1) + "\n")
    out["runtime"] = runtime(scorer)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    (ROOT / "bench" / "results" / "progression.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("retest", "progression", "runtime")}, indent=1))


if __name__ == "__main__":
    main()
