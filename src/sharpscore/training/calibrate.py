"""``sharpscore calibrate CONFIG.yaml``: fit a scorer's calibrators on a patient-level split.

The calibration patients are split again in two: calibrators are fitted on one half and their
coverage is measured on the other, so the figures written to ``summary.json`` are honest.
Calibrators are written beside the weights (``<stem>.calibration.json``) and load with them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from .. import schema
from .._fsutil import atomic_write_text
from ..config import ConfigModel
from ..errors import ConfigError, InputError
from ..calibration.conformal import APSConformal, ConformalInterval
from ..calibration.ood import FeatureDistance
from ..calibration.temperature import TemperatureScaler

__all__ = ["CalibrationConfig", "calibrate_scorer"]

log = logging.getLogger(__name__)


class CalibrationConfig(ConfigModel):
    """The ``calibration`` section of a training config."""

    model: str | None = None  # weights to calibrate; default {out_dir}/best.pt
    coverage: float = Field(0.9, gt=0, lt=1)
    sources: list | None = None  # data sources; default: the validation split of `data`
    eval_fraction: float = Field(0.5, ge=0, lt=1)  # of calibration patients kept to measure coverage
    min_count: int = 20  # fewest joints for a per-family temperature
    class_bias: bool = True  # also correct grade priors (training re-weighting, a more severe training cohort)
    # Where joints come from while calibrating: "localizer" (as in use, so intervals include the
    # localiser's errors) or "data" (the cohort's landmark files; the scorer alone).
    landmarks: Literal["localizer", "data"] = "localizer"
    ood_quantile: float = Field(0.995, gt=0.5, lt=1)  # of calibration crops' distances: the OOD threshold
    # Names of the sources whose films fit the film (region) total intervals (default: all). Films in
    # use are real: where the calibration mixes real-background films with phantoms (for the feet),
    # film intervals are better fitted on the real ones alone, as phantom totals are easier. Patient
    # intervals are fitted over every calibration patient (only phantoms have hands and feet).
    interval_sources: list[str] | None = None
    # Names of the sources whose joints fit the per-grade calibration (temperature, class bias,
    # prediction sets); default all.
    joint_sources: list[str] | None = None
    min_interval_regions: int = Field(20, ge=2)  # fewest films of a kind (hand, foot) for its own interval


@dataclass
class _Scored:
    patient: str
    region: str
    raw: Any  # RegionScores without calibration
    truth: dict
    group: str = ""  # the split unit: copies of one film (synth.edit) share it
    features: Any = None  # backbone features of the scored crops (for the OOD calibrator)
    source: str = ""  # the data source the film came from


def _score_samples(scorer, samples, use_localizer: bool = True, localizer_name: str = "default") -> list[_Scored]:
    from tqdm.auto import tqdm

    from ..localize.geometry import estimate_spacing

    loc, out = None, []
    for s in tqdm(samples, desc="scoring", unit="img", leave=False, mininterval=5):
        if s.region not in schema.REGIONS or not s.grades:
            continue
        try:
            rg = s.load()
            landmarks, spacing = s.landmarks, rg.spacing_mm
            if use_localizer or landmarks is None:
                if loc is None:
                    from ..models import load_localizer

                    loc = load_localizer(localizer_name)
                found = loc.predict(rg)
                landmarks, spacing = found.landmarks, found.spacing_mm
                if s.as_foot and schema.region_kind(found.region) == "hand":
                    # a hand film standing in for a foot: located as the hand it is, scored at the
                    # homologous foot sites (as it was edited)
                    landmarks = schema.hand_as_foot(landmarks, found.region)[0]
                elif schema.region_kind(found.region) != schema.region_kind(s.region):
                    raise InputError(f"named {s.region} but located as {found.region}")
            if spacing is None:
                est = estimate_spacing(landmarks, schema.region_kind(s.region))
                spacing = (est, est) if est else None
            if spacing is None:
                raise InputError("spacing unknown")
        except InputError as exc:
            log.warning("%s: not scored (%s)", s.key, exc)
            continue
        raw = scorer.score(rg.pixels, spacing, landmarks, s.region)
        out.append(_Scored(s.patient_id, s.region, raw, s.grades, s.group, raw.features, s.source))
    return out


def _joint_table(scored: list[_Scored]) -> dict[str, dict[str, list]]:
    """Per head: probabilities, true grades, site families."""
    from ..scoring.model import head_for

    table: dict[str, dict[str, list]] = {}
    for sc in scored:
        kind = schema.region_kind(sc.region)
        for j in sc.raw.joints:
            for measure in ("erosion", "jsn"):
                p = getattr(j, f"{measure}_probs")
                truth = (sc.truth.get(j.site) or {}).get(measure)
                if p is None or truth is None:
                    continue
                t = table.setdefault(head_for(kind, measure), {"probs": [], "truth": [], "family": []})
                t["probs"].append(p)
                t["truth"].append(int(round(float(truth))))
                t["family"].append(j.family)
    return table


def _recalibrated(scorer, sc: _Scored):
    """The region's scores under the scorer's current calibration (from its raw probabilities)."""
    from ..scoring.model import HEADS, head_for

    kind = schema.region_kind(sc.region)
    names = [j.site for j in sc.raw.joints]
    probs = {}
    for measure in ("erosion", "jsn"):
        head = head_for(kind, measure)
        k = HEADS[head]
        m = np.array([getattr(j, f"{measure}_probs") or [1.0] + [0.0] * (k - 1) for j in sc.raw.joints], float)
        probs[measure] = scorer.calibrate(m, head, [j.family for j in sc.raw.joints])
    return scorer.region_scores(kind, sc.region, names, probs)


def _truth_total(truth: dict, measure: str) -> float:
    keys = ("erosion", "jsn") if measure == "total" else (measure,)
    return float(sum((g.get(k) or 0) for g in truth.values() for k in keys))


def calibrate_scorer(config, model: str | Path | None = None) -> dict[str, Any]:
    """Fit temperature (per head and site family), APS prediction sets (per head) and conformal
    intervals (region and patient totals) for a trained scorer; returns the summary. Torch's thread
    count is held fixed meanwhile, so the calibrators do not depend on the machine's load."""
    from .._threads import held_threads

    with held_threads():
        return _calibrate_scorer(config, model)


