"""Bounded fuzzing: `python bench/fuzz.py [--target loader|tables|configs] [--seconds 120] [--seed 0]`.

``--target tables`` mutates a reader table in the RA2-DREAM layout (cells replaced by garbage, bytes
flipped, rows cut or doubled) and runs `sharpscore evaluate` on it in-process; ``--target configs``
mutates the shipped YAML configs (values replaced by other types, keys dropped or misspelt, bytes
flipped) and loads and validates them as `sharpscore train` does, without training. For both, a
one-line typed error (exit 2) or a normal result is the promised behaviour, and "internal error" or
a raw exception is a bug. Results: bench/results/fuzz-tables.json, fuzz-configs.json.

The loader (the default target):

Seeds: the shared real DICOMs (every transfer syntax there), a phantom hand as PNG, JPEG and
MetaImage. Each attempt mutates one seed (random bytes flipped in the header or the pixel data,
truncation, a chunk duplicated, a DICOM element's value replaced by garbage via pydicom) and loads it
with `sharpscore.load_radiograph`. Outcomes: a typed `SharpScoreError` (the promised behaviour for
bad input), a loaded radiograph with finite pixels in [0, 1] (a file that still decodes), a raw
exception (a bug), or a hang (no answer in 10 s). Writes bench/results/fuzz.json with the counts and
the first examples of every raw exception class.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine  # noqa: E402

import sharpscore  # noqa: E402
from sharpscore.errors import SharpScoreError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


class _Hang(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001
    raise _Hang()


def seeds(tmp: Path) -> list[Path]:
    from PIL import Image

    from sharpscore.synth import render

    out = sorted((SHARED / "dicom").glob("*.dcm")) + sorted((SHARED / "dicom-dx").glob("*.dcm"))
    ph = render("RH", {}, seed=1, spacing_mm=0.15).radiograph.pixels
    img = Image.fromarray((ph * 255).astype(np.uint8))
    img.save(tmp / "seed.png")
    img.save(tmp / "seed.jpg", quality=90)
    raw = (ph * 255).astype(np.uint8)
    (tmp / "seed.raw").write_bytes(raw.tobytes())
    (tmp / "seed.mha").write_text(f"ObjectType = Image\nNDims = 2\nDimSize = {raw.shape[1]} {raw.shape[0]}\n"
                                  "ElementType = MET_UCHAR\nElementSpacing = 0.15 0.15\nElementDataFile = seed.raw\n")
    return out + [tmp / "seed.png", tmp / "seed.jpg", tmp / "seed.mha"]


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    kind = rng.choice(["flip_header", "flip_body", "truncate", "duplicate", "zero_run"])
    b = bytearray(data)
    n = len(b)
    if kind == "flip_header":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(0, min(n, 2048))
            b[i] = rng.randrange(256)
    elif kind == "flip_body":
        for _ in range(rng.randint(1, 64)):
            i = rng.randrange(0, n)
            b[i] = rng.randrange(256)
    elif kind == "truncate":
        b = b[: rng.randrange(0, n)]
    elif kind == "duplicate":
        i, j = sorted(rng.randrange(0, n) for _ in range(2))
        b = b[:j] + b[i:j] + b[j:]
    else:
        i = rng.randrange(0, n)
        b[i: i + rng.randint(1, 4096)] = bytes(min(4096, n - i))
    return bytes(b), kind


def dicom_element(path: Path, rng: random.Random, out: Path) -> str | None:
    import pydicom

    try:
        ds = pydicom.dcmread(path)
    except Exception:  # noqa: BLE001
        return None
    keys = [e.keyword for e in ds if e.keyword and e.keyword != "PixelData"]
    if not keys:
        return None
    key = rng.choice(keys)
    value = rng.choice(["abc", "", "-1", "0", "1e308", "\\".join(["0"] * 7), "NaN", "9" * 40])
    try:
        setattr(ds, key, value)
        ds.save_as(out)
    except Exception:  # noqa: BLE001 - pydicom refuses to write it: not an attempt
        return None
    return f"element:{key}={value[:12]}"


_GARBAGE = ["", "abc", "-1", "0", "1e308", "NaN", "inf", "99", "2.5", "9" * 400, "\u00e9\u00e8", "1,2", '"', "\x00"]


def mutate_table(text: str, rng: random.Random) -> tuple[str, str]:
    """A reader table with cells, rows or bytes damaged."""
    lines = text.splitlines()
    kind = rng.choice(["cell", "cell", "cells", "header_cell", "drop_rows", "duplicate_row", "bytes"])
    if kind in ("cell", "cells", "header_cell"):
        for _ in range(1 if kind != "cells" else rng.randint(2, 30)):
            r = 0 if kind == "header_cell" else rng.randrange(1, len(lines))
            cells = lines[r].split(",")
            cells[rng.randrange(len(cells))] = rng.choice(_GARBAGE)
            lines[r] = ",".join(cells)
    elif kind == "drop_rows":
        keep = rng.randrange(0, len(lines))
        lines = lines[:keep]
    elif kind == "duplicate_row":
        r = rng.randrange(1, len(lines))
        lines.insert(r, lines[r])
    else:
        data, kind = mutate(text.encode(), rng)
        return data.decode("latin-1"), f"bytes:{kind}"
    return "\n".join(lines) + "\n", kind


def mutate_yaml(doc: dict, rng: random.Random) -> tuple[dict, str]:
    """A config with one value replaced by another type, a key dropped or misspelt."""
    import copy

    doc = copy.deepcopy(doc)
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                paths.append(path + [k])
                walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                paths.append(path + [i])
                walk(v, path + [i])

    walk(doc, [])
    path = rng.choice(paths)
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    kind = rng.choice(["value", "value", "drop", "misspell"])
    if kind == "value" or isinstance(parent, list):
        parent[path[-1]] = rng.choice([None, -1, 0, 1e308, float("nan"), "abc", [], {}, [1, 2, 3], {"x": 1}, True,
                                       "../no/such/file.csv", 10**12])
        kind = "value"
    elif kind == "drop":
        del parent[path[-1]]
    else:
        parent[f"{path[-1]}x"] = parent.pop(path[-1])
    return doc, f"{kind}:{'.'.join(map(str, path))}"


def fuzz_tables(a, rng: random.Random, tmp: Path) -> dict:
    import contextlib
    import io

    from sharpscore.cli import main as cli

    table = SHARED / "ra2-scores" / "training.csv"
    text = table.read_text()
    pred = tmp / "pred.csv"
    pred.write_text(text)
    counts = {"typed_error": 0, "evaluated": 0, "raw_exception": 0, "hang": 0}
    examples: dict[str, list[str]] = {}
    attempts, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < a.seconds:
        mutated, how = mutate_table(text, rng)
        truth = tmp / "truth.csv"
        truth.write_bytes(mutated.encode("latin-1", errors="replace"))
        which = rng.choice(["truth", "pred"])
        args = ["evaluate", "--pred", str(truth if which == "pred" else pred),
                "--truth", str(pred if which == "pred" else truth), "--out", str(tmp / f"out{attempts}")]
        attempts += 1
        err = io.StringIO()
        signal.alarm(30)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                rc = cli(args)
            if rc == 0:
                counts["evaluated"] += 1
            elif "internal error" in err.getvalue():
                counts["raw_exception"] += 1
                examples.setdefault("internal_error", []).append(f"{which} {how}: {err.getvalue().strip()[:160]}")
            else:
                counts["typed_error"] += 1
        except _Hang:
            counts["hang"] += 1
            examples.setdefault("hang", []).append(f"{which} {how}")
        finally:
            signal.alarm(0)
    return {"attempts": attempts, "outcomes": counts, "examples": {k: v[:5] for k, v in examples.items()},
            "seed_table": "../shared/data/ra2-scores/training.csv (364 real patients; read, never written)"}


def fuzz_configs(a, rng: random.Random, tmp: Path) -> dict:
    import yaml

    from sharpscore.config import load_yaml, validate_config
    from sharpscore.training import TrainConfig

    configs = sorted((ROOT / "configs").glob("*.yaml"))
    docs = {c.name: load_yaml(c) for c in configs if load_yaml(c).get("task")}
    counts = {"typed_error": 0, "valid": 0, "raw_exception": 0, "hang": 0}
    examples: dict[str, list[str]] = {}
    attempts, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < a.seconds:
        name = rng.choice(sorted(docs))
        target = tmp / "case.yaml"
        if rng.random() < 0.2:
            data, how = mutate(yaml.safe_dump(docs[name]).encode(), rng)
            target.write_bytes(data)
        else:
            doc, how = mutate_yaml(docs[name], rng)
            target.write_text(yaml.safe_dump(doc))
        attempts += 1
        signal.alarm(10)
        try:
            validate_config(TrainConfig, load_yaml(target), origin=str(target))
            counts["valid"] += 1
        except SharpScoreError:
            counts["typed_error"] += 1
        except _Hang:
            counts["hang"] += 1
        except Exception as exc:  # noqa: BLE001 - what the bench is looking for
            counts["raw_exception"] += 1
            ex = examples.setdefault(type(exc).__name__, [])
            if len(ex) < 3:
                tb = traceback.extract_tb(exc.__traceback__)[-1]
                ex.append(f"{name} {how}: {str(exc)[:120]} ({Path(tb.filename).name}:{tb.lineno})")
        finally:
            signal.alarm(0)
    return {"attempts": attempts, "outcomes": counts, "examples": examples, "seed_configs": sorted(docs)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--target", default="loader", choices=["loader", "tables", "configs"])
    a = p.parse_args()
    rng = random.Random(a.seed)
    signal.signal(signal.SIGALRM, _alarm)
    tmp = Path(tempfile.mkdtemp(prefix="sharpscore-fuzz-"))
    if a.target != "loader":
        import logging

        logging.disable(logging.WARNING)
        res = (fuzz_tables if a.target == "tables" else fuzz_configs)(a, rng, tmp)
        out = {"what": __doc__.split("\n\n")[1], "machine": machine(),
               "command": f"python bench/fuzz.py --target {a.target} --seconds {a.seconds} --seed {a.seed}", **res}
        (ROOT / "bench" / "results" / f"fuzz-{a.target}.json").write_text(json.dumps(out, indent=1) + "\n")
        print(json.dumps({k: out[k] for k in ("attempts", "outcomes", "examples")}, indent=1))
        return
    pool = seeds(tmp)
    counts = {"typed_error": 0, "loaded": 0, "raw_exception": 0, "hang": 0, "bad_pixels": 0}
    examples: dict[str, list[str]] = {}
    attempts, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < a.seconds:
        src = rng.choice(pool)
        target = tmp / f"case{src.suffix}"
        how = None
        if src.suffix == ".dcm" and rng.random() < 0.3:
            how = dicom_element(src, rng, target)
        if how is None:
            data, how = mutate(src.read_bytes(), rng)
            target.write_bytes(data)
        if src.suffix == ".mha":
            (tmp / "seed.raw").write_bytes((tmp / "seed.raw").read_bytes())  # the raw file stays intact
        attempts += 1
        signal.alarm(10)
        try:
            rg = sharpscore.load_radiograph(target)
            px = rg.pixels
            ok = np.isfinite(px).all() and px.min() >= 0 and px.max() <= 1
            counts["loaded" if ok else "bad_pixels"] += 1
            if not ok:
                examples.setdefault("bad_pixels", []).append(f"{src.name} {how}")
        except SharpScoreError:
            counts["typed_error"] += 1
        except _Hang:
            counts["hang"] += 1
            examples.setdefault("hang", []).append(f"{src.name} {how}")
        except Exception as exc:  # noqa: BLE001 - what the bench is looking for
            counts["raw_exception"] += 1
            key = type(exc).__name__
            tb = traceback.extract_tb(exc.__traceback__)[-1]
            ex = examples.setdefault(key, [])
            if len(ex) < 3:
                ex.append(f"{src.name} {how}: {str(exc)[:120]} ({Path(tb.filename).name}:{tb.lineno})")
        finally:
            signal.alarm(0)
    out = {"what": __doc__.split("\n\n")[1], "machine": machine(), "command": f"python bench/fuzz.py --seconds {a.seconds} --seed {a.seed}",
           "seeds": [s.name for s in pool], "attempts": attempts, "outcomes": counts, "examples": examples}
    (ROOT / "bench" / "results" / "fuzz.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("attempts", "outcomes", "examples")}, indent=1))


if __name__ == "__main__":
    main()
