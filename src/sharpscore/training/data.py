"""Training data sources. Each turns a folder (or a generator) into :class:`Sample` records.

- :class:`PhantomSource` -- a phantom cohort, rendered once into a cache folder and read from disk.
- :class:`RA2DreamSource` -- the RA2-DREAM layout: ``{id}-{LH|RH|LF|RF}.jpg`` + ``training.csv``,
  with labelme landmark files beside the images when present.
- :class:`LabelmeSource` -- any folder of images with labelme point files of the same stem.
- :class:`LandmarkCSVSource` -- a long landmark table (``image_id,landmark,x_px,y_px``) such as the
  Digital Hand Atlas annotations, with a mapping of its names onto sharpscore's.
- :class:`NegativeSource` -- rendered non-hand/foot films (chest, pelvis, leg, knee) for the
  region head to learn "other".

Sources are configured in YAML (``data.sources`` of a training config) by ``type``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import Field

from .. import schema
from ..config import ConfigModel
from ..errors import ConfigError
from ..spatial import SpacingSource
from ..io import Radiograph, load_radiograph

__all__ = ["Sample", "PhantomSource", "RA2DreamSource", "LabelmeSource", "LandmarkCSVSource", "ManifestSource",
           "NegativeSource", "RealEditSource",
           "SourceConfig", "load_samples", "split_samples"]

log = logging.getLogger(__name__)
_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".dcm", ".mha")
_RA2_NAME = re.compile(r"^(?P<pid>.+)-(?P<region>LH|RH|LF|RF)$")


@dataclass
class Sample:
    """One training radiograph and what is known about it (pixel coordinates of the file)."""

    key: str
    patient_id: str
    region: str | None  # 'LH'/'RH'/'LF'/'RF', 'other', or None if unknown
    path: Path | None = None
    landmarks: dict[str, tuple[float, float]] | None = None
    grades: dict[str, dict[str, int | None]] | None = None
    spacing_mm: tuple[float, float] | None = None
    role: str = "train"
    source: str = "data"
    loader: Callable[[], Radiograph] | None = field(default=None, repr=False)
    group_id: str | None = None  # unit of patient-level splits when it differs from the patient id
    as_foot: bool = False  # a hand film standing in for a foot (schema.hand_as_foot; RealEditSource)

    @property
    def group(self) -> str:
        """What must never cross a split: the patient, or the real film edited copies come from."""
        return self.group_id or self.patient_id

    def load(self) -> Radiograph:
        rg = self.loader() if self.loader is not None else load_radiograph(self.path)
        if self.spacing_mm is not None and rg.spacing_mm is None:
            rg.spacing_mm, rg.spacing_source = tuple(self.spacing_mm), SpacingSource.DATASET
        return rg


class _SourceBase(ConfigModel):
    name: str | None = None  # shown in per-source validation metrics (default: the source type)
    repeat: int = Field(1, ge=1)  # oversample: each training sample appears this many times per epoch
    role: Literal["train", "val", "split"] = "split"
    include_ids: list[str] | None = None
    exclude_ids: list[str] = []
    regions: list[Literal["LH", "RH", "LF", "RF"]] = ["LH", "RH", "LF", "RF"]

    def _keep(self, patient_id: str) -> bool:
        if self.include_ids is not None and patient_id not in self.include_ids:
            return False
        return patient_id not in self.exclude_ids


class RA2DreamSource(_SourceBase):
    """RA2-DREAM layout folder: images named ``{Patient_ID}-{region}.*``, ``training.csv`` (optional
    for localiser training) and labelme landmarks beside the images (optional for scorer training)."""

    type: Literal["ra2"] = "ra2"
    root: str
    csv: str | None = "training.csv"
    require_landmarks: bool = False

    def samples(self) -> list[Sample]:
        root = Path(self.root)
        if not root.is_dir():
            raise ConfigError(f"data source {root}: no such folder")
        grades_by_patient: dict[str, dict[str, dict]] = {}
        csv_path = root / self.csv if self.csv else None
        if csv_path is not None and csv_path.exists():
            for row in schema.read_ra2_csv(csv_path, require_all=False):
                pid, records = schema.ra2_row_to_records(row, require_all=False)
                per: dict[str, dict] = {}
                for rec in records:
                    per.setdefault(rec.region, {})[rec.site] = {"erosion": rec.erosion, "jsn": rec.jsn}
                grades_by_patient[pid] = per
        from ..io.labelme import read_labelme_extra, sharpscore_names

        out = []
        for path in sorted(p for p in root.iterdir() if p.suffix.lower() in _IMAGE_EXT):
            m = _RA2_NAME.match(path.stem)
            if not m or m["region"] not in self.regions or not self._keep(m["pid"]):
                continue
            landmarks, spacing = None, None
            lm_file = path.with_suffix(".json")
            if lm_file.exists():
                landmarks, _, extra = read_labelme_extra(lm_file)
                # RA2-DREAM team files label joints "5_mcp_1", "mtp_3", ...: renamed to ours
                landmarks = sharpscore_names(landmarks, schema.region_kind(m["region"])) or None
                spacing = tuple(extra["spacing_mm"]) if extra.get("spacing_mm") else None
            elif self.require_landmarks:
                continue
            grades = grades_by_patient.get(m["pid"], {}).get(m["region"])
            out.append(Sample(key=path.stem, patient_id=m["pid"], region=m["region"], path=path,
                              landmarks=landmarks, grades=grades, spacing_mm=spacing, role=self.role))
        return out


class PhantomSource(_SourceBase):
    """A phantom cohort rendered with :func:`sharpscore.synth.generate_cohort` into ``cache_dir``
    (default: ``~/.cache/sharpscore/phantoms/<hash of the settings>``) on first use, then read from disk."""

    type: Literal["phantom"] = "phantom"
    n: int = 100
    seed: int = 0
    id_prefix: str = "SYN"
    acquisition: dict = {}
    disease: dict = {}
    cache_dir: str | None = None

    def _synth_config(self):
        from ..synth import SynthConfig

        return SynthConfig(n=self.n, seed=self.seed, regions=self.regions, id_prefix=self.id_prefix,
                           acquisition=self.acquisition, disease=self.disease)

    def folder(self) -> Path:
        cfg = self._synth_config()
        digest = hashlib.sha256(json.dumps(cfg.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:12]
        base = Path(self.cache_dir or os.environ.get("SHARPSCORE_CACHE", Path.home() / ".cache" / "sharpscore"))
        return base / "phantoms" / f"{self.id_prefix}{self.n}-s{self.seed}-{digest}"

    def samples(self) -> list[Sample]:
        from ..synth import generate_cohort

        folder = self.folder()
        if not (folder / "training.csv").exists():
            log.info("rendering phantom cohort into %s", folder)
            generate_cohort(self._synth_config(), folder, progress=False)
        return RA2DreamSource(root=str(folder), role=self.role, include_ids=self.include_ids,
                              exclude_ids=self.exclude_ids, regions=self.regions).samples()


class LabelmeSource(_SourceBase):
    """A folder of images with labelme point files of the same stem. The region comes from
    ``region``, else from an RA2-style file name (``...-LH``), else from the file's metadata."""

    type: Literal["labelme"] = "labelme"
    root: str
    region: Literal["LH", "RH", "LF", "RF"] | None = None
    spacing_mm: float | None = None
    name_map: dict[str, str] = {}

    def samples(self) -> list[Sample]:
        from ..io.labelme import read_labelme_extra

        root = Path(self.root)
        if not root.is_dir():
            raise ConfigError(f"data source {root}: no such folder")
        out = []
        for lm_file in sorted(root.glob("*.json")):
            image = next((lm_file.with_suffix(e) for e in _IMAGE_EXT if lm_file.with_suffix(e).exists()), None)
            if image is None:
                continue
            pts, _, extra = read_labelme_extra(lm_file)
            m = _RA2_NAME.match(lm_file.stem)
            region = self.region or (m["region"] if m else None) or extra.get("region")
            pid = m["pid"] if m else lm_file.stem
            if (region is not None and region not in self.regions) or not self._keep(pid):
                continue
            pts = {self.name_map.get(k, k): v for k, v in pts.items()}
            spacing = (self.spacing_mm, self.spacing_mm) if self.spacing_mm else (
                tuple(extra["spacing_mm"]) if extra.get("spacing_mm") else None)
            out.append(Sample(key=lm_file.stem, patient_id=pid, region=region, path=image, landmarks=pts,
                              spacing_mm=spacing, role=self.role))
        return out


