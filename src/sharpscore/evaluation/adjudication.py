"""A second reader, checked joint by joint: where a human's grade falls outside the model's set.

For trials: a reader's scores (RA2-DREAM layout) against the per-film results of ``sharpscore
score`` (``radiographs/*.json``: every joint's prediction set at the calibrated coverage). A reader
grade outside the model's set is a disagreement the model is confident about: one of the two is
wrong, and an adjudicator looks. Two readers can be compared the same way (grades more than
``tolerance`` apart).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from .. import schema
from ..errors import InputError

__all__ = ["adjudication_list", "reader_vs_reader", "load_results"]


def load_results(folder: str | Path) -> dict[tuple[str, str], dict]:
    """``{(patient_id, region): film result}`` from a ``sharpscore score`` results folder."""
    root = Path(folder)
    files = sorted((root / "radiographs").glob("*.json")) if (root / "radiographs").is_dir() else []
    if not files:
        raise InputError(f"{root}: no sharpscore results (radiographs/*.json); give the --out folder of "
                         "`sharpscore score`")
    out = {}
    for f in files:
        doc = json.loads(f.read_text())
        out[(str(doc["patient_id"]), str(doc.get("row_region") or doc["region"]))] = doc
    return out


def adjudication_list(reader_rows: Iterable[Mapping], results: Mapping[tuple[str, str], dict]) -> dict:
    """Every reader grade compared with the model's prediction set at that joint.

    Returns ``{"rows": [...], "summary": {...}}``. Each row has ``patient_id``, ``region``, ``site``,
    ``measure``, ``reader``, ``model_expected``, ``model_set`` and ``outside_set``. The summary holds
    how many grades were compared, the share inside the model's sets (the calibrated coverage is the
    share expected if the reader and the model agree), and the patients and films with no result."""
    rows, missing = [], []
    for r in reader_rows:
        pid = str(r[schema.RA2_ID_COLUMN])
        for region in schema.REGIONS:
            doc = results.get((pid, region))
            cols = [c for c in schema.RA2_JOINT_COLUMNS if c.startswith(f"{region}_")]
            if doc is None:
                if any(r.get(c) is not None for c in cols):
                    missing.append(f"{pid}-{region}")
                continue
            joints = {j["site"]: j for j in doc["joints"]}
            for s in schema.sites(region):
                for m in ("erosion", "jsn"):
                    if not s.max_for(m):
                        continue
                    grade = r.get(schema.ra2_column(region, s.name, m))
                    j = joints.get(s.name)
                    if grade is None or j is None or j.get(f"{m}_set") is None:
                        continue
                    g = int(round(float(grade)))
                    sset = list(j[f"{m}_set"])
                    rows.append({"patient_id": pid, "region": region, "site": s.name, "measure": m, "reader": g,
                                 "model_expected": round(float(j[m]), 3), "model_set": sset,
                                 "outside_set": g not in sset})
    inside = [not r["outside_set"] for r in rows]
    summary = {"grades_compared": len(rows), "inside_model_set": round(float(np.mean(inside)), 4) if rows else None,
               "outside_model_set": int(len(rows) - sum(inside)),
               "patients_with_outside": len({r["patient_id"] for r in rows if r["outside_set"]}),
               "films_without_result": missing}
    return {"rows": rows, "summary": summary}


def reader_vs_reader(a_rows: Iterable[Mapping], b_rows: Iterable[Mapping], *, tolerance: int = 1) -> dict:
    """Joint grades of two readers (RA2-DREAM rows, matched by patient): the ones more than
    ``tolerance`` apart, and the quadratic-weighted kappa per measure."""
    from .joints import quadratic_kappa

    b_by = {str(r[schema.RA2_ID_COLUMN]): r for r in b_rows}
    rows, pairs = [], {"erosion": [], "jsn": []}
    for a in a_rows:
        pid = str(a[schema.RA2_ID_COLUMN])
        b = b_by.get(pid)
        if b is None:
            continue
        for c in schema.RA2_JOINT_COLUMNS:
            if a.get(c) is None or b.get(c) is None:
                continue
            region, site, measure = schema.parse_ra2_column(c)
            ga, gb = int(round(float(a[c]))), int(round(float(b[c])))
            pairs[measure].append((ga, gb))
            if abs(ga - gb) > tolerance:
                rows.append({"patient_id": pid, "region": region, "site": site, "measure": measure,
                             "reader_a": ga, "reader_b": gb})
    kappa = {m: round(quadratic_kappa([x for x, _ in p], [y for _, y in p]), 4) if p else None for m, p in pairs.items()}
    return {"rows": rows, "summary": {"disagreements": len(rows), "tolerance": tolerance, "qwk": kappa}}
