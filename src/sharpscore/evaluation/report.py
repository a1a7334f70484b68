"""``evaluate``: compare predictions with a reference in the RA2-DREAM layout and write a report."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .. import schema
from .._fsutil import atomic_write_text
from ..errors import SchemaError
from . import plots
from .joints import (brier_score, calibration_bins, calibration_error, confusion, exact_agreement, mean_set_size,
                     quadratic_kappa, set_coverage, within_one)
from .ra2 import WINNERS, ra2_scores
from .totals import total_agreement

__all__ = ["evaluate_rows", "evaluate_files", "evaluate_landmark_folders", "evaluate_probabilities", "FAMILIES"]

# Site families as readers group them: finger joints, wrist, feet; JSN and erosion separately.
FAMILIES = ("finger_jsn", "finger_erosion", "wrist_jsn", "wrist_erosion", "foot_jsn", "foot_erosion")
INTERVAL_SUFFIXES = ("_lo", "_hi")


def _family(column: str) -> tuple[str, int]:
    region, name, measure = schema.parse_ra2_column(column)
    s = schema.site(region, name)
    return f"{s.family}_{measure}", s.max_for(measure) + 1


def _match(pred_rows, truth_rows):
    pred = {str(r[schema.RA2_ID_COLUMN]): r for r in pred_rows}
    truth = {str(r[schema.RA2_ID_COLUMN]): r for r in truth_rows}
    missing, extra = sorted(set(truth) - set(pred)), sorted(set(pred) - set(truth))
    if missing or extra:
        raise SchemaError("patients differ between prediction and truth: "
                          f"{len(missing)} missing from the prediction {missing[:10]}, "
                          f"{len(extra)} not in the truth {extra[:10]}")
    return pred, truth


def evaluate_rows(pred_rows: Sequence[Mapping[str, object]], truth_rows: Sequence[Mapping[str, object]],
                  *, weight_by: str = "total") -> dict[str, object]:
    """All metrics for predicted vs reference rows (dicts keyed by RA2-DREAM column)."""
    pred, truth = _match(pred_rows, truth_rows)
    ids = sorted(truth)
    if len(ids) < 2:
        raise SchemaError(f"{len(ids)} patient(s) to compare: agreement statistics need at least 2")
    metrics: dict[str, object] = {"n_patients": len(ids), "ra2": ra2_scores(list(pred.values()), list(truth.values()),
                                                                          weight_by=weight_by)}
    metrics["ra2"]["winners"] = dict(WINNERS)
    for col, key in (("Overall_Tol", "total"), ("Overall_erosion", "erosion"), ("Overall_narrowing", "jsn")):
        t = [float(truth[i][col]) for i in ids]
        p = [float(pred[i][col]) for i in ids]
        lo = [pred[i].get(col + "_lo") for i in ids]
        hi = [pred[i].get(col + "_hi") for i in ids]
        have_interval = all(v is not None for v in lo + hi)
        metrics[key] = total_agreement(t, p, [float(v) for v in lo] if have_interval else None,
                                       [float(v) for v in hi] if have_interval else None)
    metrics["total"]["icc2_1"] = metrics["total"].pop("icc2_1")
    pairs: dict[str, tuple[list[float], list[float], int]] = defaultdict(lambda: ([], [], 0))
    for col in schema.RA2_JOINT_COLUMNS:
        fam, n_grades = _family(col)
        t_list, p_list, _ = pairs[fam]
        for i in ids:
            if truth[i].get(col) is None or pred[i].get(col) is None:
                continue
            t_list.append(float(truth[i][col]))
            p_list.append(float(pred[i][col]))
        pairs[fam] = (t_list, p_list, max(n_grades, pairs[fam][2]))
    joints = {}
    for fam in FAMILIES:
        t_list, p_list, n_grades = pairs.get(fam, ([], [], 0))
        if not t_list:
            continue
        joints[fam] = {"n": len(t_list), "exact": exact_agreement(t_list, p_list), "within_1": within_one(t_list, p_list),
                       "qwk": quadratic_kappa(t_list, p_list, labels=list(range(n_grades))),
                       "confusion": confusion(t_list, p_list, n_grades).tolist()}
    metrics["joints"] = joints
    return metrics


def _subgroups(pred, truth, by: str, weight_by: str) -> dict[str, object]:
    groups: dict[str, list[str]] = defaultdict(list)
    for pid, row in truth.items():
        groups[str(row.get(by, "") or "(blank)")].append(pid)
    out = {}
    for value, pids in sorted(groups.items()):
        if len(pids) < 3:
            out[value] = {"n_patients": len(pids), "note": "fewer than 3 patients: not evaluated"}
            continue
        out[value] = evaluate_rows([pred[p] for p in pids], [truth[p] for p in pids], weight_by=weight_by)
    return out


def evaluate_landmark_folders(pred_dir: str | Path, truth_dir: str | Path) -> dict[str, object]:
    """Pool localisation errors over labelme files with the same name in two folders; spacing
    comes from the image beside each truth file when its header has one (DICOM, MHA)."""
    from ..io import read_spacing
    from ..io.labelme import read_labelme
    from .landmarks import landmark_errors, summarise_landmark_errors

    errors, unmatched = [], []
    for truth_file in sorted(Path(truth_dir).glob("*.json")):
        pred_file = Path(pred_dir) / truth_file.name
        if not pred_file.exists():
            unmatched.append(truth_file.name)
            continue
        truth_pts, _ = read_labelme(truth_file)
        pred_pts, _ = read_labelme(pred_file)
        spacing = None
        for ext in (".dcm", ".mha", ".mhd"):
            image = truth_file.with_suffix(ext)
            if image.exists():
                spacing = read_spacing(image)
                break
        errors.append(landmark_errors(pred_pts, truth_pts, spacing))
    if not errors:
        raise SchemaError(f"no labelme files in {pred_dir} match those in {truth_dir}")
    summary = summarise_landmark_errors(errors)
    summary["images"] = len(errors)
    summary["unmatched"] = unmatched
    return summary


def evaluate_probabilities(folder: str | Path, truth_rows: Sequence[Mapping[str, object]]) -> dict[str, object]:
    """Per-joint probability metrics from the radiograph JSONs ``sharpscore score`` writes
    (``radiographs/*.json``: joint grade probabilities and prediction sets) against reference rows:
    Brier score, expected/maximum calibration error, prediction-set coverage and mean size, per site
    family and measure, plus reliability-diagram bins."""
    truth = {str(r[schema.RA2_ID_COLUMN]): r for r in truth_rows}
    pooled: dict[str, dict[str, list]] = defaultdict(lambda: {"probs": [], "truth": [], "sets": []})
    for path in sorted(Path(folder).glob("*.json")):
        doc = json.loads(path.read_text())
        row = truth.get(str(doc.get("patient_id")))
        region = doc.get("row_region") or doc.get("region")
        if row is None or region not in schema.REGIONS:
            continue
        for j in doc.get("joints", []):
            for measure in ("erosion", "jsn"):
                p = j.get(f"{measure}_probs")
                site = schema.site(region, j["site"])
                if p is None or site.max_for(measure) == 0:
                    continue
                t = row.get(schema.ra2_column(region, j["site"], measure))
                if t is None:
                    continue
                key = f"{site.family}_{measure}"
                pooled[key]["probs"].append(p)
                pooled[key]["truth"].append(int(round(float(t))))
                members = set(j.get(f"{measure}_set") or [])
                pooled[key]["sets"].append([k in members for k in range(len(p))])
    out: dict[str, object] = {}
    for key in FAMILIES:
        if key not in pooled:
            continue
        probs, t = np.array(pooled[key]["probs"], float), np.array(pooled[key]["truth"])
        sets = np.array(pooled[key]["sets"], bool)
        out[key] = {"n": len(t), "brier": brier_score(t, probs), **calibration_error(t, probs),
                    "set_coverage": set_coverage(t, sets), "mean_set_size": mean_set_size(sets),
                    "bins": {k: v.tolist() for k, v in calibration_bins(t, probs).items()}}
    return out


def evaluate_files(pred_csv: str | Path, truth_csv: str | Path, out: str | Path, *,
                   by: Sequence[str] = (), weight_by: str = "total",
                   landmarks: tuple[str | Path, str | Path] | None = None,
                   probabilities: str | Path | None = None) -> dict[str, object]:
    """Read two RA2-DREAM tables, compute every metric, and write ``metrics.json``, ``report.md``
    and PNG plots into ``out``. Returns the metrics.

    ``probabilities``: a folder of radiograph JSONs with per-joint grade probabilities (default:
    ``radiographs/`` beside ``pred_csv`` when it exists, as ``sharpscore score`` writes it); adds
    Brier, ECE, prediction-set coverage and a reliability diagram."""
    from ..errors import InputError

    if Path(out).exists() and not Path(out).is_dir():
        raise InputError(f"{out}: exists and is not a folder; choose another --out")
    interval_cols = [c + s for c in schema.RA2_TOTAL_COLUMNS for s in INTERVAL_SUFFIXES]
    truth_rows = schema.read_ra2_csv(truth_csv, extra_columns=list(by), require_all=False)
    absent = [c for c in by if truth_rows and c not in truth_rows[0]]
    if absent:
        raise InputError(f"{truth_csv}: no column {', '.join(map(repr, absent))} to break the metrics down by")
    pred_rows = schema.read_ra2_csv(pred_csv, extra_columns=schema.PREDICTION_EXTRA_COLUMNS, check_totals=False,
                                    require_all=False)
    # Score what is present: a patient whose prediction lacks a joint the reference scores (a film that
    # failed, a region not given) is left out and listed, instead of aborting the whole cohort.
    pred_by = {str(r[schema.RA2_ID_COLUMN]): r for r in pred_rows}
    excluded: dict[str, str] = {}
    for t in truth_rows:
        pid = str(t[schema.RA2_ID_COLUMN])
        p = pred_by.get(pid)
        if p is None:
            excluded[pid] = "no prediction"
            continue
        lacking = sorted({c for c in schema.RA2_JOINT_COLUMNS if t.get(c) is not None and p.get(c) is None})
        if lacking:
            regions = sorted({c.split("_", 1)[0] for c in lacking})
            excluded[pid] = f"prediction lacks {len(lacking)} scored joint(s) in {', '.join(regions)}"
    truth_rows = [t for t in truth_rows if str(t[schema.RA2_ID_COLUMN]) not in excluded]
    pred_rows = [p for p in pred_rows if str(p[schema.RA2_ID_COLUMN]) in {str(t[schema.RA2_ID_COLUMN])
                                                                           for t in truth_rows}]
    if not truth_rows:
        raise SchemaError(f"{pred_csv}: no patient has a prediction for every joint the reference scores "
                          f"({len(excluded)} patients; e.g. {next(iter(excluded.items()), ('', ''))[1]})")
    for r in pred_rows:
        for c in interval_cols:
            if r.get(c) not in (None, ""):
                r[c] = float(r[c])  # type: ignore[arg-type]
            else:
                r[c] = None
    metrics = evaluate_rows(pred_rows, truth_rows, weight_by=weight_by)
    metrics["excluded_patients"] = excluded
    pred, truth = _match(pred_rows, truth_rows)
    if by:
        metrics["subgroups"] = {col: _subgroups(pred, truth, col, weight_by) for col in by}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ids = sorted(truth)
    plots.bland_altman_plot([truth[i]["Overall_Tol"] for i in ids], [pred[i]["Overall_Tol"] for i in ids],
                            out / "bland_altman_total.png")
    plots.confusion_plot({k: np.array(v["confusion"]) for k, v in metrics["joints"].items()},
                         out / "confusion_matrices.png")
    prob_dir = Path(probabilities) if probabilities else Path(pred_csv).parent / "radiographs"
    if prob_dir.is_dir():
        joint_probs = evaluate_probabilities(prob_dir, truth_rows)
        if joint_probs:
            metrics["probabilities"] = joint_probs
            plots.reliability_plot({k: {b: np.asarray(v) for b, v in m["bins"].items()}
                                    for k, m in joint_probs.items()}, out / "reliability.png")
    elif probabilities:
        raise SchemaError(f"{probabilities}: no such folder of radiograph JSONs")
    if landmarks is not None:
        metrics["landmarks"] = evaluate_landmark_folders(*landmarks)
        plots.landmark_error_plot(metrics["landmarks"], out / "landmark_errors.png")
    metrics["inputs"] = {"pred": str(pred_csv), "truth": str(truth_csv), "weight_by": weight_by}
    atomic_write_text(out / "metrics.json", json.dumps(_jsonable(metrics), indent=2) + "\n")
    atomic_write_text(out / "report.md", render_report(metrics))
    return metrics


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (np.floating, np.integer)):
        return _jsonable(value.item())
    return value


def _f(x, nd=3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{nd}f}"


def render_report(m: Mapping[str, object]) -> str:
    """A readable Markdown report of :func:`evaluate_rows` metrics."""
    ra2 = m["ra2"]
    lines = ["# sharpscore evaluation", "",
             f"{m['n_patients']} patients. Research use only: agreement with the reference reader, not accuracy "
             "against ground truth.", "",
             "## RA2-DREAM challenge scores (lower is better)", "",
             "| | SC1 overall | SC2 narrowing | SC3 erosion |", "|---|---|---|---|",
             f"| this prediction | {_f(ra2['sc1'])} | {_f(ra2['sc2'])} | {_f(ra2['sc3'])} |",
             f"| challenge winners (different data) | {ra2['winners']['sc1']} | {ra2['winners']['sc2']} | "
             f"{ra2['winners']['sc3']} |", "",
             "## Totals", "",
             "| score | ICC(2,1) [95% CI] | ICC(3,1) | Pearson | Spearman | RMSE | MAE | bias [LoA] | SDC | "
             "interval coverage (width) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for key, label in (("total", "total SvdH"), ("erosion", "erosion"), ("jsn", "JSN")):
        t = m[key]
        ba = t["bland_altman"]
        cov = (f"{_f(t['interval_coverage'])} ({_f(t['interval_width'], 1)})" if "interval_coverage" in t else "n/a")
        lines.append(f"| {label} | {_f(t['icc2_1'])} [{_f(t['icc2_1_ci'][0])}, {_f(t['icc2_1_ci'][1])}] | "
                     f"{_f(t['icc3_1'])} | {_f(t['pearson'])} | {_f(t['spearman'])} | {_f(t['rmse'], 2)} | "
                     f"{_f(t['mae'], 2)} | {_f(ba['bias'], 2)} [{_f(ba['loa_low'], 1)}, {_f(ba['loa_high'], 1)}] | "
                     f"{_f(t['sdc'], 2)} | {cov} |")
    lines += ["", "## Joints by site family", "", "| family | joints | exact | within 1 | quadratic kappa |",
              "|---|---|---|---|---|"]
    for fam, j in m["joints"].items():
        lines.append(f"| {fam} | {j['n']} | {_f(j['exact'])} | {_f(j['within_1'])} | {_f(j['qwk'])} |")
    if "subgroups" in m:
        for col, groups in m["subgroups"].items():
            lines += ["", f"## Subgroups by `{col}`", "", "| value | patients | SC1 | ICC(2,1) total | RMSE total |",
                      "|---|---|---|---|---|"]
            for value, g in groups.items():
                if "ra2" not in g:
                    lines.append(f"| {value} | {g['n_patients']} | {g['note']} | | |")
                    continue
                lines.append(f"| {value} | {g['n_patients']} | {_f(g['ra2']['sc1'])} | {_f(g['total']['icc2_1'])} | "
                             f"{_f(g['total']['rmse'], 2)} |")
    if "landmarks" in m:
        lm = m["landmarks"]
        a = lm["all"]
        within = ", ".join(f"{k.split('_')[1]}: {_f(v, 3)}" for k, v in a.items() if k.startswith("within_"))
        lines += ["", "## Localisation", "", f"{lm['images']} images, error in {lm['unit']}: median {_f(a['median'], 2)}, "
                  f"mean {_f(a['mean'], 2)}" + (f"; fraction within {within}" if within else "") + ".",
                  "Per landmark: `landmark_errors.png`."]
    if "probabilities" in m:
        lines += ["", "## Grade probabilities", "", "| family | joints | Brier | ECE | MCE | set coverage | mean set size |",
                  "|---|---|---|---|---|---|---|"]
        for fam, v in m["probabilities"].items():
            lines.append(f"| {fam} | {v['n']} | {_f(v['brier'])} | {_f(v['ece'])} | {_f(v['mce'])} | "
                         f"{_f(v['set_coverage'])} | {_f(v['mean_set_size'], 2)} |")
        lines.append("Reliability diagram: `reliability.png`.")
    lines += ["", "Plots: `bland_altman_total.png`, `confusion_matrices.png`.", ""]
    return "\n".join(lines)