def _calibrate_scorer(config, model: str | Path | None = None) -> dict[str, Any]:
    from ..models import calibration_path, load_scorer
    from ..scoring.distribution import expected_value
    from ..scoring.patient import distribution_sd, patient_distributions, ra2_row
    from .data import load_samples, split_samples
    from ..calibration import save_calibration

    cal = CalibrationConfig(**(config.calibration or {}))
    weights = Path(model or cal.model or Path(config.out_dir) / "best.pt")
    if not weights.exists():
        raise ConfigError(f"{weights}: no trained model to calibrate (train first, or set calibration.model)")
    scorer = load_scorer(weights)
    scorer = type(scorer)(scorer.nets, device=scorer.device, calibration={}, coverage=cal.coverage)
    if cal.sources:
        from pydantic import TypeAdapter

        from .data import SourceConfig

        sources = [TypeAdapter(SourceConfig).validate_python(s) for s in cal.sources]
        samples = load_samples(sources)
    else:
        _, samples = split_samples(load_samples(config.data.sources), config.data.val_fraction, config.seed,
                                   folds=config.data.folds, fold=config.data.fold)
    samples = list({id(s): s for s in samples}.values())
    patients = sorted({s.group for s in samples})
    if len(patients) < 2:
        raise ConfigError(f"calibration needs at least 2 scored patients, got {len(patients)}")
    if len(patients) < 40:
        log.warning("only %d calibration patients: intervals and coverage figures will be rough", len(patients))
    rng = np.random.default_rng(config.seed + 7)
    n_eval = min(len(patients) - 1, int(round(cal.eval_fraction * len(patients))))
    eval_ids = set(rng.permutation(patients)[:n_eval].tolist())
    scored = _score_samples(scorer, samples, use_localizer=cal.landmarks == "localizer")
    fit = [s for s in scored if s.group not in eval_ids]
    held = [s for s in scored if s.group in eval_ids]
    log.info("calibrating on %d radiographs, measuring on %d", len(fit), len(held))

    calibrators: dict[str, Any] = {}
    unknown = set(cal.joint_sources or ()) | set(cal.interval_sources or ())
    unknown -= {s.source for s in samples}
    if unknown:
        raise ConfigError(f"calibration: no calibration source named {sorted(unknown)}")
    table = _joint_table([s for s in fit if cal.joint_sources is None or s.source in cal.joint_sources])
    for head, t in table.items():
        probs, truth = np.array(t["probs"]), np.array(t["truth"])
        calibrators[f"temperature/{head}"] = TemperatureScaler(class_bias=cal.class_bias).fit(
            np.log(np.clip(probs, 1e-12, 1)), truth, t["family"], min_count=cal.min_count)
    scorer.calibration = dict(calibrators)
    for head, t in table.items():
        probs = scorer.calibrate(np.array(t["probs"]), head, t["family"])
        calibrators[f"aps/{head}"] = APSConformal(cal.coverage, seed=config.seed).fit(probs, np.array(t["truth"]))
    # Totals: |truth - expected| / sd of the sum distribution, conformal over films (one interval per
    # region kind, where there are enough films of it, and one over all) and over patients.
    regions_fit = [(s, _recalibrated(scorer, s)) for s in fit]
    films = [(s, r) for s, r in regions_fit if cal.interval_sources is None or s.source in cal.interval_sources]
    if not films:
        raise ConfigError("calibration.interval_sources: none of their films are in the fitting half")
    calibrators["interval/region"] = _fit_interval(cal.coverage, films)
    for kind in ("hand", "foot"):
        of_kind = [(s, r) for s, r in films if schema.region_kind(s.region) == kind]
        if len(of_kind) >= cal.min_interval_regions:
            calibrators[f"interval/region/{kind}"] = _fit_interval(cal.coverage, of_kind)
        else:
            log.info("%d %s films for the interval: the one over all films is used", len(of_kind), kind)
    by_patient = _group(regions_fit)
    p_pred, p_sd, p_truth = [], [], []
    for items in by_patient.values():
        d = patient_distributions([r for _, r in items])["total"]
        p_pred.append(expected_value(d))
        p_sd.append(distribution_sd(d))
        p_truth.append(sum(_truth_total(s.truth, "total") for s, _ in items))
    calibrators["interval/patient"] = ConformalInterval(cal.coverage, low=0.0).fit(p_pred, p_truth, p_sd)
    # Out of distribution: distances of crop features from the calibration crops of their family.
    feats = np.concatenate([s.features for s in fit if s.features is not None and len(s.features)])
    fams = [j.family for s in fit if s.features is not None for j in s.raw.joints]
    calibrators["ood"] = FeatureDistance(quantile=cal.ood_quantile).fit(feats, fams)
    scorer.calibration = calibrators

    out_path = save_calibration(calibrators, calibration_path(weights),
                                meta={"fit_patients": len({s.patient for s in fit})})
    summary: dict[str, Any] = {"model": str(weights), "calibration": str(out_path), "coverage": cal.coverage,
                               "fit_patients": len({s.patient for s in fit}),
                               "eval_patients": len({s.patient for s in held})}
    if held:
        held_regions = [(s, _recalibrated(scorer, s)) for s in held]
        summary["eval"] = _measure(scorer, held, held_regions)
        rows, truth_rows = [], []
        folder = Path(config.out_dir) / "calibration"
        (folder / "radiographs").mkdir(parents=True, exist_ok=True)
        for pid, items in sorted(_group(held_regions).items()):
            regs = [r for _, r in items]
            for s, r in items:  # per-joint probabilities, for the reliability diagram of `evaluate`
                doc = {"patient_id": pid, "region": r.region, "row_region": r.region,
                       "joints": [j.to_dict() for j in r.joints]}
                atomic_write_text(folder / "radiographs" / f"{pid}-{r.region}.json", json.dumps(doc) + "\n")
            dists = patient_distributions(regs)
            intervals = {m: scorer.interval(dists[m], "patient" if m == "total" else None) for m in dists}
            rows.append(ra2_row(pid, regs, intervals))
            truth_rows.append(_truth_row(pid, items))
        schema.write_ra2_csv(folder / "predictions.csv", rows, extra_columns=_interval_columns())
        schema.write_ra2_csv(folder / "truth.csv", truth_rows)
        atomic_write_text(folder / "summary.json", json.dumps(summary, indent=2) + "\n")
        summary["predictions"] = str(folder / "predictions.csv")
        summary["truth"] = str(folder / "truth.csv")
    return summary