class LandmarkCSVSource(_SourceBase):
    """A long landmark table ``image_id, landmark, x_px, y_px`` (extra columns ignored) with images
    ``{images}/{image_id}.{ext}``. ``name_map`` renames landmarks (unmapped names are dropped unless
    they already are sharpscore landmark names)."""

    type: Literal["landmark_csv"] = "landmark_csv"
    csv: str
    images: str
    region: Literal["LH", "RH", "LF", "RF"]
    spacing_mm: float | None = None
    name_map: dict[str, str] = {}
    extension: str = ".jpg"

    def samples(self) -> list[Sample]:
        import csv as _csv

        path = Path(self.csv)
        if not path.is_file():
            raise ConfigError(f"data source {path}: no such file")
        valid = set(schema.landmarks(self.region))
        table: dict[str, dict[str, tuple[float, float]]] = {}
        with path.open(newline="") as fh:
            for row in _csv.DictReader(fh):
                name = self.name_map.get(row["landmark"], row["landmark"])
                if name in valid:
                    table.setdefault(str(row["image_id"]), {})[name] = (float(row["x_px"]), float(row["y_px"]))
        out = []
        for image_id, pts in sorted(table.items()):
            image = Path(self.images) / f"{image_id}{self.extension}"
            if not image.exists() or not self._keep(image_id):
                continue
            spacing = (self.spacing_mm, self.spacing_mm) if self.spacing_mm else None
            out.append(Sample(key=f"{path.stem}-{image_id}", patient_id=image_id, region=self.region, path=image,
                              landmarks=pts, spacing_mm=spacing, role=self.role))
        return out


