"""What sharpscore writes as DICOM, checked by the standard's IOD checker: `python bench/dicom_validity.py`.

Writes a phantom cohort as DICOM (`sharpscore synth --format dicom`: CR and DX For Presentation,
hands and feet, MONOCHROME1/2) and scores one of its hands with `--format sr` (the Comprehensive 3D
SR and the overlay Secondary Capture), then runs dciodvfy (dicom3tools; Debian package
`dicom3tools`) on every file and counts its errors and warnings by message.
Result: bench/results/dicom-validity.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def check(path: Path) -> tuple[list[str], list[str]]:
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=120)
    lines = (run.stdout + run.stderr).splitlines()
    return [x for x in lines if x.startswith("Error")], [x for x in lines if x.startswith("Warning")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--patients", type=int, default=4)
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "dicom-validity.json"))
    a = p.parse_args()
    if shutil.which("dciodvfy") is None:
        sys.exit("dciodvfy not found: install dicom3tools (e.g. apt-get install dicom3tools)")
    t0 = time.time()
    cli = [sys.executable, "-m", "sharpscore.cli"]
    result: dict = {"command": "python bench/dicom_validity.py " + " ".join(sys.argv[1:]), "machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        cohort, scored = Path(tmp) / "cohort", Path(tmp) / "scored"
        subprocess.run([*cli, "synth", "--out", str(cohort), f"n={a.patients}", "seed=7", "--format", "dicom",
                        "--quiet"], check=True)
        hand = sorted(cohort.glob("*-RH.dcm"))[0]
        subprocess.run([*cli, "score", str(hand), "--out", str(scored), "--format", "json,sr", "--quiet"],
                       check=True)
        groups = {"synthetic films": sorted(cohort.glob("*.dcm")),
                  "structured reports": sorted(scored.glob("dicom/*-sr.dcm")),
                  "overlay captures": sorted(scored.glob("dicom/*-overlay.dcm"))}
        for name, files in groups.items():
            errors, warnings = Counter(), Counter()
            for f in files:
                e, w = check(f)
                errors.update(e)
                warnings.update(w)
            result[name] = {"files": len(files), "errors": sum(errors.values()),
                            "warnings": sum(warnings.values()), "error_messages": dict(errors),
                            "warning_messages": dict(warnings)}
            print(f"{name}: {len(files)} files, {sum(errors.values())} errors, {sum(warnings.values())} warnings")
    result["seconds"] = round(time.time() - t0, 1)
    Path(a.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
