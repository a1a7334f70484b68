"""How far the scorer's grades move when the landmarks do (localisation error reaching the scores).

On held-out real healthy hands (the 21 atlas films of configs/scorer-real.yaml's test split, with
their annotated finger landmarks, the localiser's wrist sites) every finger joint's landmark is
moved along its bone axis by -3..+3 mm (all at once), and every wrist site by 2, 4 and 6 mm in a
random direction (3 draws); the expected finger and wrist points per film are reported against
the unmoved landmarks. The films are healthy (grade 0 everywhere), so any rise is read from the
landmark error alone. Also the adult hand DICOM, each finger joint moved along its axis.

Writes bench/results/landmark-shift.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402
from real_scoring import SHARED, TEST_IDS, complete_landmarks, dha_films  # noqa: E402

OUT = Path(__file__).parent / "results" / "landmark-shift.json"
AXIAL_MM = (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
RADIAL_MM = (0.0, 2.0, 4.0, 6.0)


def _family_points(result, family: str) -> dict[str, float]:
    from sharpscore import schema

    out = {"erosion": 0.0, "jsn": 0.0}
    for j in result.joints:
        if schema.site(result.region, j.site).family == family:
            out["erosion"] += j.erosion or 0.0
            out["jsn"] += j.jsn or 0.0
    return out


def _along_axis(landmarks: dict, region: str, spacing, mm: float) -> dict:
    from sharpscore import schema
    from sharpscore.spatial import as_spacing, distal_direction

    sp, kind, out = as_spacing(spacing), schema.region_kind(region), dict(landmarks)
    for s in schema.sites(kind):
        if s.family == "finger" and s.name in landmarks:
            u = distal_direction(kind, s.name, landmarks, sp)
            x, y = landmarks[s.name][:2]
            out[s.name] = (x + mm * u[0] / sp.col, y + mm * u[1] / sp.row, 1.0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--films", type=int, default=len(TEST_IDS))
    args = ap.parse_args()
    import sharpscore
    from sharpscore import schema
    from sharpscore.spatial import as_spacing

    t0 = time.perf_counter()
    scorer = sharpscore.Scorer(model=args.model)
    axial: dict[float, list[dict]] = {d: [] for d in AXIAL_MM}
    radial: dict[float, list[dict]] = {r: [] for r in RADIAL_MM}
    for _, rg, truth in dha_films(TEST_IDS[: args.films]):
        lm = {k: (*v[:2], 1.0) for k, v in complete_landmarks(scorer.localizer, rg, truth).items()}
        for d in AXIAL_MM:
            res = scorer.joint_model.score(rg.pixels, rg.spacing_mm, _along_axis(lm, "LH", rg.spacing_mm, d), "LH")
            axial[d].append(_family_points(res, "finger"))
        sp = as_spacing(rg.spacing_mm)
        for r in RADIAL_MM:
            for draw in range(3 if r else 1):
                rng = np.random.default_rng(draw)
                moved = dict(lm)
                for s in schema.sites("hand"):
                    if s.family == "wrist" and s.name in lm:
                        a = rng.uniform(0, 2 * np.pi)
                        x, y = lm[s.name][:2]
                        moved[s.name] = (x + r * np.cos(a) / sp.col, y + r * np.sin(a) / sp.row, 1.0)
                res = scorer.joint_model.score(rg.pixels, rg.spacing_mm, moved, "LH")
                radial[r].append(_family_points(res, "wrist"))

    def summary(rows: list[dict]) -> dict:
        return {k: round(float(np.mean([r[k] for r in rows])), 3) for k in ("erosion", "jsn")}

    adult = {}
    film = SHARED / "dicom" / "NM_Kakadu44_SOTmarkerincons.dcm"
    if film.exists():
        rg = sharpscore.load_radiograph(film)
        loc = scorer.localizer.predict(rg)
        for d in AXIAL_MM:
            moved = _along_axis(loc.landmarks, loc.region, rg.spacing_mm, d)
            res = scorer.joint_model.score(rg.pixels, rg.spacing_mm, moved, loc.region)
            adult[str(d)] = {**{k: round(v, 3) for k, v in _family_points(res, "finger").items()},
                             "pip5_jsn": round(res.joint("pip5").jsn, 3)}
    out = {"model": args.model, "machine": machine(), "command": "python bench/landmark_shift.py",
           "what": __doc__.split("\n\n")[1].replace("\n", " "),
           "n_films": len(axial[0.0]),
           "finger_points_vs_axial_shift_mm": {str(d): summary(v) for d, v in axial.items()},
           "wrist_points_vs_radial_shift_mm": {str(r): summary(v) for r, v in radial.items()},
           "adult_dicom_finger_points_vs_axial_shift_mm": adult,
           "seconds": round(time.perf_counter() - t0, 1)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
