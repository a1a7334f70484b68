"""DICOM outputs for PACS (optional extra ``sharpscore[dicom]``, uses highdicom).

- a Comprehensive 3D SR holding a TID 1500 measurement report: one planar-ROI measurement group per
  scored joint, with its image coordinates (a POINT on the source instance) and its expected erosion
  and JSN scores, plus the region totals;
- a Secondary Capture of the overlay PNG in the same study, with the source's PatientOrientation
  (left empty, as the standard's Type 2 allows, when the source has none: it is never guessed).

Both reference the source instance, so they file next to it in a PACS. Codes for the SvdH scores use
the private coding scheme ``99SHARPSCORE`` (no standard codes exist for them); each joint's finding
site is a standard SNOMED CT anatomy code with its laterality (finger joint, wrist joint, scaphoid,
distal radius or ulna, metacarpal, foot), the exact SvdH joint named by the private finding type.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .._fsutil import atomic_write
from ..errors import InputError, SharpScoreError

__all__ = ["structured_report", "overlay_capture", "write_dicom_outputs"]

log = logging.getLogger(__name__)
_SCHEME = "99SHARPSCORE"


def _hd():
    try:
        import highdicom
    except ImportError:
        raise SharpScoreError("DICOM SR output needs the optional extra: pip install 'sharpscore[dicom]'") from None
    return highdicom


def _source_dataset(path: str | Path):
    import pydicom

    try:
        ds = pydicom.dcmread(path)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: DICOM SR needs a DICOM source ({type(exc).__name__})") from None
    return ds


# Patient and study attributes highdicom copies from the evidence; DICOM lets them be empty (type 2)
# but not absent, and many exports drop them.
_TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
          "ReferringPhysicianName", "StudyID", "AccessionNumber")


def _with_type2_attributes(ds):
    for keyword in _TYPE2:
        if keyword not in ds:
            setattr(ds, keyword, "")
    return ds


def _anatomy(codes, region: str, site: str):
    """The standard (SNOMED CT, from pydicom's code dictionary) anatomy of an SvdH site: finger
    joint, wrist joint, the bone of a wrist erosion site where a code exists, or foot. The exact
    SvdH joint stays in the private finding type beside it."""
    from .. import schema

    if schema.region_kind(region) == "foot":
        return codes.SCT.Foot
    bones = {"mc1": codes.SCT.Metacarpal, "nav": codes.SCT.Scaphoid, "radius": codes.SCT.DistalRadius,
             "ulna": codes.SCT.DistalUlna}
    if site in bones:
        return bones[site]
    return codes.SCT.FingerJoint if schema.site(region, site).family == "finger" else codes.SCT.WristJoint


def structured_report(result, source_ds):
    """A highdicom ``Comprehensive3DSR`` (TID 1500) of ``result`` referencing ``source_ds``: per
    joint the expected erosion and JSN scores and the joint's review flags (qualitative
    evaluations); per region the totals with their interval bounds, whether a reader must review
    (SNOMED CT Yes/No) and the film's flags; every group names the algorithm and its version."""
    hd = _hd()
    from pydicom.sr.codedict import codes

    from .. import __version__
    from ..flags import parse_known

    def concept(value: str, meaning: str):
        return hd.sr.CodedConcept(value=value, scheme_designator=_SCHEME, meaning=meaning)

    unit = hd.sr.CodedConcept(value="{score}", scheme_designator="UCUM", meaning="score")
    device = hd.sr.DeviceObserverIdentifyingAttributes(uid=hd.UID(), name="sharpscore", manufacturer_name="sharpscore",
                                                       model_name=f"{result.model.get('scorer', 'default')} {__version__}")
    context = hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
        observer_type=codes.DCM.Device, observer_identifying_attributes=device))
    src = hd.sr.SourceImageForRegion(referenced_sop_class_uid=source_ds.SOPClassUID,
                                     referenced_sop_instance_uid=source_ds.SOPInstanceUID)
    algorithm = hd.sr.AlgorithmIdentification(
        name="sharpscore", version=__version__,
        parameters=[f"scorer={result.model.get('scorer', 'default')}", f"localizer={result.model.get('localizer', 'default')}"])
    flag_name = concept("FLAG", "sharpscore review flag")

    def flag_evaluations(flags) -> list:
        return [hd.sr.QualitativeEvaluation(name=flag_name, value=concept(f.kind.value.upper(), str(f))) for f in flags]

    parsed = parse_known(result.flags)
    groups = []
    for j in result.joints:
        if j.site not in result.landmarks:
            continue
        x, y, _ = result.landmarks[j.site]
        region = hd.sr.ImageRegion(graphic_type=hd.sr.GraphicTypeValues.POINT, graphic_data=np.array([[x + 0.5, y + 0.5]]),
                                   source_image=src)
        measurements = []
        for measure, label in (("erosion", "SvdH erosion score"), ("jsn", "SvdH joint space narrowing score")):
            v = getattr(j, measure)
            if v is not None:
                measurements.append(hd.sr.Measurement(name=concept(measure.upper(), label), value=round(float(v), 3),
                                                      unit=unit))
        groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=f"{result.region} {j.site}"),
            referenced_region=region, finding_type=concept(f"JOINT-{j.site.upper()}", f"{result.region} {j.site} joint"),
            finding_sites=[hd.sr.FindingSite(anatomic_location=_anatomy(codes, result.region, j.site),
                                             laterality=codes.SCT.Right if result.region[0] == "R" else codes.SCT.Left)],
            measurements=measurements, algorithm_id=algorithm,
            qualitative_evaluations=flag_evaluations([f for f in parsed if f.site == j.site]) or None))
    totals = []
    pct = int(round(100 * float(result.coverage)))
    for m in ("erosion", "jsn", "total"):
        totals.append(hd.sr.Measurement(name=concept(f"TOTAL-{m.upper()}", f"SvdH {m} region total"),
                                        value=round(float(getattr(result, m)), 3), unit=unit))
        if m in result.intervals:
            lo, hi = result.intervals[m]
            totals.append(hd.sr.Measurement(name=concept(f"TOTAL-{m.upper()}-LO", f"SvdH {m} total, {pct}% interval lower bound"),
                                            value=round(float(lo), 3), unit=unit))
            totals.append(hd.sr.Measurement(name=concept(f"TOTAL-{m.upper()}-HI", f"SvdH {m} total, {pct}% interval upper bound"),
                                            value=round(float(hi), 3), unit=unit))
    review = hd.sr.QualitativeEvaluation(name=concept("REVIEW", "Reader review needed"),
                                         value=codes.SCT.Yes if result.needs_review else codes.SCT.No)
    groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=f"{result.region} totals"),
        measurements=totals, algorithm_id=algorithm,
        qualitative_evaluations=[review] + flag_evaluations([f for f in parsed if not f.site])))
    report = hd.sr.MeasurementReport(observation_context=context,
                                     procedure_reported=concept("SVDH", "Sharp/van der Heijde radiographic scoring"),
                                     imaging_measurements=groups)
    sr = hd.sr.Comprehensive3DSR(evidence=[source_ds], content=report, series_instance_uid=hd.UID(), series_number=901,
                                 sop_instance_uid=hd.UID(), instance_number=1, manufacturer="sharpscore",
                                 series_description="sharpscore SvdH (research use)")
    sr.CodingSchemeIdentificationSequence = [_private_scheme()]
    return sr