class ManifestSource(_SourceBase):
    """Any cohort listed in a CSV: one row per radiograph with ``path`` (absolute, or relative to the
    CSV), ``patient``, ``region`` (LH/RH/LF/RF) and that region's RA2-DREAM score columns
    (``LH_mcp_E__2``, ...; other regions' columns and extra columns are ignored, blanks are unknown
    grades). Landmarks come from a labelme file beside the image when present."""

    type: Literal["manifest"] = "manifest"
    csv: str
    spacing_mm: float | None = None

    def samples(self) -> list[Sample]:
        import csv as _csv

        from ..io.labelme import read_labelme_extra, sharpscore_names

        path = Path(self.csv)
        if not path.is_file():
            raise ConfigError(f"data source {path}: no such file")
        out = []
        with path.open(newline="") as fh:
            reader = _csv.DictReader(fh)
            missing = {"path", "patient", "region"} - set(reader.fieldnames or [])
            if missing:
                raise ConfigError(f"{path}: manifest lacks column(s) {sorted(missing)}")
            for line, row in enumerate(reader, start=2):
                region = row["region"].strip()
                if region not in schema.REGIONS:
                    raise ConfigError(f"{path}, line {line}: region {region!r} is not one of LH, RH, LF, RF")
                pid = row["patient"].strip()
                if region not in self.regions or not self._keep(pid):
                    continue
                image = Path(row["path"])
                image = image if image.is_absolute() else path.parent / image
                grades: dict[str, dict[str, int | None]] = {}
                for site in schema.sites(region):
                    entry = {}
                    for measure in ("erosion", "jsn"):
                        if site.max_for(measure) == 0:
                            entry[measure] = None
                            continue
                        raw = (row.get(schema.ra2_column(region, site.name, measure)) or "").strip()
                        entry[measure] = int(round(float(raw))) if raw else None
                    grades[site.name] = entry
                landmarks, spacing = None, None
                if image.with_suffix(".json").exists():
                    landmarks, _, extra = read_labelme_extra(image.with_suffix(".json"))
                    landmarks = sharpscore_names(landmarks, schema.region_kind(region)) or None
                    spacing = tuple(extra["spacing_mm"]) if extra.get("spacing_mm") else None
                if self.spacing_mm:
                    spacing = (self.spacing_mm, self.spacing_mm)
                out.append(Sample(key=f"{pid}-{region}", patient_id=pid, region=region, path=image,
                                  landmarks=landmarks, grades=grades, spacing_mm=spacing, role=self.role))
        return out


