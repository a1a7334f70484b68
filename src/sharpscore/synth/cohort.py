"""Phantom cohorts in the RA2-DREAM layout: images, ``training.csv`` and labelme landmarks."""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from .. import schema
from .._fsutil import atomic_write
from ..config import ConfigModel, dump_config
from ..errors import InputError
from ..io.labelme import write_labelme
from .disease import DiseaseModel, sample_patient_grades
from .render import Acquisition, render

__all__ = ["SynthConfig", "generate_cohort", "patient_seeds"]

# How the phantoms lie on the film (synth.anatomy: a right region, first digit on the left, digits
# up; a left one its mirror image): a PA hand's rows run to the patient's left and its columns from
# the fingers to the wrist, i.e. headwards; a dorsoplantar foot's rows run to the patient's right
# and its columns from the toes to the heel, i.e. posterior (PS3.3 C.7.6.1.1.1).
_ORIENTATION = {"hand": ("L", "H"), "foot": ("R", "P")}

log = logging.getLogger(__name__)


class SynthConfig(ConfigModel):
    """A phantom cohort (``configs/synth.yaml``)."""

    n: int = Field(100, ge=1, description="number of patients")
    seed: int = 0
    regions: list[Literal["LH", "RH", "LF", "RF"]] = ["LH", "RH", "LF", "RF"]
    format: Literal["jpeg", "png", "dicom"] = "jpeg"
    jpeg_quality: int = Field(92, ge=50, le=100)
    id_prefix: str = Field("SYN", pattern=r"^[A-Za-z0-9_]*$")
    workers: int = Field(0, ge=0, description="processes; 0 = one per CPU core")
    overwrite: bool = False
    disease: DiseaseModel = DiseaseModel()
    acquisition: Acquisition = Acquisition()


def patient_seeds(seed: int, index: int) -> dict[str, int]:
    """Deterministic seeds of one patient: disease, anatomy (hands, feet) and each region's exposure."""
    ss = np.random.SeedSequence([seed, index])
    d, hands, feet, *regions = (int(c.generate_state(1)[0]) for c in ss.spawn(3 + len(schema.REGIONS)))
    return {"disease": d, "hand": hands, "foot": feet, **dict(zip(schema.REGIONS, regions))}


def _render_patient(args: tuple[SynthConfig, int, str]) -> dict[str, object]:
    cfg, index, out = args
    seeds = patient_seeds(cfg.seed, index)
    pid = f"{cfg.id_prefix}{index:05d}"
    grades = sample_patient_grades(np.random.default_rng(seeds["disease"]), cfg.disease, tuple(cfg.regions))
    records = []
    for region in cfg.regions:
        kind = schema.region_kind(region)
        img = render(region, grades[region], seed=seeds[region], person_seed=seeds[kind],
                     acquisition=cfg.acquisition)
        stem = f"{pid}-{region}"
        image_name = _write_image(Path(out), stem, img, cfg, pid, region, seeds[region])
        h, w = img.radiograph.shape
        write_labelme(Path(out) / f"{stem}.json", img.landmarks, image_path=image_name,
                      image_height=h, image_width=w, spacing_mm=img.radiograph.spacing_mm, region=region)
        for site, g in img.grades.items():
            records.append(schema.JointRecord(region, site, g["erosion"], g["jsn"]))
    return schema.records_to_ra2_row(pid, records)


def _write_image(out: Path, stem: str, img, cfg: SynthConfig, pid: str, region: str, seed: int) -> str:
    pixels = img.radiograph.pixels
    if cfg.format == "dicom":
        from ..io.dicom_write import write_dicom

        rng = np.random.default_rng(seed)
        photometric = "MONOCHROME1" if rng.random() < 0.5 else "MONOCHROME2"
        modality = "CR" if rng.random() < 0.5 else "DX"
        name = f"{stem}.dcm"
        write_dicom(out / name, pixels, spacing_mm=img.radiograph.spacing_mm, photometric=photometric,
                    bits_stored=12, modality=modality, body_part=img.radiograph.body_part,
                    laterality=schema.region_side(region), view=img.radiograph.view, patient_id=pid,
                    patient_name=f"PHANTOM^{pid}", seed_uid=f"{cfg.seed}/{stem}",
                    study_uid=_study_uid(cfg.seed, pid), patient_orientation=_ORIENTATION[schema.region_kind(region)])
        return name
    from PIL import Image

    grey = Image.fromarray(np.round(pixels * 255).astype(np.uint8), mode="L")
    if cfg.format == "png":
        name = f"{stem}.png"
        atomic_write(out / name, lambda p: grey.save(p, format="PNG"))
    else:
        name = f"{stem}.jpg"
        atomic_write(out / name, lambda p: grey.save(p, format="JPEG", quality=cfg.jpeg_quality))
    return name


def _study_uid(seed: int, pid: str) -> str:
    from pydicom.uid import generate_uid

    from ..io.dicom_write import UID_PREFIX

    return generate_uid(prefix=UID_PREFIX, entropy_srcs=[str(seed), pid, "study"])


def generate_cohort(config: SynthConfig, out: str | Path, *, progress: bool = True) -> Path:
    """Write a phantom cohort to ``out``; returns the path of its ``training.csv``.

    Refuses to write into a folder that already holds a cohort (``training.csv``) unless
    ``config.overwrite`` is set, so that no user data is replaced by accident.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder")
    if (out / "training.csv").exists() and not config.overwrite:
        raise InputError(f"{out} already holds a cohort (training.csv); choose another --out or set overwrite=true")
    out.mkdir(parents=True, exist_ok=True)
    from .._threads import available_cores

    workers = config.workers or available_cores()
    jobs = [(config, i, str(out)) for i in range(config.n)]
    from tqdm.auto import tqdm

    bar = tqdm(total=config.n, unit="patient", desc="synth", disable=not progress)
    rows = []
    try:
        if workers == 1:
            for job in jobs:
                rows.append(_render_patient(job))
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for row in pool.map(_render_patient, jobs, chunksize=1):
                    rows.append(row)
                    bar.update()
    finally:
        bar.close()
    dump_config(config, out / "synth_config.yaml")
    return schema.write_ra2_csv(out / "training.csv", rows)