def _fit_interval(coverage: float, regions) -> ConformalInterval:
    from ..scoring.patient import distribution_sd

    pred = [r.total for _, r in regions]
    sd = [distribution_sd(r.distributions["total"]) for _, r in regions]
    truth = [_truth_total(s.truth, "total") for s, _ in regions]
    return ConformalInterval(coverage, low=0.0).fit(pred, truth, sd)


def _interval_columns() -> list[str]:
    return [f"{c}{s}" for c in ("Overall_erosion", "Overall_narrowing", "Overall_Tol") for s in ("_lo", "_hi")]


def _group(pairs):
    out: dict[str, list] = {}
    for s, r in pairs:
        out.setdefault(s.patient, []).append((s, r))
    return out


def _truth_row(pid: str, items) -> dict:
    records = []
    for s, _ in items:
        for site in schema.sites(s.region):
            g = s.truth.get(site.name) or {}
            records.append(schema.JointRecord(s.region, site.name, erosion=g.get("erosion") if site.scores_erosion else None,
                                              jsn=g.get("jsn") if site.scores_jsn else None))
    return schema.records_to_ra2_row(pid, records)


def _measure(scorer, held, regions) -> dict[str, Any]:
    """Coverage and calibration on the held-out half, before and after calibration."""
    from ..evaluation.joints import calibration_error, mean_set_size, set_coverage
    from ..scoring.patient import patient_distributions

    def sets_of(head: str, probs: np.ndarray) -> np.ndarray:
        aps = scorer.calibration.get(f"aps/{head}")
        return aps.predict(probs) if aps is not None else np.ones(probs.shape, bool)

    out: dict[str, Any] = {}
    for head, t in _joint_table(held).items():
        raw = np.array(t["probs"])
        truth = np.array(t["truth"])
        cal = scorer.calibrate(raw, head, t["family"])
        sets = sets_of(head, cal)
        out[head] = {"n": len(truth), "ece_before": calibration_error(truth, raw)["ece"],
                     "ece_after": calibration_error(truth, cal)["ece"],
                     "set_coverage": set_coverage(truth, sets), "mean_set_size": mean_set_size(sets)}
    by_source: dict[str, dict[str, float]] = {}
    for source in sorted({s.source for s in held}):
        for head, t in _joint_table([s for s in held if s.source == source]).items():
            truth = np.array(t["truth"])
            cal = scorer.calibrate(np.array(t["probs"]), head, t["family"])
            by_source.setdefault(source, {})[f"ece_{head}"] = round(calibration_error(truth, cal)["ece"], 4)
            by_source[source][f"set_coverage_{head}"] = round(set_coverage(truth, sets_of(head, cal)), 4)
    out["by_source"] = by_source
    hits: dict[str, list[float]] = {}
    for s, r in regions:
        kind = schema.region_kind(s.region)
        lo, hi = scorer.interval(r.distributions["total"], f"region/{kind}")
        hits.setdefault(s.source, []).append(float(lo <= _truth_total(s.truth, "total") <= hi))
    out["region_total_interval_coverage"] = float(np.mean([h for v in hits.values() for h in v]))
    out["region_total_interval_coverage_by_source"] = {k: round(float(np.mean(v)), 4) for k, v in sorted(hits.items())}
    p_hits, widths = [], []
    for items in _group(regions).values():
        d = patient_distributions([r for _, r in items])["total"]
        lo, hi = scorer.interval(d, "patient")
        p_hits.append(float(lo <= sum(_truth_total(s.truth, "total") for s, _ in items) <= hi))
        widths.append(hi - lo)
    ood = scorer.calibration.get("ood")
    feats = [s.features for s in held if s.features is not None and len(s.features)]
    if ood is not None and feats:
        fams = [j.family for s in held if s.features is not None for j in s.raw.joints]
        out["ood_flagged_fraction"] = float(np.mean(ood.flag(np.concatenate(feats), fams)))
    out["patient_total_interval_coverage"] = float(np.mean(p_hits))
    out["patient_total_interval_mean_width"] = float(np.mean(widths))
    out["patients"] = len(p_hits)
    return out
