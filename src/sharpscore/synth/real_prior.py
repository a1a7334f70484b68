"""The real disease prior: per-joint SvdH grades that look like a real RA cohort's.

Fitted on reader scores in the RA2-DREAM training-table layout (the 364 UAB patients of the
challenge, ``../shared/data/ra2-scores/training.csv``); only derived statistics ship
(``real_prior.json``): each site's grade frequencies (left and right pooled) and a Gaussian copula
of how damage clusters:

    z = sqrt(rho_patient) * u  +  sqrt(rho_site - rho_patient) * v_site  +  sqrt(1 - rho_site) * e

with ``u`` the patient's severity (shared by every joint), ``v_site`` shared by the left and right
joint of a site (symmetry), ``e`` the joint's own noise; a joint's grade is its site's marginal
quantile at ``Phi(z)``. ``rho_patient`` and ``rho_site`` are the mean latent correlations between
different sites of a patient and between the left and right joint of one site.

Rebuild: ``python -m sharpscore.synth.real_prior ../shared/data/ra2-scores/training.csv``.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import schema

__all__ = ["RealPrior", "fit_real_prior", "load_real_prior", "sample_real_grades"]

log = logging.getLogger(__name__)
_PRIOR_FILE = Path(__file__).with_name("real_prior.json")


class RealPrior:
    """Grade marginals per ``(kind, site, measure)`` and the copula correlations."""

    def __init__(self, marginals: dict[str, list[float]], rho_patient: float, rho_site: float,
                 provenance: str = ""):
        self.marginals = {k: np.asarray(v, float) / float(np.sum(v)) for k, v in marginals.items()}
        self.rho_patient = float(rho_patient)
        self.rho_site = float(max(rho_site, rho_patient))
        self.provenance = provenance

    @staticmethod
    def key(kind: str, site: str, measure: str) -> str:
        return f"{kind}/{site}/{measure}"

    def to_dict(self) -> dict:
        return {"provenance": self.provenance, "rho_patient": round(self.rho_patient, 4),
                "rho_site": round(self.rho_site, 4),
                "marginals": {k: [round(float(p), 5) for p in v] for k, v in sorted(self.marginals.items())}}


def _latent_scores(grades: np.ndarray, marginal: np.ndarray) -> np.ndarray:
    """Normal scores of observed grades: the mean of the standard normal over each grade's slice."""
    from scipy.stats import norm

    cdf = np.concatenate([[0.0], np.cumsum(marginal)])
    cdf = np.clip(cdf, 1e-9, 1 - 1e-9)
    lo, hi = norm.ppf(cdf[:-1]), norm.ppf(cdf[1:])
    mass = np.maximum(norm.cdf(hi) - norm.cdf(lo), 1e-12)
    mean = (norm.pdf(lo) - norm.pdf(hi)) / mass  # E[Z | lo < Z < hi]
    return mean[grades]


def fit_real_prior(csv_path: str | Path) -> RealPrior:
    """Fit the prior on a reader-score table in the RA2-DREAM layout."""
    import csv

    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{csv_path}: no rows")
    columns: dict[tuple[str, str, str], dict[str, str]] = {}
    for region in schema.REGIONS:
        kind = schema.region_kind(region)
        for s in schema.sites(kind):
            for measure in ("erosion", "jsn"):
                if s.max_for(measure):
                    columns.setdefault((kind, s.name, measure), {})[region] = schema.ra2_column(region, s.name, measure)
    marginals: dict[str, list[float]] = {}
    values: dict[tuple, np.ndarray] = {}
    for (kind, site, measure), by_region in columns.items():
        top = schema.site(kind, site).max_for(measure)
        g = np.array([[_grade(r.get(c), top) for c in by_region.values()] for r in rows])  # (patients, sides)
        counts = np.bincount(g[g >= 0], minlength=top + 1).astype(float) + 0.5  # a half count: no grade impossible
        marginals[RealPrior.key(kind, site, measure)] = counts.tolist()
        values[(kind, site, measure)] = g
    prior = RealPrior(marginals, 0.0, 0.0)
    latent = {}
    for key, g in values.items():
        z = np.where(g >= 0, _latent_scores(np.maximum(g, 0), prior.marginals[RealPrior.key(*key)]), np.nan)
        latent[key] = z
    # rho_site: left vs right of the same site; rho_patient: different sites of one patient (one side)
    lr = [_corr(z[:, 0], z[:, 1]) for z in latent.values() if z.shape[1] == 2]
    keys = list(latent)
    rng = np.random.default_rng(0)
    pairs = [tuple(rng.choice(len(keys), 2, replace=False)) for _ in range(400)]
    cross = [_corr(latent[keys[a]][:, 0], latent[keys[b]][:, 0]) for a, b in pairs]
    rho_site = float(np.nanmean(lr))
    rho_patient = float(np.nanmean(cross))
    return RealPrior(marginals, rho_patient, rho_site,
                     provenance=f"fitted by sharpscore.synth.real_prior on reader scores of {len(rows)} patients "
                                "(RA2-DREAM training table layout); only these derived statistics are shipped")


