"""Scoring accuracy on REAL films the scorer never saw (held-out, patient-level).

    .venv/bin/python bench/real_scoring.py [--model default] [--copies 3] [--shift 0.5]

What it measures, end to end (shipped localiser on each film, then the scorer and its calibration):

1. **Healthy real hands as they are**: the 21 held-out USC Digital Hand Atlas films (children and
   adolescents; the test films of configs/scorer-real.yaml, never trained on or calibrated with):
   mean predicted hand total and the share of joints whose most likely grade is 0 (truth: 0).
   Also **the same films with adult joint spaces** (``healthy_adult_width``): every joint space SvdH
   grades (finger and wrist; fingers only with ``--jsn-reference adult-digits``) wider than a
   healthy adult's first closed to an adult width (synth.edit.to_adult_reference; still grade 0):
   what a healthy *adult* hand's joint spaces look like on real bone. And **the same
   films made adult** (``healthy_mature``): their open growth plates closed first
   (synth.mature.close_growth_plates), then adult joint spaces: the nearest these films come to a
   healthy adult hand.
2. **The real adult hand DICOM** (../shared/data/dicom, no visible damage): total and the highest
   most-likely grade.
3. **The same held-out hands with simulated disease** (``--copies`` edited copies each, grades from
   the real RA2-DREAM prior shifted by ``--shift`` patient-severity SDs, drawn at full resolution
   by sharpscore.synth.edit, narrowing graded against a healthy adult joint space unless
   ``--jsn-reference film``; truth is the grades the editor drew): QWK per site family, ICC(2,1) of the hand total, coverage of the
   90% hand-total intervals. A narrowing the film does not show (``synth.edit.narrowing_visible``)
   has no known grade: it is left out of the QWK and counts 0 in the true total (what shows).
4. **A severity sweep** on one held-out film: MCP2-4, one at a time, through JSN 0..4 and erosion
   0..5, averaged over 5 defect placements; the mean expected grade should rise monotonically.
6. **Real finger joints standing in for feet** (``foot_proxy``; no real foot film is available
   here): the held-out hands' MCP1-5 and thumb IP scored as MTP1-5 and the hallux IP
   (``schema.hand_as_foot``) by the foot heads, healthy as they are and with foot disease drawn in
   (``--copies`` copies, foot grades from the real prior), and the adult DICOM's. It measures how the
   foot heads read real bone texture and real joint margins, not how they read real foot anatomy.
5. **Real RA wrists** (../shared/data/ramw600-wrists, 26 crops, reader-derived erosive flag): AUC of
   the summed wrist erosion score (erosive above non-erosive). The crops carry no fingers, so the
   localiser refuses them; the six wrist erosion sites were placed by eye
   (bench/data/ramw600-wrist-landmarks.json) and given as reader landmarks.

``--training-films N`` runs the simulated-disease part on the first N of the scorer's own training
films instead (configs/scorer-real.yaml's ``dha-edit`` films; new disease drawn with the same seeds):
an in-sample check of whether the scorer fits its training films at all (under-fitting) or only
fails to carry it to new films (over-fitting). Use it with ``--parts simulated``.

Writes bench/results/real-scoring-<label>.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# the held-out (&test) films of configs/scorer-real.yaml; the localiser held them out too
TEST_IDS = ["3144", "3147", "3162", "3164", "3167", "3173", "3183", "3184", "3206", "3221", "3224", "3239", "3240",
            "3269", "3296", "3300", "3301", "3316", "3755", "3769", "3819"]
DHA_SPACING = 0.108075
NAMES = {"ip1": "ip", "cmc1": "mc1"}
WRIST_SPACING = 0.14  # mm/px assumed for the RAM-W600 crops (no spacing stored)


def training_ids(n: int) -> list[str]:
    """The first ``n`` (sorted) DHA films the real-film scorer trained on: configs/scorer-real.yaml's
    ``dha-edit`` source, every atlas film but those it excludes."""
    from sharpscore.config import load_yaml

    cfg = load_yaml(Path(__file__).resolve().parents[1] / "configs" / "scorer-real.yaml")
    src = next(s for s in cfg["data"]["sources"] if s.get("name") == "dha-edit")
    with open(SHARED / "dha-hands" / "landmarks.csv", newline="") as fh:
        ids = {row["image_id"] for row in csv.DictReader(fh)}
    return sorted(ids - set(src["exclude_ids"]))[:n]


def dha_films(ids: list[str]):
    from sharpscore.io import load_radiograph

    table: dict[str, dict] = {}
    with open(SHARED / "dha-hands" / "landmarks.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            if row["image_id"] in ids:
                table.setdefault(row["image_id"], {})[NAMES.get(row["landmark"], row["landmark"])] = (
                    float(row["x_px"]), float(row["y_px"]))
    for i in ids:
        rg = load_radiograph(SHARED / "dha-hands" / "images" / f"{i}.jpg", spacing_mm=DHA_SPACING)
        yield i, rg, table[i]


def _joint_values(res, measure: str) -> dict[str, tuple[float, int]]:
    return {j.site: (getattr(j, measure), getattr(j, f"{measure}_grade")) for j in res.joints
            if getattr(j, measure) is not None}


def healthy(scorer, films, adult_width: bool = False, mature: bool = False, reference: str = "adult") -> dict:
    """Healthy films scored as they are, or (``adult_width``) with their young joint spaces first
    closed to healthy adult widths (synth.edit.to_adult_reference, ``reference`` as edit_radiograph's
    jsn_reference; grade 0 everywhere), and
    (``mature``) their open growth plates closed first (synth.mature.close_growth_plates)."""
    from sharpscore import schema
    from sharpscore.io import Radiograph
    from sharpscore.synth.edit import edit_radiograph
    from sharpscore.synth.mature import close_growth_plates

    totals, zero, n, per_film = [], 0, 0, {}
    by_family: dict[str, list[float]] = {}
    for fi, (i, rg, lm) in enumerate(films):
        if adult_width or mature:
            lm = complete_landmarks(scorer.localizer, rg, lm)
            pixels = rg.pixels
            if mature:
                pixels = close_growth_plates(pixels, lm, rg.spacing_mm, "LH", seed=fi).pixels
            if adult_width:
                pixels = edit_radiograph(pixels, lm, rg.spacing_mm, "LH", {}, seed=fi, jsn_reference=reference).pixels
            rg = Radiograph(pixels=pixels, spacing_mm=rg.spacing_mm, spacing_source="user", source=f"{i}-adult")
        res = scorer.score(rg)
        totals.append(res.total)
        grades = [g for m in ("erosion", "jsn") for _, g in _joint_values(res, m).values()]
        zero += sum(g == 0 for g in grades)
        n += len(grades)
        per_film[i] = round(res.total, 2)
        fam: dict[str, float] = {}
        for m in ("erosion", "jsn"):
            for site, (expected, _) in _joint_values(res, m).items():
                key = f"{schema.site('hand', site).family}_{m}"
                fam[key] = fam.get(key, 0.0) + expected
        for k, v in fam.items():
            by_family.setdefault(k, []).append(v)
    return {"n_films": len(totals), "mean_total": round(float(np.mean(totals)), 3),
            "max_total": round(float(np.max(totals)), 2), "joints_most_likely_0": round(zero / max(n, 1), 4),
            "mean_total_by_family": {k: round(float(np.mean(v)), 3) for k, v in sorted(by_family.items())},
            "per_film_total": per_film}


def adult_dicom(scorer) -> dict:
    res = scorer.score(SHARED / "dicom" / "NM_Kakadu44_SOTmarkerincons.dcm")
    grades = {f"{j.site}:{m}": getattr(j, f"{m}_grade") for j in res.joints for m in ("erosion", "jsn")
              if getattr(j, f"{m}_grade") is not None}
    top = max(grades.values())
    return {"total": round(res.total, 2), "interval": [round(v, 1) for v in res.intervals["total"]],
            "max_most_likely_grade": int(top), "joints_at_max": sorted(k for k, v in grades.items() if v == top),
            "needs_review": res.needs_review, "flags": [f for f in res.flags if not f.startswith("wide_")][:12]}


def complete_landmarks(localizer, rg, lm: dict) -> dict:
    found = localizer.predict(rg)
    return {**{k: v[:2] for k, v in found.landmarks.items()}, **lm}


def simulated(scorer, films, copies: int, shift: float, seed: int, jsn_reference: str = "adult") -> dict:
    from sharpscore import schema
    from sharpscore.evaluation.joints import quadratic_kappa
    from sharpscore.evaluation.totals import icc
    from sharpscore.io import Radiograph
    from sharpscore.synth.edit import EditNuisances, edit_radiograph
    from sharpscore.synth.real_prior import sample_real_grades

    pairs: dict[str, list[tuple[int, float]]] = {}
    totals, covered, widths, failed = [], 0, [], 0
    for fi, (i, rg, lm) in enumerate(films):
        lm = complete_landmarks(scorer.localizer, rg, lm)
        for k in range(copies):
            rng = np.random.default_rng([seed, fi, k])
            grades = sample_real_grades(rng, ("LH",), severity_shift=shift)["LH"]
            ed = edit_radiograph(rg.pixels, lm, rg.spacing_mm, "LH", grades, seed=rng,
                                 nuisances=EditNuisances(0.15, 0.15), jsn_reference=jsn_reference)
            film = Radiograph(pixels=ed.pixels, spacing_mm=rg.spacing_mm, spacing_source="user",
                              source=f"{i}-edit{k}")
            try:
                res = scorer.score(film)
            except Exception as exc:  # noqa: BLE001 - counted, not fatal
                logging.warning("%s-edit%d: %s", i, k, exc)
                failed += 1
                continue
            truth_total = 0
            for m in ("erosion", "jsn"):
                for site, (expected, _) in _joint_values(res, m).items():
                    t = ed.grades[site][m]
                    if t is None:
                        continue
                    fam = schema.site("hand", site).family
                    pairs.setdefault(f"{fam}_{m}", []).append((t, expected))
            truth_total = sum(v or 0 for g in ed.grades.values() for v in g.values())
            totals.append((truth_total, res.total))
            lo, hi = res.intervals["total"]
            covered += lo <= truth_total <= hi
            widths.append(hi - lo)
    qwk = {k: round(float(quadratic_kappa([a for a, _ in v], [b for _, b in v])), 3) for k, v in sorted(pairs.items())}
    t = np.array(totals, float)
    return {"n_films": len(totals), "films_failed": failed, "severity_shift": shift, "jsn_reference": jsn_reference,
            "truth_total_median": float(np.median(t[:, 0])), "truth_total_max": float(t[:, 0].max()),
            "qwk": qwk, "total_icc2_1": round(float(icc(t, "2,1")["icc"]), 4),
            "total_mae": round(float(np.abs(t[:, 0] - t[:, 1]).mean()), 2),
            "interval_coverage": round(covered / len(totals), 4), "interval_width": round(float(np.mean(widths)), 2)}


def sweep(scorer, film, sites=("mcp2", "mcp3", "mcp4"), seeds=(17, 18, 19, 20, 21), jsn_reference: str = "adult"
          ) -> dict:
    """One joint at a time through every grade, averaged over ``seeds`` (defect placement) and
    ``sites``: the mean expected grade per grade asked, and the mean grade the editor could draw."""
    from sharpscore.io import Radiograph
    from sharpscore.synth.edit import edit_radiograph

    i, rg, lm = film
    lm = complete_landmarks(scorer.localizer, rg, lm)
    out = {}
    for measure, top in (("jsn", 4), ("erosion", 5)):
        expected = np.zeros((top + 1, len(sites) * len(seeds)))
        drawn = np.zeros_like(expected)
        for g in range(top + 1):
            k = 0
            for site in sites:
                for seed in seeds:
                    ed = edit_radiograph(rg.pixels, lm, rg.spacing_mm, "LH", {site: {measure: g}}, seed=seed,
                                         jsn_reference=jsn_reference)
                    res = scorer.score(Radiograph(pixels=ed.pixels, spacing_mm=rg.spacing_mm, spacing_source="user"))
                    expected[g, k] = float(getattr(res.joint(site), measure))
                    d = ed.grades[site][measure]
                    drawn[g, k] = np.nan if d is None else d  # None: a narrowing the film does not show
                    k += 1
        mean = expected.mean(1)
        out[measure] = {"asked": list(range(top + 1)), "mean_drawn": [round(float(v), 2) for v in np.nanmean(drawn, 1)],
                        "mean_expected": [round(float(v), 3) for v in mean],
                        "monotone": bool(all(b >= a for a, b in zip(mean, mean[1:])))}
    out.update(film=i, sites=list(sites), seeds=list(seeds), jsn_reference=jsn_reference)
    return out


def foot_proxy(scorer, films, copies: int, shift: float, seed: int) -> dict:
    """The foot heads on real finger joints (``schema.hand_as_foot``): healthy, the adult DICOM,
    and with foot disease drawn in."""
    from sharpscore import schema
    from sharpscore.evaluation.joints import quadratic_kappa
    from sharpscore.evaluation.totals import icc
    from sharpscore.io import load_radiograph
    from sharpscore.synth.edit import EditNuisances, edit_radiograph
    from sharpscore.synth.real_prior import sample_real_grades

    jm = scorer.joint_model

    def score(pixels, spacing, lm, region):
        res = jm.score(pixels, spacing, lm, region)
        grades = [g for j in res.joints for g in (j.erosion_grade, j.jsn_grade) if g is not None]
        return res, grades

    healthy_totals, zero, n = [], 0, 0
    pairs: dict[str, list[tuple[int, float]]] = {"foot_erosion": [], "foot_jsn": []}
    totals, covered = [], 0
    for fi, (i, rg, lm) in enumerate(films):
        foot, region = schema.hand_as_foot(lm, "LH")
        res, grades = score(rg.pixels, rg.spacing_mm, foot, region)
        healthy_totals.append(res.total)
        zero += sum(g == 0 for g in grades)
        n += len(grades)
        for k in range(copies):
            rng = np.random.default_rng([seed, fi, k, 7])
            want = sample_real_grades(rng, (region,), severity_shift=shift)[region]
            ed = edit_radiograph(rg.pixels, foot, rg.spacing_mm, region, want, seed=rng,
                                 nuisances=EditNuisances(0.15, 0.15), jsn_reference="adult")
            res, _ = score(ed.pixels, rg.spacing_mm, {k2: v[:2] for k2, v in ed.landmarks.items()}, region)
            truth = 0
            for j in res.joints:
                for m in ("erosion", "jsn"):
                    t = ed.grades[j.site][m]
                    if t is not None:
                        pairs[f"foot_{m}"].append((t, getattr(j, m)))
                        truth += t
            totals.append((truth, res.total))
            lo, hi = res.intervals["total"]
            covered += lo <= truth <= hi
    rg = load_radiograph(SHARED / "dicom" / "NM_Kakadu44_SOTmarkerincons.dcm")
    found = scorer.localizer.predict(rg)
    foot, region = schema.hand_as_foot({k: v[:2] for k, v in found.landmarks.items()}, found.region)
    adult, adult_grades = score(rg.pixels, rg.spacing_mm, foot, region)
    t = np.array(totals, float)
    return {"what": "held-out real hands' MCP1-5 and thumb IP scored as MTP1-5 and hallux IP by the foot heads "
                    "(a proxy of real bone texture, not of real foot anatomy)",
            "healthy": {"n_films": len(healthy_totals), "mean_foot_total": round(float(np.mean(healthy_totals)), 3),
                        "max_foot_total": round(float(np.max(healthy_totals)), 2),
                        "joints_most_likely_0": round(zero / max(n, 1), 4)},
            "adult_dicom": {"foot_total": round(adult.total, 2), "max_most_likely_grade": int(max(adult_grades)),
                            "expected": {j.site: [round(j.erosion, 2), round(j.jsn, 2)] for j in adult.joints}},
            "simulated_disease": {"n_films": len(totals), "severity_shift": shift,
                                  "truth_total_median": float(np.median(t[:, 0])),
                                  "qwk": {k: round(float(quadratic_kappa([a for a, _ in v], [b for _, b in v])), 3)
                                          for k, v in pairs.items()},
                                  "total_icc2_1": round(float(icc(t, "2,1")["icc"]), 4),
                                  "total_mae": round(float(np.abs(t[:, 0] - t[:, 1]).mean()), 2),
                                  "interval_coverage": round(covered / len(totals), 4)}}


def wrists(scorer) -> dict:
    from PIL import Image

    from sharpscore.io import Radiograph

    root = SHARED / "ramw600-wrists"
    ann = json.loads((Path(__file__).parent / "data" / "ramw600-wrist-landmarks.json").read_text())["landmarks"]
    rows = list(csv.DictReader(open(root / "labels.csv", newline="")))
    scores, labels, failed, ood = [], [], [], 0
    for r in rows:
        pixels = np.asarray(Image.open(root / "images" / r["file"]).convert("L"), np.float32) / 255.0
        film = Radiograph(pixels=pixels, spacing_mm=(WRIST_SPACING, WRIST_SPACING), spacing_source="user",
                          source=r["file"])
        try:
            res = scorer.score(film, landmarks=ann[r["file"]], region=f"{r['side']}H")
        except Exception as exc:  # noqa: BLE001 - counted, not fatal
            failed.append(f"{r['file']}: {type(exc).__name__}: {exc}")
            continue
        scores.append(sum(j.erosion for j in res.joints if j.site in ann[r["file"]] and j.erosion is not None))
        ood += sum(j.out_of_distribution for j in res.joints)
        labels.append(int(r["erosive"]))
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(labels, scores)) if len(set(labels)) == 2 else float("nan")
    return {"n_crops": len(rows), "n_scored": len(scores), "auc_wrist_erosion": round(auc, 3),
            "mean_wrist_erosion_erosive": round(float(np.mean([s for s, y in zip(scores, labels) if y])), 3),
            "mean_wrist_erosion_non_erosive": round(float(np.mean([s for s, y in zip(scores, labels) if not y])), 3),
            "joints_out_of_distribution": int(ood),
            "landmarks": "bench/data/ramw600-wrist-landmarks.json (placed by eye, +-3-5 mm); spacing assumed "
                         f"{WRIST_SPACING} mm/px (a ~27 mm distal radius spans ~190-200 px)",
            "failed": failed}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="default")
    p.add_argument("--label", default=None)
    p.add_argument("--copies", type=int, default=3)
    p.add_argument("--shift", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=9101)
    p.add_argument("--parts", default="healthy,healthy_adult_width,healthy_mature,adult,simulated,sweep,wrists,"
                                      "foot_proxy")
    p.add_argument("--jsn-reference", default="adult", choices=["adult", "adult-digits", "film"],
                   help="simulated narrowing graded against a healthy adult joint space (SvdH), the same for the "
                        "finger joints only (the editor before its wrist spaces were closed too), or the film's own; "
                        "the adult-width healthy films follow it ('adult' for 'film')")
    p.add_argument("--training-films", type=int, default=0, metavar="N",
                   help="the simulated-disease part on the first N training films instead of the held-out ones "
                        "(an in-sample check)")
    a = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from sharpscore.api import Scorer

    label = a.label or Path(str(a.model)).stem.replace("scorer-", "")
    scorer = Scorer(a.model)
    parts = a.parts.split(",")
    result: dict = {"model": str(a.model), "machine": machine(),
                    "held_out": "21 DHA films (configs/scorer-real.yaml test split), the adult hand DICOM, "
                                "26 RAM-W600 wrist crops; none used in training or calibration",
                    "command": "python bench/real_scoring.py " + " ".join(sys.argv[1:])}
    t0 = time.perf_counter()
    adult = "adult" if a.jsn_reference == "film" else a.jsn_reference
    if "healthy" in parts:
        result["healthy_dha"] = healthy(scorer, dha_films(TEST_IDS))
    if "healthy_adult_width" in parts:
        result["healthy_dha_adult_width"] = healthy(scorer, dha_films(TEST_IDS), adult_width=True, reference=adult)
    if "healthy_mature" in parts:
        result["healthy_dha_mature"] = healthy(scorer, dha_films(TEST_IDS), adult_width=True, mature=True,
                                               reference=adult)
    if "adult" in parts:
        result["adult_dicom"] = adult_dicom(scorer)
    if "simulated" in parts:
        ids = training_ids(a.training_films) if a.training_films else TEST_IDS
        result["simulated_disease"] = simulated(scorer, dha_films(ids), a.copies, a.shift, a.seed,
                                                a.jsn_reference)
        if a.training_films:
            result["held_out"] = f"NOT held out: {len(ids)} of the scorer's training films ({', '.join(ids)})"
    if "sweep" in parts:
        result["severity_sweep"] = sweep(scorer, next(dha_films(["3300"])), jsn_reference=a.jsn_reference)
    if "wrists" in parts:
        result["ramw600_wrists"] = wrists(scorer)
    if "foot_proxy" in parts:
        result["foot_proxy"] = foot_proxy(scorer, dha_films(TEST_IDS), a.copies, a.shift, a.seed)
    result["seconds"] = round(time.perf_counter() - t0, 1)
    dest = Path(__file__).parent / "results" / f"real-scoring-{label}.json"
    dest.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"wrote {dest}")


if __name__ == "__main__":
    main()