class NegativeSource(_SourceBase):
    """Rendered films that are not hands or feet (chest, pelvis, leg, knee): the "other" class."""

    type: Literal["negatives"] = "negatives"
    n: int = 100
    seed: int = 0

    def samples(self) -> list[Sample]:
        from ..synth.other import render_other

        out = []
        for i in range(self.n):
            out.append(Sample(key=f"other-{self.seed}-{i}", patient_id=f"other-{self.seed}-{i}", region="other",
                              role=self.role, loader=lambda i=i: render_other(seed=self.seed * 100_003 + i)))
        return out


class RealEditSource(_SourceBase):
    """Real films with disease drawn in (:mod:`sharpscore.synth.edit`): each film of ``base`` (a
    ``landmark_csv``, ``labelme`` or ``manifest`` source of unscored, healthy films) gives
    ``healthy_copies`` unedited copies graded 0 and ``copies`` edited ones with grades from the real
    prior (:func:`~sharpscore.synth.real_prior.sample_real_grades`). All copies of a film keep its
    patient id, so a patient-level split never puts one film on both sides. Landmarks the base lacks
    come from the shipped localiser. Edits are drawn at ``edit_mm_per_px`` (the scorer's cache
    spacing by default), which is where the training crops are taken."""

    type: Literal["real_edit"] = "real_edit"
    base: Annotated[Union[LandmarkCSVSource, LabelmeSource, ManifestSource], Field(discriminator="type")]
    copies: int = Field(4, ge=0)
    healthy_copies: int = Field(1, ge=0)
    seed: int = 0
    severity_shift: float = 1.0
    osteopenia: float = Field(0.15, ge=0, le=1)
    swelling: float = Field(0.15, ge=0, le=1)
    edit_mm_per_px: float = Field(0.15, gt=0)
    localizer: str = "default"
    # 'adult': narrowing graded against a healthy adult joint space (synth.edit.to_adult_reference);
    # then every copy but the first healthy one has its wide (young) joint spaces closed to adult ones
    jsn_reference: Literal["film", "adult", "adult-digits"] = "film"
    # True: hand films stand in for feet (schema.hand_as_foot): MCP1-5 and the thumb IP are scored as
    # MTP1-5 and the hallux IP, with foot grades (erosion 0-10 over both bones) from the real prior.
    # Real bone texture at the foot sites, not real foot anatomy: the model still never saw a real foot.
    as_foot: bool = False
    # Probability that an edited or adult-reference copy (every copy but the first healthy one) is
    # drawn on the film with its open growth plates closed first (synth.mature): children's films
    # made to show adult, fused bone ends, as every RA film does.
    mature: float = Field(0.0, ge=0, le=1)
    # Added to the copies' names (patient ids): two sources editing the same films must not share them.
    id_suffix: str = Field("", pattern=r"^[A-Za-z0-9_-]*$")

    def samples(self) -> list[Sample]:
        from ..synth.real_prior import sample_real_grades

        bases = [b for b in self.base.samples() if self._keep(b.patient_id) and b.region in self.regions]
        out = []
        loc = None
        for bi, b in enumerate(bases):
            needed = set(schema.FOOT_HOMOLOGUES.values()) if self.as_foot else \
                {site.name for site in schema.sites(b.region)}
            if b.landmarks is None or not needed <= set(b.landmarks):
                loc = loc or _shipped_localizer(self.localizer)
                try:
                    found = loc.predict(b.load())
                except Exception as exc:  # noqa: BLE001 - an unreadable film is skipped, not fatal
                    log.warning("%s: not localised (%s); skipped", b.key, exc)
                    continue
                b.landmarks = {**{k: v[:2] for k, v in found.landmarks.items()}, **(b.landmarks or {})}
                if b.spacing_mm is None and found.spacing_mm is not None:
                    b.spacing_mm = tuple(found.spacing_mm)
            region, suffix = b.region, self.id_suffix
            hand = (dict(b.landmarks), b.region)  # what the growth plates are found from
            if self.as_foot:
                if schema.region_kind(b.region) != "hand":
                    continue
                b.landmarks, region = schema.hand_as_foot(b.landmarks, b.region)
                suffix = "-asfoot" + self.id_suffix
            base_cache = _OneFilm(b, self.edit_mm_per_px, self.healthy_copies + self.copies, hand=hand)
            for k in range(self.healthy_copies + self.copies):
                rng = np.random.default_rng([self.seed, bi, k])
                if k < self.healthy_copies:
                    grades = sample_real_grades(rng, (region,), healthy_fraction=1.0)[region]
                else:
                    grades = sample_real_grades(rng, (region,), severity_shift=self.severity_shift)[region]
                sample = Sample(key=f"{b.key}{suffix}-edit{k}", patient_id=f"{b.patient_id}{suffix}-edit{k}",
                                region=region,
                                landmarks=dict(b.landmarks), grades=grades, role=self.role, group_id=b.patient_id,
                                as_foot=self.as_foot)
                mature = k > 0 and self.mature > 0 and rng.random() < self.mature
                sample.loader = _EditedFilm(base_cache, sample, grades, int(rng.integers(2**31)),
                                            self.osteopenia, self.swelling, edited=k >= self.healthy_copies,
                                            jsn_reference="film" if k == 0 else self.jsn_reference, mature=mature)
                out.append(sample)
        return out


