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
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from .. import schema
from ..config import ConfigModel
from .real_prior import RealPrior, load_real_prior, sample_real_grades

__all__ = ["progress_grades", "LongitudinalPatient", "longitudinal_patient", "total_of", "LongitudinalConfig",
           "write_longitudinal_cohort"]

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


class LongitudinalConfig(ConfigModel):
    """A longitudinal phantom cohort: ``n`` patients at ``visits`` visits (see the module doc)."""

    n: int = Field(20, ge=1)
    visits: int = Field(2, ge=2, le=5)
    seed: int = 0
    regions: tuple[Literal["LH", "RH", "LF", "RF"], ...] = schema.REGIONS
    p_stable: float = Field(0.35, ge=0, le=1)
    mean_steps: float = Field(3.0, gt=0)
    months_between: int = Field(12, ge=1)
    format: Literal["png", "dicom"] = "png"
    id_prefix: str = "L"


def write_longitudinal_cohort(config: LongitudinalConfig, out: str | Path, *, progress: bool = True) -> Path:
    """Write ``out/visit1``, ``out/visit2``, ... each in the RA2-DREAM layout (``{id}-{region}`` films,
    labelme landmarks, ``training.csv`` with that visit's true grades), plus ``out/changes.csv``
    (per patient the true change of the total). DICOM films carry PatientID and a StudyDate
    ``months_between`` apart. Refuses a folder that already holds a cohort."""
    from datetime import date

    from tqdm.auto import tqdm

    from .._fsutil import atomic_write, atomic_write_text
    from ..config import dump_config
    from ..errors import InputError
    from ..io.labelme import write_labelme

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out}: exists and is not an empty folder; choose another --out")
    rows: list[list[dict]] = [[] for _ in range(config.visits)]
    changes = ["patient_id,baseline_total,followup_total,change"]
    for i in tqdm(range(config.n), unit="patient", desc="synth", disable=not progress):
        pid = f"{config.id_prefix}{i:05d}"
        lp = longitudinal_patient(config.seed * 1_000_003 + i, config.regions, visits=config.visits,
                                  p_stable=config.p_stable, mean_steps=config.mean_steps)
        for v in range(config.visits):
            folder = out / f"visit{v + 1}"
            folder.mkdir(parents=True, exist_ok=True)
            records = []
            for region in config.regions:
                img = lp.render(v, region)
                stem = f"{pid}-{region}"
                px = img.radiograph.pixels
                if config.format == "dicom":
                    from ..io.dicom_write import write_dicom

                    y, m = divmod(v * config.months_between, 12)
                    name = f"{stem}.dcm"
                    write_dicom(folder / name, np.round(px * 4095).astype(np.uint16), spacing_mm=img.radiograph.spacing_mm,
                                body_part=img.radiograph.body_part, laterality=schema.region_side(region),
                                view=img.radiograph.view, patient_id=pid, patient_name=f"PHANTOM^{pid}",
                                seed_uid=f"{config.seed}/{stem}/v{v}",
                                extra={"StudyDate": date(2020 + y, 1 + m, 1).strftime("%Y%m%d")})
                else:
                    from PIL import Image

                    name = f"{stem}.png"
                    grey = Image.fromarray(np.round(px * 65535).astype(np.uint16))
                    atomic_write(folder / name, lambda p, g=grey: g.save(p, format="PNG"))
                h, w = img.radiograph.shape
                write_labelme(folder / f"{stem}.json", img.landmarks, image_path=name, image_height=h, image_width=w,
                              spacing_mm=img.radiograph.spacing_mm, region=region)
                records += [schema.JointRecord(region, site, g["erosion"], g["jsn"]) for site, g in img.grades.items()]
            rows[v].append(schema.records_to_ra2_row(pid, records))
        changes.append(f"{pid},{total_of(lp.visits[0])},{total_of(lp.visits[-1])},{lp.change()}")
    for v in range(config.visits):
        schema.write_ra2_csv(out / f"visit{v + 1}" / "training.csv", rows[v])
    atomic_write_text(out / "changes.csv", "\n".join(changes) + "\n")
    dump_config(config, out / "longitudinal_config.yaml")
    return out
