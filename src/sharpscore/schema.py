"""The Sharp/van der Heijde (SvdH) joint catalogue: the single source of truth.

Everything else in sharpscore (the phantom renderer, the localiser, the scorer, the evaluation
layer, the CSV readers and writers) takes site names, grade ranges and RA2-DREAM column names from
here.

Site names follow the RA2-DREAM challenge naming. A *site* is one place the SvdH method scores;
some sites are scored for erosion only (``ip`` of the hand excepted from JSN, the wrist bones), some
for joint-space narrowing only (``cmc3``, ``mna`` ...), many for both. *Landmarks* are the points the
localiser finds: every site plus the hand DIP joints (``dip2``-``dip5``), which SvdH does not score
but which anchor the finger geometry.

>>> from sharpscore import schema
>>> schema.MAX_EROSION, schema.MAX_JSN, schema.MAX_TOTAL
(280, 168, 448)
>>> schema.site("LH", "mna").long_name
'multangular-navicular (scaphotrapezial) joint'
>>> schema.ra2_column("RF", "mtp3", "jsn")
'RF_mtp_J__3'
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import SchemaError

__all__ = [
    "REGIONS",
    "HAND_REGIONS",
    "FOOT_REGIONS",
    "Site",
    "JointRecord",
    "SITES",
    "HAND_SITES",
    "FOOT_SITES",
    "HAND_LANDMARKS",
    "FOOT_LANDMARKS",
    "MAX_EROSION",
    "MAX_JSN",
    "MAX_TOTAL",
    "RA2_ID_COLUMN",
    "RA2_TOTAL_COLUMNS",
    "RA2_JOINT_COLUMNS",
    "PREDICTION_EXTRA_COLUMNS",
    "RA2_COLUMNS",
    "region_kind",
    "region_side",
    "sites",
    "site",
    "landmarks",
    "FOOT_HOMOLOGUES",
    "hand_as_foot",
    "ra2_column",
    "parse_ra2_column",
    "records_to_ra2_row",
    "ra2_row_to_records",
    "validate_ra2_row",
    "read_ra2_csv",
    "write_ra2_csv",
]

Region = Literal["LH", "RH", "LF", "RF"]
Kind = Literal["hand", "foot"]
Measure = Literal["erosion", "jsn"]

REGIONS: tuple[str, ...] = ("LH", "RH", "LF", "RF")
HAND_REGIONS: tuple[str, ...] = ("LH", "RH")
FOOT_REGIONS: tuple[str, ...] = ("LF", "RF")


@dataclass(frozen=True)
class Site:
    """One SvdH scoring site of a hand or a foot (the same for left and right).

    ``erosion_max`` / ``jsn_max`` are 0 where the SvdH method does not score that measure there.
    ``family`` groups sites that look alike on a radiograph (``finger``, ``wrist``, ``foot``).
    """

    name: str
    kind: str
    long_name: str
    family: str
    erosion_max: int
    jsn_max: int
    ra2_erosion: str | None  # RA2-DREAM column stem without the region prefix, e.g. "mcp_E__ip"
    ra2_jsn: str | None

    @property
    def scores_erosion(self) -> bool:
        return self.erosion_max > 0

    @property
    def scores_jsn(self) -> bool:
        return self.jsn_max > 0

    def max_for(self, measure: str) -> int:
        return self.erosion_max if measure == "erosion" else self.jsn_max


def _hand_sites() -> tuple[Site, ...]:
    out = [Site("ip", "hand", "thumb interphalangeal joint", "finger", 5, 0, "mcp_E__ip", None)]
    for d in range(2, 6):
        out.append(Site(f"pip{d}", "hand", f"proximal interphalangeal joint of finger {d}",
                        "finger", 5, 4, f"pip_E__{d}", f"pip_J__{d}"))
    for d in range(1, 6):
        out.append(Site(f"mcp{d}", "hand", f"metacarpophalangeal joint {d}",
                        "finger", 5, 4, f"mcp_E__{d}", f"mcp_J__{d}"))
    wrist_erosion = [
        ("mc1", "base of the first metacarpal"),
        ("mul", "multangulum (trapezium and trapezoid)"),
        ("nav", "navicular (scaphoid)"),
        ("lunate", "lunate"),
        ("radius", "distal radius"),
        ("ulna", "distal ulna"),
    ]
    for name, long in wrist_erosion:
        out.append(Site(name, "hand", long, "wrist", 5, 0, f"wrist_E__{name}", None))
    wrist_jsn = [
        ("cmc3", "third carpometacarpal joint"),
        ("cmc4", "fourth carpometacarpal joint"),
        ("cmc5", "fifth carpometacarpal joint"),
        ("mna", "multangular-navicular (scaphotrapezial) joint"),
        ("capnlun", "capitate-navicular-lunate (midcarpal) joint"),
        ("radcar", "radiocarpal joint"),
    ]
    for name, long in wrist_jsn:
        out.append(Site(name, "hand", long, "wrist", 0, 4, None, f"wrist_J__{name}"))
    return tuple(out)


def _foot_sites() -> tuple[Site, ...]:
    out = [Site("ip", "foot", "hallux interphalangeal joint", "foot", 10, 4, "mtp_E__ip", "mtp_J__ip")]
    for d in range(1, 6):
        out.append(Site(f"mtp{d}", "foot", f"metatarsophalangeal joint {d}", "foot", 10, 4,
                        f"mtp_E__{d}", f"mtp_J__{d}"))
    return tuple(out)


HAND_SITES: tuple[Site, ...] = _hand_sites()
FOOT_SITES: tuple[Site, ...] = _foot_sites()
SITES: dict[str, tuple[Site, ...]] = {"hand": HAND_SITES, "foot": FOOT_SITES}

# Localisation landmarks: every scoring site plus the hand DIPs, in a fixed order (the channel
# order of localiser heatmaps and of landmark files written by sharpscore).
_HAND_DIPS = tuple(f"dip{d}" for d in range(2, 6))
HAND_LANDMARKS: tuple[str, ...] = (
    "ip", "pip2", "pip3", "pip4", "pip5", *_HAND_DIPS,
    "mcp1", "mcp2", "mcp3", "mcp4", "mcp5",
    "mc1", "cmc3", "cmc4", "cmc5", "mul", "mna", "nav", "capnlun", "lunate", "radcar", "radius", "ulna",
)
FOOT_LANDMARKS: tuple[str, ...] = tuple(s.name for s in FOOT_SITES)
LANDMARK_LONG_NAMES: dict[str, str] = {
    **{s.name: s.long_name for s in HAND_SITES},
    **{f"dip{d}": f"distal interphalangeal joint of finger {d}" for d in range(2, 6)},
}

_PER_HAND_EROSION = sum(s.erosion_max for s in HAND_SITES)  # 80
_PER_HAND_JSN = sum(s.jsn_max for s in HAND_SITES)  # 60
_PER_FOOT_EROSION = sum(s.erosion_max for s in FOOT_SITES)  # 60
_PER_FOOT_JSN = sum(s.jsn_max for s in FOOT_SITES)  # 24

MAX_EROSION: int = 2 * _PER_HAND_EROSION + 2 * _PER_FOOT_EROSION  # 280
MAX_JSN: int = 2 * _PER_HAND_JSN + 2 * _PER_FOOT_JSN  # 168
MAX_TOTAL: int = MAX_EROSION + MAX_JSN  # 448


def region_kind(region: str) -> str:
    """``'hand'`` for LH/RH, ``'foot'`` for LF/RF."""
    _check_region(region)
    return "hand" if region[1] == "H" else "foot"


def region_side(region: str) -> str:
    """``'L'`` or ``'R'``."""
    _check_region(region)
    return region[0]


def mirrored_region(region: str) -> str:
    """The same kind of region on the other side ('LH' <-> 'RH', 'LF' <-> 'RF')."""
    _check_region(region)
    return {"L": "R", "R": "L"}[region[0]] + region[1]


def region_max(region: str, measure: str | None = None) -> int:
    """Largest possible erosion, JSN (or, with ``measure=None``, total) score of one region."""
    kind = region_kind(region)
    ero = _PER_HAND_EROSION if kind == "hand" else _PER_FOOT_EROSION
    jsn = _PER_HAND_JSN if kind == "hand" else _PER_FOOT_JSN
    return {"erosion": ero, "jsn": jsn, None: ero + jsn}[measure]


def _check_region(region: str) -> None:
    if region not in REGIONS:
        raise SchemaError(f"unknown region {region!r}; expected one of {', '.join(REGIONS)}")


def sites(region_or_kind: str) -> tuple[Site, ...]:
    """The scoring sites of a region (``'LH'``) or kind (``'hand'``), in catalogue order."""
    kind = region_or_kind if region_or_kind in SITES else region_kind(region_or_kind)
    return SITES[kind]


def site(region_or_kind: str, name: str) -> Site:
    """Look one site up by name; raises :class:`SchemaError` naming the site if unknown."""
    for s in sites(region_or_kind):
        if s.name == name:
            return s
    known = ", ".join(s.name for s in sites(region_or_kind))
    raise SchemaError(f"unknown {region_or_kind} site {name!r}; known sites: {known}")


def landmarks(region_or_kind: str) -> tuple[str, ...]:
    """Localisation landmark names of a region or kind (hand sites + DIPs, or foot sites)."""
    kind = region_or_kind if region_or_kind in SITES else region_kind(region_or_kind)
    return HAND_LANDMARKS if kind == "hand" else FOOT_LANDMARKS


# The hand joint each foot site corresponds to: metatarsophalangeal <-> metacarpophalangeal, hallux
# IP <-> thumb IP (homologous joints: a long bone's head against a proximal phalanx's base).
FOOT_HOMOLOGUES: dict[str, str] = {"ip": "ip", **{f"mtp{d}": f"mcp{d}" for d in range(1, 6)}}


def hand_as_foot(landmarks: Mapping[str, tuple], region: str) -> tuple[dict[str, tuple], str]:
    """A hand's landmarks relabelled as the homologous foot sites of the same side
    (``FOOT_HOMOLOGUES``), and that foot's region: real finger joints standing in for foot joints
    (a proxy of real bone texture and joint margins, not of foot anatomy). Sites whose homologue
    has no landmark are left out."""
    if region_kind(region) != "hand":
        raise SchemaError(f"hand_as_foot needs a hand region, not {region!r}")
    out = {foot: tuple(landmarks[hand]) for foot, hand in FOOT_HOMOLOGUES.items() if hand in landmarks}
    return out, f"{region_side(region)}F"


# --------------------------------------------------------------------------------------------
# RA2-DREAM table layout
# --------------------------------------------------------------------------------------------

RA2_ID_COLUMN = "Patient_ID"
RA2_TOTAL_COLUMNS: tuple[str, ...] = ("Overall_Tol", "Overall_erosion", "Overall_narrowing")


def ra2_column(region: str, site_name: str, measure: str) -> str:
    """RA2-DREAM column of one region/site/measure, e.g. ``('LH', 'capnlun', 'jsn')`` ->
    ``'LH_wrist_J__capnlun'``."""
    s = site(region, site_name)
    if measure not in ("erosion", "jsn"):
        raise SchemaError(f"unknown measure {measure!r}; expected 'erosion' or 'jsn'")
    stem = s.ra2_erosion if measure == "erosion" else s.ra2_jsn
    if stem is None:
        raise SchemaError(f"the SvdH method does not score {measure} at {region} {site_name}")
    return f"{region}_{stem}"


def _build_columns() -> tuple[tuple[str, ...], dict[str, tuple[str, str, str]]]:
    cols: list[str] = []
    lookup: dict[str, tuple[str, str, str]] = {}
    # Order as in the challenge's training.csv: per region, erosion columns then narrowing columns.
    for region in REGIONS:
        for measure in ("erosion", "jsn"):
            for s in sites(region):
                if s.max_for(measure) > 0:
                    col = ra2_column(region, s.name, measure)
                    cols.append(col)
                    lookup[col] = (region, s.name, measure)
    return tuple(cols), lookup


RA2_JOINT_COLUMNS, _COLUMN_LOOKUP = _build_columns()
RA2_COLUMNS: tuple[str, ...] = (RA2_ID_COLUMN, *RA2_TOTAL_COLUMNS, *RA2_JOINT_COLUMNS)
# Columns a prediction file (``sharpscore score``'s scores.csv) adds to the RA2-DREAM layout: the
# totals' interval bounds, the regions scored (``LH;RH``), whether a reader must review any of them
# and how many flags they carry.
PREDICTION_EXTRA_COLUMNS: tuple[str, ...] = (
    *(f"{c}{s}" for c in ("Overall_erosion", "Overall_narrowing", "Overall_Tol") for s in ("_lo", "_hi")),
    "regions_scored", "needs_review", "n_flags")


def parse_ra2_column(column: str) -> tuple[str, str, str]:
    """``'RF_mtp_J__3'`` -> ``('RF', 'mtp3', 'jsn')``; unknown column: :class:`SchemaError`."""
    try:
        return _COLUMN_LOOKUP[column]
    except KeyError:
        raise SchemaError(f"unknown RA2-DREAM column {column!r}") from None


@dataclass(frozen=True)
class JointRecord:
    """Scores of one site of one region. ``None`` where the SvdH method does not score that
    measure at that site, or where the value is missing."""

    region: str
    site: str
    erosion: float | None = None
    jsn: float | None = None

    def __post_init__(self) -> None:
        s = site(self.region, self.site)
        for measure in ("erosion", "jsn"):
            value = getattr(self, measure)
            if value is None:
                continue
            top = s.max_for(measure)
            where = f"{self.region} {self.site} {measure}"
            if top == 0:
                raise SchemaError(f"{where}: the SvdH method does not score {measure} here")
            _check_value(value, top, where)


def _check_value(value: float, top: int, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise SchemaError(f"{where}: {value!r} is not a number")
    if not 0 <= value <= top:
        raise SchemaError(f"{where}: {value} is outside the SvdH range 0-{top}")


def records_to_ra2_row(patient_id: str, records: Iterable[JointRecord]) -> dict[str, object]:
    """One RA2-DREAM ``training.csv`` row (a dict in :data:`RA2_COLUMNS` order) from joint records.

    Columns of sites without a record are left ``None``; totals are summed over what is present.
    A site given twice raises :class:`SchemaError`.
    """
    row: dict[str, object] = {c: None for c in RA2_COLUMNS}
    row[RA2_ID_COLUMN] = str(patient_id)
    seen: set[tuple[str, str]] = set()
    for rec in records:
        key = (rec.region, rec.site)
        if key in seen:
            raise SchemaError(f"patient {patient_id}: {rec.region} {rec.site} given more than once")
        seen.add(key)
        for measure in ("erosion", "jsn"):
            value = getattr(rec, measure)
            if value is not None:
                row[ra2_column(rec.region, rec.site, measure)] = value
    ero = [row[c] for c in RA2_JOINT_COLUMNS if _COLUMN_LOOKUP[c][2] == "erosion" and row[c] is not None]
    jsn = [row[c] for c in RA2_JOINT_COLUMNS if _COLUMN_LOOKUP[c][2] == "jsn" and row[c] is not None]
    row["Overall_erosion"] = sum(ero)
    row["Overall_narrowing"] = sum(jsn)
    row["Overall_Tol"] = row["Overall_erosion"] + row["Overall_narrowing"]
    return row


def validate_ra2_row(row: Mapping[str, object], *, check_totals: bool = True,
                     require_all: bool = True, tolerance: float = 1e-6) -> dict[str, object]:
    """Check and normalise one RA2-DREAM row; returns it with numbers as floats (``None`` for blanks).

    Raises :class:`SchemaError` naming the offending column for an unknown column, a missing one
    (with ``require_all``), a value outside its SvdH range, or totals that disagree with the joints.
    """
    _check_columns(list(row), require_all)
    pid = row.get(RA2_ID_COLUMN)
    if pid is None or str(pid).strip() == "":
        raise SchemaError(f"row without a {RA2_ID_COLUMN}")
    out: dict[str, object] = {RA2_ID_COLUMN: str(pid).strip()}
    for col in RA2_COLUMNS[1:]:
        if col not in row:
            out[col] = None
            continue
        value = _as_number(row[col], f"patient {out[RA2_ID_COLUMN]}, column {col}")
        if value is not None and col in _COLUMN_LOOKUP:
            region, name, measure = _COLUMN_LOOKUP[col]
            _check_value(value, site(region, name).max_for(measure),
                         f"patient {out[RA2_ID_COLUMN]}, column {col}")
        out[col] = value
    _fill_blank_totals(out)
    if check_totals:
        _check_totals(out, tolerance)
    return out


def _check_columns(columns: list, require_all: bool, extra: set[str] = frozenset(), where: str = "") -> None:
    """Unknown columns (not RA2-DREAM, not ``extra``) and, with ``require_all``, missing ones."""
    if None in columns:  # csv.DictReader's key for the fields beyond the header's
        raise SchemaError(f"{where}a row has more fields than the header (an unquoted comma in a cell?)")
    unknown = [str(c) for c in columns if c not in RA2_COLUMNS and c not in extra]
    if unknown:
        raise SchemaError(f"{where}unknown RA2-DREAM column(s): {', '.join(unknown)}")
    if require_all:
        missing = [c for c in RA2_COLUMNS if c not in columns]
        if missing:
            shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
            raise SchemaError(f"{where}missing RA2-DREAM column(s): {shown}")


def _as_number(value: object, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip() in ("", "NA", "NaN", "nan"):
            return None
        try:
            return float(value)
        except ValueError:
            shown = repr(value) if len(value) <= 40 else repr(value[:40]) + f" ({len(value)} characters)"
            raise SchemaError(f"{where}: {shown} is not a number") from None
    if isinstance(value, bool):
        raise SchemaError(f"{where}: {value!r} is not a number")
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SchemaError(f"{where}: {value!r} is not a number") from None
    return None if math.isnan(f) else f


def _fill_blank_totals(row: dict[str, object]) -> None:
    """A blank total whose joints are all scored is their sum (a reader's table often leaves it out)."""
    sums: dict[str, float] = {"erosion": 0.0, "jsn": 0.0}
    complete = {"erosion": True, "jsn": True}
    for col in RA2_JOINT_COLUMNS:
        measure = _COLUMN_LOOKUP[col][2]
        if row.get(col) is None:
            complete[measure] = False
        else:
            sums[measure] += float(row[col])  # type: ignore[arg-type]
    for col, measures in (("Overall_erosion", ("erosion",)), ("Overall_narrowing", ("jsn",)),
                          ("Overall_Tol", ("erosion", "jsn"))):
        if row.get(col) is None and all(complete[m] for m in measures):
            row[col] = sum(sums[m] for m in measures)


def _check_totals(row: dict[str, object], tolerance: float) -> None:
    pid = row[RA2_ID_COLUMN]
    sums = {"erosion": 0.0, "jsn": 0.0}
    for col in RA2_JOINT_COLUMNS:
        if row.get(col) is not None:
            sums[_COLUMN_LOOKUP[col][2]] += float(row[col])  # type: ignore[arg-type]
    expected = {"Overall_erosion": sums["erosion"], "Overall_narrowing": sums["jsn"],
                "Overall_Tol": sums["erosion"] + sums["jsn"]}
    for col, want in expected.items():
        have = row.get(col)
        if have is not None and abs(float(have) - want) > tolerance * max(1.0, want):  # type: ignore[arg-type]
            raise SchemaError(f"patient {pid}: {col} is {have} but its joint columns sum to {want:g}")


def ra2_row_to_records(row: Mapping[str, object], **validate_kwargs: object) -> tuple[str, list[JointRecord]]:
    """``(patient_id, records)`` from one RA2-DREAM row; the inverse of :func:`records_to_ra2_row`.

    One record per region and site that has at least one score in the row.
    """
    clean = validate_ra2_row(row, **validate_kwargs)  # type: ignore[arg-type]
    records: list[JointRecord] = []
    for region in REGIONS:
        for s in sites(region):
            values: dict[str, float | None] = {}
            for measure in ("erosion", "jsn"):
                values[measure] = (clean.get(ra2_column(region, s.name, measure))  # type: ignore[assignment]
                                   if s.max_for(measure) else None)
            if values["erosion"] is not None or values["jsn"] is not None:
                records.append(JointRecord(region, s.name, values["erosion"], values["jsn"]))
    return str(clean[RA2_ID_COLUMN]), records


def read_ra2_csv(path: str | Path, *, require_all: bool = True, check_totals: bool = True,
                 extra_columns: Iterable[str] = ()) -> list[dict[str, object]]:
    """Read and validate an RA2-DREAM ``training.csv`` (or a prediction file in the same layout).

    ``extra_columns`` are metadata columns (e.g. ``sex``) kept as strings instead of rejected.
    Raises :class:`SchemaError` naming the file, line and column of the first problem.
    """
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"{path}: no such file")
    extra = set(extra_columns)
    rows: list[dict[str, object]] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            _check_columns(header, require_all, extra=extra, where=f"{path}: ")
            seen: set[str] = set()
            for line_no, raw in enumerate(reader, start=2):
                meta = {c: raw.pop(c) for c in list(raw) if c in extra}
                try:
                    row = validate_ra2_row(raw, check_totals=check_totals, require_all=require_all)
                except SchemaError as exc:
                    raise SchemaError(f"{path}, line {line_no}: {exc}") from None
                if row[RA2_ID_COLUMN] in seen:
                    raise SchemaError(f"{path}, line {line_no}: patient {row[RA2_ID_COLUMN]} appears twice")
                seen.add(row[RA2_ID_COLUMN])  # type: ignore[arg-type]
                row.update(meta)
                rows.append(row)
    except UnicodeDecodeError:
        raise SchemaError(f"{path}: not a UTF-8 text file; save the table as UTF-8 CSV") from None
    except csv.Error as exc:
        raise SchemaError(f"{path}: not a readable CSV table ({exc})") from None
    return rows


def write_ra2_csv(path: str | Path, rows: Iterable[Mapping[str, object]],
                  extra_columns: Iterable[str] = ()) -> Path:
    """Write rows in the RA2-DREAM layout (``RA2_COLUMNS`` order, blanks for ``None``).

    Integers are written without a decimal point so a truth table round-trips byte for byte.
    """
    from ._fsutil import atomic_write

    extra = list(extra_columns)
    rows = list(rows)

    def _write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([*RA2_COLUMNS, *extra])
            for row in rows:
                writer.writerow([_fmt(row.get(c)) for c in (*RA2_COLUMNS, *extra)])

    return atomic_write(path, _write)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return csv_text(value)
    return str(value)


def csv_text(text: str) -> str:
    """A text cell that a spreadsheet will not run as a formula (``=``, ``+``, ``-``, ``@``, tab or
    carriage return first get a leading apostrophe, as OWASP recommends)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
