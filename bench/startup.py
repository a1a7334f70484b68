"""Start-up cost: `python bench/startup.py [--repeats 5]`.

Each measurement runs in a fresh process (nothing cached in memory but the OS file cache, warmed by
one unmeasured run), median over ``--repeats``:

- `sharpscore --help`, `sharpscore models` and `sharpscore info FILE` (the real hand DICOM): the
  commands that must not import torch;
- `import sharpscore`; `import sharpscore` + `Scorer()` (torch, MONAI and both models loaded);
- the first `score_radiograph()` of a process on the real hand DICOM, and a second call in the
  same process (the steady state), so the one-off cost of a first call shows.

Writes bench/results/startup.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REAL_HAND = ROOT.parent / "shared" / "data" / "dicom" / "NM_Kakadu44_SOTmarkerincons.dcm"

_FIRST_CALL = """
import json, sys, time
t0 = time.perf_counter()
import sharpscore
t1 = time.perf_counter()
from sharpscore.api import Scorer
s = Scorer()
t2 = time.perf_counter()
s.score(sys.argv[1])
t3 = time.perf_counter()
s.score(sys.argv[1])
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "scorer": t2 - t1, "first_call": t3 - t2, "second_call": t4 - t3}))
"""


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def median_wall(cmd: list[str], repeats: int) -> float:
    wall(cmd)  # warm the file cache
    return round(statistics.median(wall(cmd) for _ in range(repeats)), 3)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    py = sys.executable
    cli = [py, "-m", "sharpscore"]
    out: dict = {"machine": machine(), "command": "python bench/startup.py " + " ".join(sys.argv[1:]),
                 "repeats": a.repeats, "seconds": {}}
    s = out["seconds"]
    s["sharpscore --help"] = median_wall(cli + ["--help"], a.repeats)
    s["sharpscore models"] = median_wall(cli + ["models"], a.repeats)
    if REAL_HAND.exists():
        s["sharpscore info (real hand DICOM)"] = median_wall(cli + ["info", str(REAL_HAND)], a.repeats)
    s["import sharpscore"] = median_wall([py, "-c", "import sharpscore"], a.repeats)
    s["import sharpscore + Scorer()"] = median_wall([py, "-c", "import sharpscore.api as a; a.Scorer()"], a.repeats)
    if REAL_HAND.exists():
        runs = []
        for i in range(a.repeats + 1):
            res = subprocess.run([py, "-c", _FIRST_CALL, str(REAL_HAND)], check=True, capture_output=True, text=True)
            if i:  # the first run warms the file cache
                runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
        for k in ("import", "scorer", "first_call", "second_call"):
            s[f"in one process (real hand DICOM): {k}"] = round(statistics.median(r[k] for r in runs), 3)
    path = Path(__file__).parent / "results" / "startup.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["seconds"], indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
