"""Where the wrist sites of a real hand are, from its metacarpals: a template of real wrists.

The fine network finds the metacarpal bases (``mc1``, ``cmc3``-``cmc5``) well on real films (it
learned them from real hands), but the eight sites inside the carpus and the distal forearm
(``mul``, ``mna``, ``nav``, ``capnlun``, ``lunate``, ``radcar``, ``radius``, ``ulna``) it learned
from phantoms only. On real films it can latch onto a growth plate or the radial shaft 10-25 mm away
(bench/results/localizer-default.json, ``dha_wrist``). This module holds the mean position of
every wrist site relative to the metacarpals over real hand radiographs, so that a site found far
from where the real anatomy puts it is searched again there, or placed there.

The template is derived (``python -m sharpscore.localize.wrist_template``) from the 91 USC Digital
Hand Atlas films of ``../shared/data/dha-hands`` that are not among the 21 held-out test films,
the more mature half of them (widest carpus for their hand size): the atlas annotations give
the metacarpal bases, the eight carpal bones' contact points and the distal radius and ulna, and
the SvdH sites are defined from them (:data:`DEFINITIONS`). Only the mean positions (mm) and the
per-site spread ship; no image and no annotation does.
"""

from __future__ import annotations

import argparse
import csv
import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..shape_model import similarity_fit
from ..spatial import to_mm, to_px

__all__ = ["ANCHORS", "SITES", "BASE_GATE_MM", "DEFINITIONS", "WRIST_TEMPLATE_JSON", "WristPrediction", "predict_wrist", "dha_points",
           "derived_sites",
           "load_wrist_template", "build_wrist_template"]

WRIST_TEMPLATE_JSON = Path(__file__).with_name("wrist_template.json")

# Points the template is placed on: the finger MCPs and the metacarpal bases (found well on real films).
ANCHORS: tuple[str, ...] = ("mcp2", "mcp3", "mcp4", "mcp5", "mc1", "cmc3", "cmc4", "cmc5")
# The sites it predicts.
SITES: tuple[str, ...] = ("mul", "mna", "nav", "capnlun", "lunate", "radcar", "radius", "ulna")

# Each SvdH site as the mean of Digital Hand Atlas points (Payer et al.'s annotation; on mature
# wrists ``carpal_10`` is the capitate's proximal pole, ``carpal_7``/``carpal_8`` the ulnar and radial
# ends of the lunate's and scaphoid's contact with the radius, ``carpal_5`` the scaphoid's radial
# side at the styloid, ``carpal_11``/``carpal_12`` the scaphoid-trapezoid and scaphoid-trapezium
# contacts, ``forearm_0``-``forearm_3`` the ulnar head and the distal radio-ulnar joint,
# ``forearm_4`` the radial side of the distal radius).
DEFINITIONS: dict[str, tuple[str, ...]] = {
    "capnlun": ("carpal_10",),                                # capitate-lunate(-scaphoid) joint
    "radcar": ("carpal_7", "carpal_8"),                       # radiolunate/radioscaphoid joint
    "lunate": ("carpal_10", "carpal_7"),                      # lunate body
    "nav": ("carpal_8", "carpal_11"),                         # scaphoid body
    "mna": ("carpal_11", "carpal_12"),                        # scaphoid-trapezium/trapezoid joint
    "mul": ("cmc1", "carpal_11", "carpal_12"),                # trapezium (and trapezoid)
    "radius": ("carpal_5", "carpal_8", "forearm_4"),          # distal radius, radial side
    "ulna": ("forearm_0", "forearm_1", "forearm_2", "forearm_3"),  # ulnar head
}
_DHA_NAMES = {"cmc1": "mc1"}
_DHA_SPACING = 0.108075
# the 21 films every sharpscore benchmark holds out (configs/scorer-real.yaml, bench/real_scoring.py)
_HELD_OUT = ("3144", "3147", "3162", "3164", "3167", "3173", "3183", "3184", "3206", "3221", "3224", "3239",
             "3240", "3269", "3296", "3300", "3301", "3316", "3755", "3769", "3819")