def _private_scheme():
    """The private coding scheme declared (Coding Scheme Identification, PS3.3 C.12.1.1.2.2)."""
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodingSchemeDesignator = _SCHEME
    item.CodingSchemeName = "sharpscore Sharp/van der Heijde joints, measures and review flags"
    item.CodingSchemeResponsibleOrganization = "sharpscore"
    return item


def overlay_capture(result, source_ds, png_path: str | Path):
    """A Secondary Capture (RGB) of an overlay PNG, in the source's study. Its PatientOrientation is
    the source's; when the source has none it is present and empty (Type 2), not guessed."""
    hd = _hd()
    from PIL import Image

    orientation = tuple(str(v) for v in (source_ds.get("PatientOrientation") or []))
    known = len(orientation) == 2 and all(orientation)
    rgb = np.asarray(Image.open(png_path).convert("RGB"))
    sc = hd.sc.SCImage.from_ref_dataset(ref_dataset=source_ds, pixel_array=rgb, photometric_interpretation="RGB",
                                        bits_allocated=8, coordinate_system="PATIENT", series_instance_uid=hd.UID(),
                                        series_number=902, sop_instance_uid=hd.UID(), instance_number=1,
                                        manufacturer="sharpscore",
                                        # highdicom requires a value; an unknown one is emptied below
                                        patient_orientation=orientation if known else ("L", "F"),
                                        series_description="sharpscore overlay")
    if not known:
        sc.PatientOrientation = None  # Type 2: present, empty (unknown), never invented
    # General Series Laterality (Type 2C for a paired body part): the source's own, else empty
    sc.Laterality = str(source_ds.get("Laterality") or source_ds.get("ImageLaterality") or "") or None
    return sc


def write_dicom_outputs(result, source_path: str | Path, folder: str | Path, key: str) -> list[Path]:
    """``{key}-sr.dcm`` and ``{key}-overlay.dcm`` in ``folder``; non-DICOM sources are skipped with a warning."""
    from ..io import sniff_format

    if sniff_format(source_path) != "dicom":
        log.warning("%s: not DICOM, so no DICOM SR is written for it", source_path)
        return []
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ds = _with_type2_attributes(_source_dataset(source_path))
    sr = structured_report(result, ds)
    out = [atomic_write(folder / f"{key}-sr.dcm", lambda p: sr.save_as(p, enforce_file_format=True))]
    png = folder / f".{key}-overlay.png"
    result.save_overlay(png)
    try:
        sc = overlay_capture(result, ds, png)
        out.append(atomic_write(folder / f"{key}-overlay.dcm", lambda p: sc.save_as(p, enforce_file_format=True)))
    finally:
        png.unlink(missing_ok=True)
    return out
