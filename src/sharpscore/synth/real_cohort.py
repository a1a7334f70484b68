"""A scored cohort from real, unscored films: disease drawn into copies of each film.

``write_real_cohort(films, out)`` writes, in the RA2-DREAM layout, ``healthy_copies`` unedited and
``copies`` edited copies of every film (grades from the real prior,
:func:`~sharpscore.synth.real_prior.sample_real_grades`; pixels by :mod:`sharpscore.synth.edit`),
each as its own patient ``{film stem}e{k}``: ``{id}-{region}.png``, a labelme file with the landmarks
moved with the bones and the pixel spacing, and ``training.csv``. A film's landmarks come from a
labelme file beside it when there is one; the shipped localiser supplies the rest (and the region).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from .. import schema
from .._fsutil import atomic_write
from ..config import ConfigModel
from ..errors import InputError, SharpScoreError

__all__ = ["RealCohortConfig", "write_real_cohort", "find_films"]

log = logging.getLogger(__name__)
_EXT = (".dcm", ".png", ".jpg", ".jpeg", ".mha")


class RealCohortConfig(ConfigModel):
    copies: int = 4
    healthy_copies: int = 1
    seed: int = 0
    severity_shift: float = 0.5  # patient severity, in SDs of the real prior (0 = the real cohort's mix)
    osteopenia: float = 0.15
    swelling: float = 0.15
    jsn_reference: Literal["film", "adult", "adult-digits"] = "film"  # see synth.edit.edit_radiograph
    # probability that a copy but the first has its open growth plates closed first (synth.mature)
    mature: float = Field(0.0, ge=0, le=1)


def find_films(folder: str | Path) -> list[Path]:
    """Image files of a folder (not recursive), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in _EXT and p.is_file())


def _landmarks_for(path: Path, rg, localizer) -> tuple[str, dict, tuple[float, float]]:
    from ..io.labelme import read_labelme_extra, sharpscore_names

    given, extra = {}, {}
    if path.with_suffix(".json").exists():
        pts, _, extra = read_labelme_extra(path.with_suffix(".json"))
        given = pts
    loc = localizer.predict(rg)
    region = extra.get("region") or loc.region
    kind = schema.region_kind(region)
    lm = {**{k: v[:2] for k, v in loc.landmarks.items()}, **sharpscore_names(given, kind)}
    spacing = tuple(extra["spacing_mm"]) if extra.get("spacing_mm") else loc.spacing_mm
    if spacing is None:
        raise InputError(f"{path}: pixel spacing unknown and not estimable")
    return region, lm, spacing


def write_real_cohort(films: Iterable[str | Path], out: str | Path, config: RealCohortConfig | None = None, *,
                      localizer: str = "default", progress: bool = True) -> Path:
    """Write the cohort; returns the path of ``training.csv``. Films that cannot be read or placed
    are skipped with a warning (listed in ``skipped.csv``)."""
    from PIL import Image
    from tqdm.auto import tqdm

    from ..io import load_radiograph
    from ..io.labelme import write_labelme
    from ..models import load_localizer
    from .edit import EditNuisances, edit_radiograph
    from .mature import close_growth_plates
    from .real_prior import sample_real_grades

    cfg = config or RealCohortConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    loc = load_localizer(localizer)
    rows, skipped = [], []
    films = list(films)
    for fi, path in enumerate(tqdm(films, desc="editing films", unit="film", disable=not progress)):
        path = Path(path)
        try:
            rg = load_radiograph(path)
            region, lm, spacing = _landmarks_for(path, rg, loc)
        except SharpScoreError as exc:
            log.warning("%s: skipped (%s)", path, exc)
            skipped.append((path.name, str(exc)))
            continue
        matured = None
        for k in range(cfg.healthy_copies + cfg.copies):
            rng = np.random.default_rng([cfg.seed, fi, k])
            healthy = k < cfg.healthy_copies
            grades = sample_real_grades(rng, (region,), severity_shift=cfg.severity_shift,
                                        healthy_fraction=1.0 if healthy else 0.0)[region]
            pixels = rg.pixels
            if k > 0 and cfg.mature > 0 and rng.random() < cfg.mature:
                if matured is None:
                    matured = close_growth_plates(rg.pixels, lm, spacing, region,
                                                  seed=np.random.default_rng([cfg.seed, fi])).pixels
                pixels = matured
            res = edit_radiograph(pixels, lm, spacing, region, grades, seed=rng,
                                  nuisances=None if healthy else EditNuisances(cfg.osteopenia, cfg.swelling),
                                  jsn_reference="film" if k == 0 else cfg.jsn_reference)
            pid = f"{path.stem}e{k}"
            stem = f"{pid}-{region}"
            grey = Image.fromarray(np.round(np.clip(res.pixels, 0, 1) * 65535).astype(np.uint16))
            atomic_write(out / f"{stem}.png", lambda p, g=grey: g.save(p, format="PNG"))
            h, w = res.pixels.shape
            write_labelme(out / f"{stem}.json", {n: v[:2] for n, v in res.landmarks.items()},
                          image_path=f"{stem}.png", image_height=h, image_width=w, spacing_mm=tuple(spacing),
                          region=region)
            records = [schema.JointRecord(region, s, g["erosion"], g["jsn"]) for s, g in res.grades.items()]
            rows.append(schema.records_to_ra2_row(pid, records))
    if skipped:
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["file", "reason"])
        w.writerows(skipped)
        atomic_write(out / "skipped.csv", lambda p: p.write_text(buf.getvalue(), encoding="utf-8"))
    if not rows:
        raise InputError(f"no film could be edited ({len(skipped)} skipped; see {out / 'skipped.csv'})")
    return schema.write_ra2_csv(out / "training.csv", rows)