def _shipped_localizer(name: str):
    from ..models import load_localizer

    return load_localizer(name)


class _OneFilm:
    """The base film shrunk to the edit spacing, loaded once and kept while its copies are read;
    with its growth plates closed (:meth:`get_mature`, found from the ``hand`` landmarks and region
    it was given) made once too."""

    def __init__(self, sample: Sample, mm_per_px: float, uses: int, hand: tuple[dict, str] | None = None):
        self.sample, self.mm_per_px, self.hand = sample, mm_per_px, hand
        self._held = None
        self._mature = None
        self.sample_shape: tuple[int, ...] | None = None  # the film's shape before shrinking (set by get)
        self.remaining = uses  # copies still to read; the film is released after the last

    def release_one(self) -> None:
        self.remaining -= 1
        if self.remaining <= 0:
            self._held = self._mature = None

    def get_mature(self):
        """``(radiograph, landmarks)`` as :meth:`get`, the pixels with open growth plates closed."""
        import copy
        import zlib

        from ..synth.mature import close_growth_plates

        rg, lm = self.get()
        if self._mature is None:
            hand_lm, hand_region = self.hand or (self.sample.landmarks, self.sample.region)
            fy, fx = (n / m for n, m in zip(self.sample_shape, rg.pixels.shape))
            scaled = {k: (v[0] / fx, v[1] / fy) for k, v in hand_lm.items()}
            out = copy.copy(rg)
            out.pixels = close_growth_plates(rg.pixels, scaled, rg.spacing_mm, hand_region,
                                             seed=zlib.crc32(self.sample.key.encode())).pixels
            self._mature = (out, lm)
        return self._mature

    def get(self):
        if self._held is None:
            from ..spatial import as_spacing

            rg = self.sample.load()
            spacing = rg.spacing_mm
            if spacing is None:
                from ..localize.geometry import estimate_spacing

                est = estimate_spacing(self.sample.landmarks, schema.region_kind(self.sample.region))
                if est is None:
                    raise ConfigError(f"{self.sample.key}: spacing unknown and not estimable")
                spacing = (est, est)
            sp = as_spacing(spacing)
            f = max(1.0, self.mm_per_px / sp.iso)
            pix = np.asarray(rg.pixels, np.float32)
            if f > 1.0:
                from scipy.ndimage import gaussian_filter, zoom

                pix = zoom(gaussian_filter(pix, 0.4 * f), 1.0 / f, order=1)
            fy, fx = rg.pixels.shape[0] / pix.shape[0], rg.pixels.shape[1] / pix.shape[1]
            self.sample_shape = rg.pixels.shape
            lm = {k: (v[0] / fx, v[1] / fy) for k, v in self.sample.landmarks.items()}
            rg.pixels, rg.spacing_mm = pix, (sp.row * fy, sp.col * fx)
            self._held = (rg, lm)
        return self._held


