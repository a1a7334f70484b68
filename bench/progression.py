"""Progression figures: `python bench/progression.py [--patients 100] [--write-retest]`.

- test-retest: phantom patients (four regions, baseline grades from the real prior) acquired twice
  with unchanged disease (new exposure, noise, pixel size 0.10-0.15 mm, rotation, positioning):
  SD of the differences of the SvdH total and of a region total, SDC = 1.96 x SD of the
  differences (patient total), JSW SD of one measurement; `--write-retest` stores the region figure
  in src/sharpscore/models/retest.json for sharpscore.score_progression;
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
from sharpscore.api.progression import compare_visits  # noqa: E402
from sharpscore.evaluation.progression import (joint_change_kappa, progression_agreement,  # noqa: E402
                                               sdc_of_change, standardised_response_mean)
from sharpscore.synth.longitudinal import longitudinal_patient  # noqa: E402
from sharpscore.synth.render import render  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ACQ = {"spacing_mm": (0.10, 0.15)}


def _score_visit(scorer, films) -> dict:
    res = scorer.score_many([f.radiograph for f in films.values()], batch_size=4)
    return dict(zip(films, res))


def run(scorer, n: int) -> tuple[dict, dict]:
    """Per patient three acquisitions of each region: the baseline twice (test-retest) and the
    follow-up once; the progression pair is (first baseline acquisition, follow-up)."""
    pat, reg, jsw = [], [], []
    pairs = []
    for i in range(n):
        lp = longitudinal_patient(50000 + i, visits=2)
        base = [_score_visit(scorer, {r: render(r, lp.visits[0][r], seed=lp.acquisition_seeds[0][r] + k,
                                                person_seed=lp.person_seeds[r], **ACQ) for r in schema.REGIONS})
                for k in range(2)]
        follow = _score_visit(scorer, {r: lp.render(1, r, **ACQ) for r in schema.REGIONS})
        a, b = base
        pat.append((sum(x.total for x in a.values()), sum(x.total for x in b.values())))
        for r in schema.REGIONS:
            reg.append(b[r].total - a[r].total)
            for ja in a[r].joints:
                jb = b[r].joint(ja.site)
                if ja.jsw_mm is not None and jb.jsw_mm is not None:
                    jsw.append(jb.jsw_mm - ja.jsw_mm)
        pairs.append((lp, a, follow))
        if (i + 1) % 10 == 0:
            print(f"{i + 1}/{n} patients", flush=True)
    first, second = np.array(pat).T
    rt = {"patients": n, "sdc_total": round(sdc_of_change(first, second), 3),
          "sd_of_difference_total": round(float(np.std(second - first, ddof=1)), 3),
          "region_sd_of_difference": round(float(np.std(reg, ddof=1)), 3), "region_pairs": len(reg),
          "jsw_sd_one_measurement_mm": round(float(np.std(jsw, ddof=1) / np.sqrt(2)), 4), "jsw_pairs": len(jsw),
          "by_baseline_total": _by_severity(first, second)}
    true_change, observed, called = [], [], []
    jt, jp = [], []
    for lp, a, follow in pairs:
        prog = compare_visits(a, follow, region_sd=rt["region_sd_of_difference"])
        true_change.append(lp.change())
        observed.append(prog.total_change)
        called.append(prog.progressed)
        for ch in prog.joints:
            g0, g1 = lp.visits[0][ch.region][ch.site], lp.visits[1][ch.region][ch.site]
            for m, v in (("erosion", ch.erosion_change), ("jsn", ch.jsn_change)):
                if v is not None:
                    jt.append(g1[m] - g0[m])
                    jp.append(v)
    t, o = np.array(true_change, float), np.array(observed)
    agree = progression_agreement(t, called, threshold=1.0)
    pr = {"patients": n, "sdc_used": round(1.96 * rt["region_sd_of_difference"] * 2, 3), **agree,
          "true_change_range": [int(t.min()), int(t.max())],
          "srm_observed": round(standardised_response_mean(o), 3), "srm_true": round(standardised_response_mean(t), 3),
          "change_error_mean": round(float((o - t).mean()), 3), "change_error_sd": round(float((o - t).std(ddof=1)), 3),
          "joint_change_qwk": round(joint_change_kappa(jt, jp), 4), "joint_changes": len(jt),
          "called_progressed_by_true_change": {str(k): round(float(np.mean([c for c, tt in zip(called, t) if tt == k])), 3)
                                               for k in sorted(set(t.astype(int).tolist())) if k <= 5}}
    return rt, pr


def _by_severity(first, second) -> dict:
    out = {}
    for lo, hi in ((0, 10), (10, 40), (40, 1000)):
        m = (first >= lo) & (first < hi)
        if m.sum() >= 3:
            out[f"{lo}-{hi}"] = {"patients": int(m.sum()),
                                 "sd_of_difference": round(float(np.std(second[m] - first[m], ddof=1)), 3)}
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
    rt, pr = run(scorer, a.patients)
    out = {"what": __doc__.split("\n\n")[1], "machine": machine(), "model": "scorer/default",
           "command": f"python bench/progression.py --patients {a.patients}", "retest": rt, "progression": pr}
    if a.write_retest:
        path = ROOT / "src" / "sharpscore" / "models" / "retest.json"
        table = json.loads(path.read_text())
        table["scorer/default"] = {"region_sd_of_difference": rt["region_sd_of_difference"],
                                   "pairs": rt["region_pairs"], "source": out["command"] + " --write-retest"}
        path.write_text(json.dumps(table, indent=1) + "\n")
    out["runtime"] = runtime(scorer)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    (ROOT / "bench" / "results" / "progression.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("retest", "progression", "runtime")}, indent=1))


if __name__ == "__main__":
    main()
