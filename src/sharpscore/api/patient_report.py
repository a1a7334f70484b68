"""A per-patient HTML report: one self-contained file a reader can open anywhere.

For each region: the overlay (embedded), a joint table (expected grade, most likely grade and
prediction set for erosion and narrowing, joint-space width, the joint's flags), the region totals
with their intervals, and the review reasons; for the patient: totals with intervals, whether a
reader must look, and which models and sharpscore version made the scores. Written by
``sharpscore score --format html`` as ``reports/<patient>.html``.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import schema
from ..flags import needs_review, parse_known

__all__ = ["patient_report_html"]

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1100px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.review{color:#b00;font-weight:bold}.ok{color:#070}
.banner{background:#fff4d6;border:1px solid #e0c060;padding:.5em 1em}img{max-width:100%;border:1px solid #ccc}
tr.flagged td{background:#fff0f0}small{color:#666}
"""


def _num(v: Any, digits: int = 2) -> str:
    return "" if v is None else f"{float(v):.{digits}f}"


def _set(s: Any) -> str:
    return "" if not s else "{" + ",".join(str(g) for g in s) + "}"


def _interval(row: Mapping[str, Any], name: str) -> str:
    lo, hi = row.get(f"{name}_lo"), row.get(f"{name}_hi")
    return "" if lo in (None, "") or hi in (None, "") else f"[{float(lo):.1f}, {float(hi):.1f}]"


def _region_section(region: str, doc: Mapping[str, Any], overlay: Path | None) -> str:
    esc = html.escape
    known = parse_known(doc.get("flags", []))
    by_site: dict[str, list[str]] = {}
    for f in known:
        if f.site:
            by_site.setdefault(f.site, []).append(str(f))
    on_joints = {f for fs in by_site.values() for f in fs}
    general = [str(f) for f in doc.get("flags", []) if str(f) not in on_joints]
    review = bool(doc.get("needs_review"))
    out = [f"<h2>{esc(region)} &mdash; {esc(schema.region_kind(region))} "
           f"<span class='{'review' if review else 'ok'}'>{'needs review' if review else 'no review flag'}</span></h2>"]
    iv = doc.get("intervals", {})
    out.append("<table><tr><th class='l'>total</th><th>expected</th><th>interval</th></tr>")
    for m in ("erosion", "jsn", "total"):
        lo_hi = iv.get(m)
        rng = f"[{lo_hi[0]:.1f}, {lo_hi[1]:.1f}]" if lo_hi else ""
        out.append(f"<tr><td class='l'>{m}</td><td>{_num(doc.get(m), 1)}</td><td>{rng}</td></tr>")
    out.append(f"</table><small>{int(round(100 * float(doc.get('coverage', 0.9))))}% intervals; "
               f"source {esc(str(doc.get('key', '')))}; pixel spacing {esc(str(doc.get('spacing_mm')))} mm "
               f"({esc(str(doc.get('spacing_source')))})</small>")
    if overlay is not None and overlay.is_file():
        data = base64.b64encode(overlay.read_bytes()).decode("ascii")
        out.append(f"<p><img alt='{esc(region)} overlay' src='data:image/png;base64,{data}'></p>")
    out.append("<table><tr><th class='l'>joint</th><th>erosion</th><th>most likely</th><th>set</th>"
               "<th>JSN</th><th>most likely</th><th>set</th><th>JSW mm</th><th class='l'>flags</th></tr>")
    for j in doc.get("joints", []):
        site_flags = by_site.get(j["site"], [])
        cls = " class='flagged'" if site_flags else ""
        jsw = "" if j.get("jsw_mm") is None else f"{j['jsw_mm']:.2f} &plusmn; {j.get('jsw_sd_mm') or 0:.2f}"
        out.append(f"<tr{cls}><td class='l'>{esc(j['site'])}</td><td>{_num(j.get('erosion'))}</td>"
                   f"<td>{'' if j.get('erosion_grade') is None else j['erosion_grade']}</td>"
                   f"<td>{_set(j.get('erosion_set'))}</td><td>{_num(j.get('jsn'))}</td>"
                   f"<td>{'' if j.get('jsn_grade') is None else j['jsn_grade']}</td><td>{_set(j.get('jsn_set'))}</td>"
                   f"<td>{jsw}</td><td class='l'>{esc(', '.join(site_flags))}</td></tr>")
    out.append("</table>")
    if general:
        out.append("<p>Flags for the film: " + esc(", ".join(general)) + "</p>")
    return "\n".join(out)


def patient_report_html(patient_id: str, regions: Mapping[str, Mapping[str, Any]], row: Mapping[str, Any],
                        overlays: Mapping[str, Path | None] | None = None) -> str:
    """The report of one patient.

    Args:
        patient_id: as in ``scores.csv`` (a pseudonym unless identifiers were kept).
        regions: ``{region: radiograph JSON document}`` as ``sharpscore score`` writes them.
        row: the patient's ``scores.csv`` row (totals and their ``_lo``/``_hi`` bounds).
        overlays: ``{region: overlay PNG}`` to embed.
    """
    esc = html.escape
    overlays = overlays or {}
    docs = [regions[r] for r in schema.REGIONS if r in regions]
    review = any(bool(d.get("needs_review")) for d in docs) or needs_review(
        [f for d in docs for f in d.get("flags", [])])
    first = docs[0] if docs else {}
    model = first.get("model", {})
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>sharpscore: {esc(patient_id)}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Sharp/van der Heijde scores &mdash; patient {esc(patient_id)}</h1>",
             "<p class='banner'>Research use only: decision support, not a diagnosis. Scores are expected "
             "grades from a model with calibrated intervals; flagged films and joints need a reader.</p>",
             "<table><tr><th class='l'>patient</th><th>expected</th><th>interval</th></tr>"]
    for name, col in (("erosion", "Overall_erosion"), ("narrowing", "Overall_narrowing"), ("total", "Overall_Tol")):
        parts.append(f"<tr><td class='l'>{name}</td><td>{_num(row.get(col), 1)}</td><td>{_interval(row, col)}</td></tr>")
    parts.append("</table>")
    missing = [r for r in schema.REGIONS if r not in regions]
    parts.append(f"<p>Regions scored: {esc(', '.join(r for r in schema.REGIONS if r in regions))}"
                 + (f"; <b>not scored: {esc(', '.join(missing))}</b> (totals cover the scored regions only)"
                    if missing else "") + "</p>")
    parts.append(f"<p class='{'review' if review else 'ok'}'>"
                 + ("A reader must review this patient before the scores are used." if review
                    else "No review flag.") + "</p>")
    for r in schema.REGIONS:
        if r in regions:
            parts.append(_region_section(r, regions[r], overlays.get(r)))
    parts.append(f"<p><small>scorer {esc(str(model.get('scorer', '')))}, localiser "
                 f"{esc(str(model.get('localizer', '')))}, sharpscore {esc(str(first.get('sharpscore_version', '')))}; "
                 f"flags are explained in docs/scoring.md.</small></p></body></html>")
    return "\n".join(parts)