class _EditedFilm:
    """Loader of one edited copy: edits the held base film and sets the copy's landmarks and its
    grades to those the edit actually drew (a defect that found no bone edge, or a joint with no
    visible space to narrow, is not a label)."""

    def __init__(self, base: _OneFilm, sample: Sample, grades: dict, seed: int, osteopenia: float, swelling: float,
                 edited: bool, jsn_reference: str = "film", mature: bool = False):
        self.base, self.sample, self.grades, self.seed = base, sample, grades, seed
        self.osteopenia, self.swelling, self.edited = osteopenia, swelling, edited
        self.jsn_reference, self.mature = jsn_reference, mature

    def __call__(self) -> Radiograph:
        import copy

        from ..synth.edit import EditNuisances, edit_radiograph

        rg, lm = self.base.get_mature() if self.mature else self.base.get()
        out = copy.copy(rg)
        if self.edited or self.jsn_reference != "film":
            res = edit_radiograph(rg.pixels, lm, rg.spacing_mm, self.sample.region, self.grades, seed=self.seed,
                                  nuisances=EditNuisances(self.osteopenia, self.swelling) if self.edited else None,
                                  jsn_reference=self.jsn_reference)
            out.pixels = res.pixels
            self.sample.landmarks = {k: v[:2] for k, v in res.landmarks.items()}
            self.sample.grades = {site: dict(g) for site, g in res.grades.items()}
        else:
            self.sample.landmarks = dict(lm)
        self.base.release_one()
        return out


SourceConfig = Annotated[Union[PhantomSource, RA2DreamSource, LabelmeSource, LandmarkCSVSource, ManifestSource,
                               NegativeSource, RealEditSource],
                         Field(discriminator="type")]


def load_samples(sources: list) -> list[Sample]:
    """All samples of the configured sources, in a deterministic order."""
    out: list[Sample] = []
    for src in sources:
        got = src.samples()
        for s in got:
            s.source = src.name or src.type
        log.info("%s source: %d samples", src.name or src.type, len(got))
        out.extend(got)
        if src.repeat > 1:  # the same Sample objects again: datasets cache each image once
            out.extend(s for s in got * (src.repeat - 1) if s.role != "val")
    return out


def split_samples(samples: list[Sample], val_fraction: float, seed: int, *, folds: int | None = None,
                  fold: int = 0) -> tuple[list[Sample], list[Sample]]:
    """Train/validation lists. Samples with role ``'split'`` are split at patient level (all images
    of one patient on the same side); ``'train'``/``'val'`` roles are kept as given. With ``folds``
    the patients are dealt into that many folds and fold ``fold`` is the validation set (k-fold
    cross-validation: run once per fold)."""
    patients = sorted({s.group for s in samples if s.role == "split"})
    rng = np.random.default_rng(seed)
    order = rng.permutation(patients).tolist() if patients else []
    if folds:
        if not 0 <= fold < folds:
            raise ConfigError(f"data.fold must be in 0..{folds - 1}, got {fold}")
        val_patients = set(order[fold::folds])
    else:
        n_val = int(round(val_fraction * len(patients)))
        val_patients = set(order[:n_val]) if n_val else set()
    train = [s for s in samples if s.role == "train" or (s.role == "split" and s.group not in val_patients)]
    val = [s for s in samples if s.role == "val" or (s.role == "split" and s.group in val_patients)]
    return train, val