# How far (mm) a metacarpal base found by the network may lie from where the template, placed on
# the other anchors, puts it: above the 99th percentile of that leave-one-anchor-out error over the
# 112 annotated Digital Hand Atlas films (cmc3-cmc5 3.6-4.0 mm, mc1 6.7 mm). Farther, it is most
# likely on a neighbouring base (the adult DICOM's cmc5 on the fourth, its cmc4 on the hamate).
BASE_GATE_MM: dict[str, float] = {"mc1": 7.0, "cmc3": 4.5, "cmc4": 4.5, "cmc5": 4.5}


class WristPrediction(dict):
    """``{site: (x, y)}`` in pixels, with ``limit_px``: per site, how far a found position may lie
    from the prediction and still agree with it (pixels), and ``anchors``: where the fitted template
    puts each anchor (pixels)."""

    limit_px: dict[str, float]
    anchors: dict[str, tuple[float, float]]


@lru_cache(maxsize=1)
def load_wrist_template() -> dict:
    doc = json.loads(WRIST_TEMPLATE_JSON.read_text())
    return {"mean": {k: np.asarray(v, float) for k, v in doc["mean_mm"].items()},
            "limit": {k: float(v) for k, v in doc["limit_mm"].items()}}


def predict_wrist(found: dict, spacing_mm, *, min_confidence: float = 0.5, trim_mm: float = 4.0) \
        -> WristPrediction | None:
    """The wrist sites where the real-wrist template, placed by a similarity transform (reflection
    allowed: left and right hands) on the confident anchors of ``found`` (``{name: (x, y, conf)}``,
    pixels), puts them; None with fewer than five confident anchors. An anchor more than
    ``trim_mm`` from the first fit is dropped and the fit repeated."""
    tpl = load_wrist_template()
    use = [k for k in ANCHORS if k in found and found[k][2] >= min_confidence]
    if len(use) < 5:
        return None

    def fit(names):
        dst = to_mm([found[k][:2] for k in names], spacing_mm)
        s, r, t = similarity_fit(np.array([tpl["mean"][k] for k in names]), dst)
        res = np.linalg.norm(s * np.array([tpl["mean"][k] for k in names]) @ r.T + t - dst, axis=1)
        return s, r, t, res

    s, r, t, res = fit(use)
    keep = [k for k, e in zip(use, res) if e <= trim_mm]
    if 5 <= len(keep) < len(use):
        s, r, t, _ = fit(keep)
    out = WristPrediction({k: tuple(float(c) for c in to_px(s * tpl["mean"][k] @ r.T + t, spacing_mm))
                           for k in SITES})
    px = float(np.mean(spacing_mm))
    out.limit_px = {k: s * tpl["limit"][k] / px for k in SITES}
    out.anchors = {k: tuple(float(c) for c in to_px(s * tpl["mean"][k] @ r.T + t, spacing_mm)) for k in ANCHORS}
    return out


def dha_points(csv_path: Path) -> dict[str, dict[str, np.ndarray]]:
    films: dict[str, dict[str, np.ndarray]] = {}
    with open(csv_path, newline="") as fh:
        for row in csv.DictReader(fh):
            films.setdefault(row["image_id"], {})[row["landmark"]] = \
                np.array([float(row["x_px"]), float(row["y_px"])]) * _DHA_SPACING
    return films


