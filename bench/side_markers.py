"""Side markers read from the film (sharpscore.localize.marker): right, unread, wrong.

Every film is read as it is and displayed mirrored (flipped left-right): a right reading names the
film's true side and says ``mirrored`` exactly for the flipped copy. Sets:

- the three real films with a lead marker (../shared/data: the adult hand DICOM's 'R' in a ring, the
  two DX films' 'R TD' / 'L TD');
- the 112 real Digital Hand Atlas films (all left hands; some carry a lead 'L', most none);
- the 11 shared non-hand DICOMs (chest, hip, leg: a reading there is counted, not judged);
- phantoms (``--phantoms``, all four regions; 80% carry a marker in Pillow's default font).

Times are per reading on the film itself (numpy array; inside the localiser the level it already
made is reused). Writes bench/results/side-markers.json; ``--figure PNG`` also draws the real marked
films' markers as read, as they are and flipped (docs/img/side_markers.png).
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

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
OUT = Path(__file__).parent / "results" / "side-markers.json"


def _verdict(found, side: str | None, mirrored: bool) -> str:
    if found is None:
        return "unread"
    if side is None:
        return f"read_{found.side}"
    return "right" if (found.side, found.mirrored) == (side, mirrored) else "wrong"


def _read_both(pixels: np.ndarray, spacing, side: str | None, counts: dict, times: list, wrong: list, name: str):
    from sharpscore.localize.marker import read_side_marker

    for mirrored in (False, True):
        film = np.ascontiguousarray(pixels[:, ::-1]) if mirrored else pixels
        t = time.perf_counter()
        found = read_side_marker(film, spacing)
        times.append(time.perf_counter() - t)
        v = _verdict(found, side, mirrored)
        key = "mirrored" if mirrored else "as_is"
        counts.setdefault(key, {}).setdefault(v, 0)
        counts[key][v] += 1
        if v == "wrong":
            wrong.append(f"{name}{' (mirrored)' if mirrored else ''}: read {found.side}"
                         f"{' mirrored' if found.mirrored else ''} (match {found.match}, margin {found.margin})")


def _figure(real: list[tuple[str, str]], path: Path) -> None:
    """Each real marked film's marker, 30 mm around it, as it is and flipped, titled with the reading."""
    from matplotlib.figure import Figure

    import sharpscore
    from sharpscore.localize.marker import read_side_marker

    fig = Figure(figsize=(2.0 * 2 * len(real), 2.4))
    for i, (name, _) in enumerate(real):
        rg = sharpscore.load_radiograph(SHARED / name)
        for j, mirrored in enumerate((False, True)):
            film = np.ascontiguousarray(rg.pixels[:, ::-1]) if mirrored else rg.pixels
            found = read_side_marker(film, rg.spacing_mm)
            ax = fig.add_subplot(1, 2 * len(real), 2 * i + j + 1)
            ax.axis("off")
            if found is None:
                ax.set_title("not read", fontsize=7)
                continue
            half = int(15 / min(rg.spacing_mm))
            x, y = (int(round(v)) for v in found.centre_px)
            ax.imshow(film[max(0, y - half):y + half, max(0, x - half):x + half], cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{Path(name).stem}{' flipped' if mirrored else ''}\nread '{found.side}'"
                         f"{' mirrored' if found.mirrored else ''} ({found.match:.2f})", fontsize=6)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phantoms", type=int, default=60)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--figure", type=Path, help="also draw the real marked films' markers as read (PNG)")
    args = ap.parse_args()
    import sharpscore
    from sharpscore.localize.marker import _templates
    from sharpscore.synth import render

    _templates()  # built once per process; not part of a reading's time
    result: dict = {"machine": machine(), "command": "python bench/side_markers.py"}
    times: list[float] = []
    sets = {}
    real = [("dicom/NM_Kakadu44_SOTmarkerincons.dcm", "R"), ("dicom-dx/adult-gout-R-PA.dcm", "R"),
            ("dicom-dx/adult-gout-L-PA.dcm", "L")]
    counts: dict = {}
    wrong: list[str] = []
    for name, side in real:
        if (SHARED / name).exists():
            rg = sharpscore.load_radiograph(SHARED / name)
            _read_both(rg.pixels, rg.spacing_mm, side, counts, times, wrong, name)
    sets["real_marked_films"] = {"n_films": len(real), "counts": counts, "wrong": wrong}
    if args.figure:
        _figure(real, args.figure)
    counts, wrong = {}, []
    dha = sorted((SHARED / "dha-hands" / "images").glob("*.jpg"))
    for path in dha:
        rg = sharpscore.load_radiograph(path, spacing_mm=0.108075)
        _read_both(rg.pixels, rg.spacing_mm, "L", counts, times, wrong, path.stem)
    sets["dha_left_hands"] = {"n_films": len(dha), "counts": counts, "wrong": wrong}
    counts, wrong = {}, []
    other = sorted(p for p in (SHARED / "dicom").glob("*.dcm") if not p.name.startswith("NM_"))
    for path in other:
        rg = sharpscore.load_radiograph(path)
        _read_both(rg.pixels, rg.spacing_mm or (0.2, 0.2), None, counts, times, wrong, path.name)
    sets["non_hand_dicoms"] = {"n_films": len(other), "counts": counts}
    counts, wrong = {}, []
    for s in range(args.phantoms):
        region = ("RH", "LH", "RF", "LF")[s % 4]
        spacing = float(np.random.default_rng(s).uniform(0.1, 0.2))
        img = render(region, {}, seed=100 + s, spacing_mm=spacing)
        _read_both(img.radiograph.pixels, (spacing, spacing), region[0], counts, times, wrong,
                   f"phantom {region} seed {100 + s}")
    sets["phantoms"] = {"n_films": args.phantoms, "counts": counts, "wrong": wrong}
    result["sets"] = sets
    result["seconds_per_reading"] = {"median": round(float(np.median(times)), 4),
                                     "p95": round(float(np.quantile(times, 0.95)), 4), "n": len(times)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
