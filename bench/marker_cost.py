"""What reading the side marker costs per film, end to end, in one process.

The real J2K hand DICOM is scored (``Scorer.score``) and located alone (``Localizer.predict``)
``--runs`` times each with the marker read and with the reading replaced by "no marker",
interleaved so that both see the same machine; medians are reported, with the reading's own time
inside the scoring runs. Decoding is outside the timings (the film is loaded once). On a shared
machine the run-to-run noise is of the same order as the difference: read the figures as a range.

Writes bench/results/marker-cost.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

FILM = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dicom" / "NM_Kakadu44_SOTmarkerincons.dcm"
OUT = Path(__file__).parent / "results" / "marker-cost.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    import sharpscore
    import sharpscore.localize.predict as predict

    scorer = sharpscore.Scorer()
    rg = sharpscore.load_radiograph(FILM)
    real = predict.read_side_marker
    inner: list[float] = []

    def timed(*a, **k):
        t = time.perf_counter()
        out = real(*a, **k)
        inner.append(time.perf_counter() - t)
        return out

    def none(*a, **k):
        return None

    scorer.score(rg)  # warm up
    times: dict[str, list[float]] = {k: [] for k in ("score_with", "score_without", "locate_with", "locate_without")}
    try:
        for _ in range(args.runs):
            for label, fn in (("with", timed), ("without", none)):
                predict.read_side_marker = fn
                t = time.perf_counter()
                scorer.score(rg)
                times[f"score_{label}"].append(time.perf_counter() - t)
                t = time.perf_counter()
                scorer.localizer.predict(rg)
                times[f"locate_{label}"].append(time.perf_counter() - t)
    finally:
        predict.read_side_marker = real
    med = {k: round(statistics.median(v), 3) for k, v in times.items()}
    out = {"machine": machine(), "command": f"python bench/marker_cost.py --runs {args.runs}", "film": FILM.name,
           "median_s": med, "reading_itself_median_s": round(statistics.median(inner), 3),
           "score_difference_s": round(med["score_with"] - med["score_without"], 3),
           "locate_difference_s": round(med["locate_with"] - med["locate_without"], 3)}
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
