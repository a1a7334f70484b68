"""Longitudinal phantoms: the same anatomy at several visits, with damage that only grows.

A patient's baseline grades come from the real prior (:mod:`sharpscore.synth.real_prior`). Between
visits a share of patients stays stable; the others gain a number of grade steps (Poisson, at least
one). Each step lands on a joint and measure with probability proportional to how often that joint
and measure are damaged in the real RA2-DREAM cohort (the prior's marginals) times one plus its
current grade (damaged joints progress more), never beyond the SvdH maximum. Each visit is a new
acquisition of the same person (``render(..., person_seed=...)``).

The rates are a modelling assumption (the real prior is cross-sectional, it has no second visit):
``mean_steps`` grade steps per interval for a progressing patient; defaults give a mix of stable
patients and changes of 1-10 SvdH units, the range in which the smallest detectable change matters.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .. import schema
from .real_prior import RealPrior, load_real_prior, sample_real_grades

__all__ = ["progress_grades", "LongitudinalPatient", "longitudinal_patient", "total_of"]

Grades = dict[str, dict[str, dict[str, int | None]]]


def total_of(grades: Grades) -> int:
    return int(sum(v or 0 for reg in grades.values() for g in reg.values() for v in g.values()))


def progress_grades(grades: Grades, rng: np.random.Generator, steps: int, *, prior: RealPrior | None = None) -> Grades:
    """``grades`` with ``steps`` more grade steps spread over joints (never decreasing, never beyond
    the maximum); the steps that cannot land anywhere are dropped."""
    p = prior or load_real_prior()
    out = copy.deepcopy(grades)
    for _ in range(steps):
        slots, weights = [], []
        for region, sites in out.items():
            kind = schema.region_kind(region)
            for name, g in sites.items():
                s = schema.site(kind, name)
                for measure in ("erosion", "jsn"):
                    top = s.max_for(measure)
                    cur = g.get(measure)
                    if not top or cur is None or cur >= top:
                        continue
                    marg = np.asarray(p.marginals[RealPrior.key(kind, name, measure)], float)
                    damaged = 1.0 - marg[0] / max(marg.sum(), 1e-9)
                    slots.append((region, name, measure))
                    weights.append((0.02 + damaged) * (1 + cur))
        if not slots:
            break
        w = np.asarray(weights) / np.sum(weights)
        region, name, measure = slots[int(rng.choice(len(slots), p=w))]
        out[region][name][measure] += 1
    return out


@dataclass
class LongitudinalPatient:
    """Grades per visit (``visits[0]`` the baseline) and the seeds that render them."""

    visits: list[Grades]
    person_seeds: dict[str, int]
    acquisition_seeds: list[dict[str, int]]

    def change(self, a: int = 0, b: int = -1) -> int:
        return total_of(self.visits[b]) - total_of(self.visits[a])

    def render(self, visit: int, region: str, **acquisition):
        """The visit's film of ``region`` (a :class:`~sharpscore.synth.render.PhantomImage`)."""
        from .render import render

        return render(region, self.visits[visit][region], seed=self.acquisition_seeds[visit][region],
                      person_seed=self.person_seeds[region], **acquisition)


def longitudinal_patient(seed: int, regions: tuple[str, ...] = schema.REGIONS, *, visits: int = 2,
                         p_stable: float = 0.35, mean_steps: float = 3.0, severity_shift: float = 0.0,
                         healthy_fraction: float = 0.1) -> LongitudinalPatient:
    """One patient's grades at ``visits`` visits (see the module doc for the model)."""
    rng = np.random.default_rng([seed, 11])
    grades = [sample_real_grades(rng, regions, severity_shift=severity_shift, healthy_fraction=healthy_fraction)]
    stable = rng.random() < p_stable
    for _ in range(1, visits):
        steps = 0 if stable else max(1, int(rng.poisson(mean_steps)))
        grades.append(progress_grades(grades[-1], rng, steps))
    person = {r: int(rng.integers(2**31)) for r in regions}
    acq = [{r: int(rng.integers(2**31)) for r in regions} for _ in range(visits)]
    return LongitudinalPatient(visits=grades, person_seeds=person, acquisition_seeds=acq)
