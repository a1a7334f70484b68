"""Put a trained ``best.pt`` into the package as a named bundle:

    python -m sharpscore.models.export runs/localizer-default/best.pt --task localizer --name default \
        --card src/sharpscore/models/cards/localizer-default.md --summary "..."

Weights are stored as float16 (half the size; inference casts back to float32), the sha256 goes
into ``registry.json``, and loading verifies it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from .._fsutil import atomic_write, atomic_write_text

_DIR = Path(__file__).parent


def export(best: Path, task: str, name: str, card: str | None, summary: str, models_dir: Path = _DIR) -> Path:
    """Write ``best`` (and its ``.calibration.json``) as the bundle ``{task}-{name}`` into
    ``models_dir`` (the package's models folder) and record it, with checksums, in its registry."""
    models_dir = Path(models_dir)
    ck = torch.load(best, map_location="cpu", weights_only=True)
    payload = {"model": {k: (v.half() if v.is_floating_point() else v) for k, v in ck["model"].items()},
               "meta": ck["meta"]}
    out = models_dir / "weights" / f"{task}-{name}.pt"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, lambda p: torch.save(payload, p))
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    cal_src = best.with_name(f"{best.stem}.calibration.json")
    cal_dst = out.with_name(f"{out.stem}.calibration.json")
    cal_digest = None
    if cal_src.exists():
        atomic_write_text(cal_dst, cal_src.read_text())
        cal_digest = hashlib.sha256(cal_dst.read_bytes()).hexdigest()
    elif cal_dst.exists():
        cal_dst.unlink()  # a stale calibration of older weights must not be loaded with new ones
    meta = json.loads(ck["meta"])
    reg_path = models_dir / "registry.json"
    registry = json.loads(reg_path.read_text()) if reg_path.exists() else {"models": []}
    registry["models"] = [m for m in registry["models"] if not (m["task"] == task and m["name"] == name)]
    registry["models"].append({"task": task, "name": name, "weights": out.name, "sha256": digest,
                               "card": Path(card).name if card else None, "summary": summary,
                               "calibration_sha256": cal_digest,
                               "trained_epoch": meta.get("epoch"),
                               **({"trained_on": meta["trained_on"]} if meta.get("trained_on") else {}),
                               **({"real_films": meta["real_films"]} if meta.get("real_films") else {})})
    atomic_write_text(reg_path, json.dumps(registry, indent=1) + "\n")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("best")
    p.add_argument("--task", required=True, choices=["localizer", "scorer"])
    p.add_argument("--name", default="default")
    p.add_argument("--card")
    p.add_argument("--summary", default="")
    a = p.parse_args()
    out = export(Path(a.best), a.task, a.name, a.card, a.summary)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
