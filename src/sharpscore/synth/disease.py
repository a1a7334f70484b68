"""Patient-level disease: coherent per-joint SvdH grades like those of real RA cohorts.

Most joints are 0; damage is roughly symmetric and correlated within a patient; a long tail of
severe patients. Each joint's latent damage is

    z = log(severity) + log(site susceptibility) + site effect (shared left/right) + joint noise

and its grade is ``floor(exp(z))`` clipped to the SvdH range. Severity is log-normal: the defaults
put the median patient total in the single digits with a few patients above 100, as in RA2-DREAM.
"""

from __future__ import annotations

import numpy as np

from .. import schema
from ..config import ConfigModel

__all__ = ["DiseaseModel", "sample_patient_grades"]

# Relative susceptibility of each site to damage (erosion, JSN). Erosions favour MCP2/3, MTP5,
# ulnar styloid and the wrist; JSN favours MCPs, PIPs and the carpus. Unlisted sites: 1.0.
_SUSCEPTIBILITY = {
    "hand": {"mcp2": (1.5, 1.4), "mcp3": (1.4, 1.3), "pip3": (1.1, 1.3), "ulna": (1.5, 1.0),
             "ip": (0.6, 1.0), "mcp1": (0.8, 0.9), "pip5": (0.8, 1.0), "capnlun": (1.0, 1.3),
             "radcar": (1.0, 1.2), "mna": (1.0, 1.2), "nav": (1.2, 1.0), "lunate": (1.0, 1.0)},
    "foot": {"mtp5": (1.8, 1.2), "mtp1": (1.1, 1.3), "ip": (0.8, 0.9), "mtp4": (1.0, 1.0)},
}


class DiseaseModel(ConfigModel):
    """Cohort disease mix. ``median_severity`` and ``severity_sigma`` shape the log-normal
    patient severity; ``healthy_fraction`` of patients have no damage at all."""

    median_severity: float = 0.055
    severity_sigma: float = 0.8
    healthy_fraction: float = 0.12
    site_sigma: float = 0.5
    joint_sigma: float = 0.55
    jsn_vs_erosion: float = 1.25  # JSN a little more common than erosion per joint


def sample_patient_grades(rng: np.random.Generator, model: DiseaseModel | None = None,
                          regions: tuple[str, ...] = schema.REGIONS) -> dict[str, dict[str, dict[str, int | None]]]:
    """``{region: {site: {'erosion': g, 'jsn': g}}}`` for one patient (``None`` where not scored)."""
    m = model or DiseaseModel()
    healthy = rng.random() < m.healthy_fraction
    log_sev = np.log(m.median_severity) + m.severity_sigma * rng.standard_normal()
    out: dict[str, dict[str, dict[str, int | None]]] = {}
    site_effect: dict[tuple[str, str, str], float] = {}
    for region in regions:
        kind = schema.region_kind(region)
        grades: dict[str, dict[str, int | None]] = {}
        for s in schema.sites(kind):
            entry: dict[str, int | None] = {}
            for i, measure in enumerate(("erosion", "jsn")):
                top = s.max_for(measure)
                if top == 0:
                    entry[measure] = None
                    continue
                key = (kind, s.name, measure)
                if key not in site_effect:  # shared by left and right: symmetric disease
                    site_effect[key] = m.site_sigma * rng.standard_normal()
                sus = _SUSCEPTIBILITY[kind].get(s.name, (1.0, 1.0))[i]
                scale = top / 5.0 * (m.jsn_vs_erosion if measure == "jsn" else 1.0)
                z = log_sev + np.log(sus * scale) + site_effect[key] + m.joint_sigma * rng.standard_normal()
                entry[measure] = 0 if healthy else int(min(top, np.floor(np.exp(z) * 5.0)))
            grades[s.name] = entry
        out[region] = grades
    return out


def patient_total(grades: dict[str, dict[str, dict[str, int | None]]]) -> int:
    return int(sum(v or 0 for region in grades.values() for g in region.values() for v in g.values()))