def derived_sites(points: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A film's anchors and SvdH wrist sites (mm) from its Digital Hand Atlas points."""
    out = {k: points[k] for k in ANCHORS if k in points}
    out.update({_DHA_NAMES[k]: points[k] for k in _DHA_NAMES if k in points})
    for site, names in DEFINITIONS.items():
        out[site] = np.mean([points[n] for n in names], axis=0)
    return out


def _maturity(points: dict[str, np.ndarray]) -> float:
    """Spread of the carpal points over the proximal phalanx length: the carpus grows into its
    adult size through adolescence (a proxy; the atlas's ages are not in the annotation)."""
    carpal = np.array([points[f"carpal_{i}"] for i in range(5, 13)])
    spread = float(np.sqrt(np.mean(np.sum((carpal - carpal.mean(0)) ** 2, 1))))
    return spread / float(np.linalg.norm(points["mcp3"] - points["pip3"]))


def _align(films: list[dict[str, np.ndarray]], iters: int = 5) -> dict[str, np.ndarray]:
    """Generalised Procrustes of the films' anchors + sites; returns the mean shape (mm)."""
    names = list(ANCHORS) + list(SITES)
    mean = {k: films[0][k] for k in names}
    for _ in range(iters):
        acc = {k: [] for k in names}
        for f in films:
            s, r, t = similarity_fit(np.array([f[k] for k in ANCHORS]), np.array([mean[k] for k in ANCHORS]),
                                     allow_reflection=False)
            for k in names:
                acc[k].append(s * f[k] @ r.T + t)
        mean = {k: np.mean(v, 0) for k, v in acc.items()}
    return mean


def build_wrist_template(csv_path: Path, *, mature_fraction: float = 0.5) -> dict:
    """The template document from the Digital Hand Atlas landmark table (see the module docstring);
    ``limit_mm`` per site is the 95th percentile over the films of the leave-one-film-out error of
    the template's prediction from the film's anchors, with a floor of 3 mm."""
    table = dha_points(csv_path)
    ids = sorted(i for i in table if i not in _HELD_OUT)
    ranked = sorted(ids, key=lambda i: _maturity(table[i]), reverse=True)
    chosen = sorted(ranked[: max(5, int(round(mature_fraction * len(ranked))))])
    films = [derived_sites(table[i]) for i in chosen]
    mean = _align(films)
    errors: dict[str, list[float]] = {k: [] for k in SITES}
    for j, f in enumerate(films):
        loo = _align(films[:j] + films[j + 1:])
        s, r, t = similarity_fit(np.array([loo[k] for k in ANCHORS]), np.array([f[k] for k in ANCHORS]))
        for k in SITES:
            errors[k].append(float(np.linalg.norm(s * loo[k] @ r.T + t - f[k]) / s))
    limit = {k: max(3.0, float(np.percentile(v, 95))) for k, v in errors.items()}
    return {"about": ("mean positions (mm) of the SvdH wrist sites and their anchors over the more mature "
                      f"{len(chosen)} of the {len(ids)} non-held-out USC Digital Hand Atlas films (left hands; "
                      "Payer et al.'s landmark annotation, GPL-3.0), sites defined by DEFINITIONS in "
                      "sharpscore.localize.wrist_template; limit_mm: 95th percentile leave-one-film-out "
                      "error (floor 3 mm); python -m sharpscore.localize.wrist_template"),
            "definitions": {k: list(v) for k, v in DEFINITIONS.items()},
            "films": len(chosen),
            "mean_mm": {k: [round(float(c), 3) for c in v] for k, v in mean.items()},
            "limit_mm": {k: round(v, 2) for k, v in limit.items()},
            "loo_median_mm": {k: round(float(np.median(v)), 2) for k, v in errors.items()}}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Regenerate the shipped real-wrist template from the Digital Hand Atlas")
    p.add_argument("--landmarks", type=Path, default=Path("../shared/data/dha-hands/landmarks.csv"))
    p.add_argument("--out", type=Path, default=WRIST_TEMPLATE_JSON)
    args = p.parse_args(argv)
    doc = build_wrist_template(args.landmarks)
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({"films": doc["films"], "limit_mm": doc["limit_mm"], "loo_median_mm": doc["loo_median_mm"]}))


if __name__ == "__main__":
    main()