def _grade(value, top: int) -> int:
    try:
        v = int(round(float(value)))
    except (TypeError, ValueError):
        return -1
    return v if 0 <= v <= top else -1


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    m = np.isfinite(a) & np.isfinite(b)
    if m.sum() < 10 or a[m].std() == 0 or b[m].std() == 0:
        return float("nan")
    return float(np.corrcoef(a[m], b[m])[0, 1])


@lru_cache(maxsize=1)
def load_real_prior(path: str | None = None) -> RealPrior:
    """The shipped prior (or one written by :func:`fit_real_prior` + ``to_dict``)."""
    data = json.loads(Path(path or _PRIOR_FILE).read_text(encoding="utf-8"))
    return RealPrior(data["marginals"], data["rho_patient"], data["rho_site"], data.get("provenance", ""))


def sample_real_grades(rng: np.random.Generator, regions: tuple[str, ...] = schema.REGIONS, *,
                       prior: RealPrior | None = None, severity_shift: float = 0.0,
                       healthy_fraction: float = 0.0) -> dict[str, dict[str, dict[str, int | None]]]:
    """``{region: {site: {'erosion': g, 'jsn': g}}}`` of one patient drawn from the real prior.

    ``severity_shift`` (in standard deviations of the patient severity) enriches a cohort in damage:
    0 reproduces the real cohort's mix, 1-1.5 gives a training mix where every grade is common."""
    from scipy.stats import norm

    p = prior or load_real_prior()
    healthy = rng.random() < healthy_fraction
    u = rng.standard_normal() + severity_shift
    a, b, c = np.sqrt(p.rho_patient), np.sqrt(p.rho_site - p.rho_patient), np.sqrt(1 - p.rho_site)
    shared: dict[tuple[str, str, str], float] = {}
    out: dict[str, dict[str, dict[str, int | None]]] = {}
    for region in regions:
        kind = schema.region_kind(region)
        grades: dict[str, dict[str, int | None]] = {}
        for s in schema.sites(kind):
            entry: dict[str, int | None] = {}
            for measure in ("erosion", "jsn"):
                if not s.max_for(measure):
                    entry[measure] = None
                    continue
                key = (kind, s.name, measure)
                if key not in shared:
                    shared[key] = rng.standard_normal()
                z = a * u + b * shared[key] + c * rng.standard_normal()
                cdf = np.cumsum(p.marginals[RealPrior.key(*key)])
                g = int(np.searchsorted(cdf, norm.cdf(z) - 1e-12))
                entry[measure] = 0 if healthy else min(g, s.max_for(measure))
            grades[s.name] = entry
        out[region] = grades
    return out


def main(argv: list[str] | None = None) -> None:
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m sharpscore.synth.real_prior TRAINING_CSV")
    prior = fit_real_prior(args[0])
    _PRIOR_FILE.write_text(json.dumps(prior.to_dict(), indent=1) + "\n", encoding="utf-8")
    logging.getLogger(__name__).info("wrote %s", _PRIOR_FILE)


if __name__ == "__main__":
    main()
