"""Bounded fuzzing: `python bench/fuzz.py [--target loader|tables|configs|scoring|landmarks] [--seconds 120] [--seed 0]`.

``--target tables`` mutates a reader table in the RA2-DREAM layout (cells replaced by garbage, bytes
flipped, rows cut or doubled) and runs `sharpscore evaluate` on it in-process; ``--target configs``
mutates the shipped YAML configs (values replaced by other types, keys dropped or misspelt, bytes
flipped) and loads and validates them as `sharpscore train` does, without training. For both, a
one-line typed error (exit 2) or a normal result is the promised behaviour, and "internal error" or
a raw exception is a bug. ``--target scoring`` passes hostile but decodable films through
localisation and scoring (rotated, flipped, cropped, padded, shrunk, noisy, gamma-warped, inverted,
blocked out, tiled, constant, tiny; wrong spacing, reader landmarks off the film or with NaN, an
unknown region): a typed error or a result with only finite numbers is promised, and a scored
hostile film should carry a review reason of its own, beyond the model-wide provenance flags
(``scored_without_review`` counts those that do not). Every film scored without one is checked
against its seed film's own result (an oracle: the mutation's geometry is known, so the seed's
joints can be mapped onto it): it is ``right`` when its region and side are the seed's, its
confident joints lie within 4 mm of the seed's (90% of them) and its total over the joints both
score is within 3 points or 25%; ``silent_wrong`` otherwise, or when the film shows no anatomy to
score (constant, tiny, two hands tiled); ``mirrored_as_other_side`` when a mirrored film (no
laterality tag) is read as the side it shows; ``unchecked`` for reader landmarks (the reader's
answer). ``--target landmarks`` mutates a reader's
labelme landmark file (the top level, shapes, points and sizes replaced by other types, keys dropped,
coordinates made NaN, huge or negative, bytes flipped) and reads it as `score --landmarks` does;
one in ten is also scored with a phantom film. Results:
bench/results/fuzz-tables.json, fuzz-configs.json, fuzz-scoring.json, fuzz-landmarks.json.

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


_TABLE_GARBAGE = ["", "abc", "-1", "0", "1e308", "NaN", "inf", "99", "2.5", "9" * 400, "\u00e9\u00e8", "1,2", '"', "\x00"]


def mutate_table(text: str, rng: random.Random) -> tuple[str, str]:
    """A reader table with cells, rows or bytes damaged."""
    lines = text.splitlines()
    kind = rng.choice(["cell", "cell", "cells", "header_cell", "drop_rows", "duplicate_row", "bytes"])
    if kind in ("cell", "cells", "header_cell"):
        for _ in range(1 if kind != "cells" else rng.randint(2, 30)):
            r = 0 if kind == "header_cell" else rng.randrange(1, len(lines))
            cells = lines[r].split(",")
            cells[rng.randrange(len(cells))] = rng.choice(_TABLE_GARBAGE)
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


def _tally(counts: dict[str, int], by_how: dict[str, dict[str, int]], how: str, outcome: str) -> None:
    """Count one attempt's outcome, overall and under its mutation."""
    counts[outcome] = counts.get(outcome, 0) + 1
    by_how.setdefault(how, {}).setdefault(outcome, 0)
    by_how[how][outcome] += 1


def _record(examples: dict[str, list[str]], exc: Exception, case: str, keep: int = 3) -> None:
    """Keep the first ``keep`` examples of each raw exception class, with where it was raised."""
    ex = examples.setdefault(type(exc).__name__, [])
    if len(ex) < keep:
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        ex.append(f"{case}: {str(exc)[:120]} ({Path(tb.filename).name}:{tb.lineno})")


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
            _record(examples, exc, f"{name} {how}")
        finally:
            signal.alarm(0)
    return {"attempts": attempts, "outcomes": counts, "examples": examples, "seed_configs": sorted(docs)}


def _scoring_seeds() -> list[tuple[str, np.ndarray, tuple[float, float] | None]]:
    from sharpscore.synth import render

    out = []
    for path in (SHARED / "dicom" / "NM_Kakadu44_SOTmarkerincons.dcm",):
        if path.exists():
            rg = sharpscore.load_radiograph(path)
            out.append((path.name, rg.pixels, rg.spacing_mm))
    for i in ("3300", "3769"):
        path = SHARED / "dha-hands" / "images" / f"{i}.jpg"
        if path.exists():
            out.append((f"dha-{i}", sharpscore.load_radiograph(path).pixels, (0.108075, 0.108075)))
    for region in ("RH", "LF"):
        out.append((f"phantom-{region}", render(region, {}, seed=3, spacing_mm=0.15).radiograph.pixels, (0.15, 0.15)))
    return out


def _rotated(px: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """``px`` turned by ``degrees`` about its centre onto a canvas that holds all of it, and the
    3 x 3 map of (x, y, 1) from the input's pixels to the output's."""
    from scipy import ndimage

    h, w = px.shape
    th = np.deg2rad(degrees)
    r = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    corners = (np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], float) - [(w - 1) / 2, (h - 1) / 2]) @ r.T
    ow, oh = (int(np.ceil(v)) + 1 for v in corners.max(0) - corners.min(0))
    c_in, c_out = np.array([(w - 1) / 2, (h - 1) / 2]), np.array([(ow - 1) / 2, (oh - 1) / 2])
    back = r.T  # output (x, y) -> input (x, y): p = R^T (p' - c_out) + c_in
    off = c_in - back @ c_out
    out = ndimage.affine_transform(px, back[::-1, ::-1], offset=off[::-1], output_shape=(oh, ow), order=1, cval=0.0)
    fwd = np.eye(3)
    fwd[:2, :2], fwd[:2, 2] = r, c_out - r @ c_in
    return out, fwd


def _shift(dx: float, dy: float, scale: float = 1.0) -> np.ndarray:
    return np.array([[scale, 0, dx], [0, scale, dy], [0, 0, 1.0]])


def mutate_film(pixels: np.ndarray, spacing, rng: random.Random):
    """A film that decodes fine but is hostile to the pipeline: geometry, intensity, spacing and
    reader landmarks gone wrong. Returns (pixels, spacing, landmarks or None, region or None, how,
    where): ``where`` is the 3 x 3 map of (x, y, 1) from the seed film's pixels to the hostile
    film's when the same anatomy is still shown there (geometry, intensity and spacing mutations),
    None when no answer is known (a constant, tiny or tiled film, reader landmarks)."""
    from scipy import ndimage

    px = np.asarray(pixels, np.float32)
    h, w = px.shape
    how = rng.choice(["rotate", "flip", "crop", "pad", "shrink", "noise", "gamma", "invert", "block", "line",
                      "tile", "spacing", "constant", "tiny", "landmarks", "landmarks_outside", "region"])
    lm, region, where = None, None, np.eye(3)
    if how == "rotate":
        px, where = _rotated(px, rng.uniform(0, 360))
    elif how == "flip":
        if rng.random() < 0.5:
            px, where = px[::-1], np.array([[1, 0, 0], [0, -1, h - 1], [0, 0, 1.0]])
        else:
            px, where = px[:, ::-1], np.array([[-1, 0, w - 1], [0, 1, 0], [0, 0, 1.0]])
    elif how == "crop":
        y0, x0 = rng.randrange(h // 2), rng.randrange(w // 2)
        px = px[y0:y0 + rng.randrange(8, h - y0 + 1), x0:x0 + rng.randrange(8, w - x0 + 1)]
        where = _shift(-x0, -y0)
    elif how == "pad":
        k = rng.randrange(1, max(h, w))
        px = np.pad(px, k, constant_values=rng.choice([0.0, 1.0, 0.5]))
        where = _shift(k, k)
    elif how == "shrink":
        f = rng.uniform(0.05, 0.6)
        px = ndimage.zoom(px, f, order=1)
        spacing = None if spacing is None else (spacing[0] / f, spacing[1] / f)
        where = np.diag([(px.shape[1] - 1) / (w - 1), (px.shape[0] - 1) / (h - 1), 1.0])
    elif how == "noise":
        px = px + np.random.default_rng(rng.randrange(1 << 30)).normal(0, rng.uniform(0.05, 1.0), px.shape)
    elif how == "gamma":
        px = np.clip(px, 0, 1) ** rng.choice([0.05, 0.3, 3.0, 20.0])
    elif how == "invert":
        px = 1.0 - px
    elif how == "block":
        y0, x0 = rng.randrange(h), rng.randrange(w)
        px = px.copy()
        px[y0:y0 + rng.randrange(1, h), x0:x0 + rng.randrange(1, w)] = rng.choice([0.0, 1.0, rng.uniform(0.2, 0.8)])
    elif how == "line":
        px = px.copy()
        px[:, rng.randrange(w)] = 1.0
        px[rng.randrange(h), :] = 1.0
    elif how == "tile":
        px, where = np.concatenate([px, px[:, ::-1]], axis=1), None
    elif how == "spacing":
        spacing = rng.choice([None, (0.001, 0.001), (5.0, 5.0), (0.1, 2.0), (rng.uniform(0.02, 1.0),) * 2])
    elif how == "constant":
        px, where = np.full_like(px, rng.choice([0.0, 0.5, 1.0])), None
    elif how == "tiny":
        px, where = px[:rng.randrange(1, 40), :rng.randrange(1, 40)], None
    elif how in ("landmarks", "landmarks_outside"):
        where = None
        names = ["mcp2", "mcp3", "pip3", "radcar", "mtp1", "ip", "nosuchsite"]
        big = 10 * max(h, w) if how == "landmarks_outside" else 1
        lm = {n: (rng.uniform(-big, w * big), rng.uniform(-big, h * big)) for n in rng.sample(names, rng.randrange(1, 6))}
        if rng.random() < 0.2:
            lm[rng.choice(names)] = (float("nan"), 3.0)
    elif how == "region":
        region = rng.choice(["LH", "RH", "LF", "RF", "XX", "lh"])
    return np.ascontiguousarray(np.clip(px, 0.0, 1.0), np.float32), spacing, lm, region, how, where


def _film_reasons(flags) -> list:
    """The review reasons a film's result carries beyond those every result of the model carries
    (what the scorer has seen, its calibration size) and the informational ones."""
    from sharpscore.flags import FlagKind, parse_known

    model_wide = {FlagKind.SCORER_TRAINED_ON_PHANTOMS_ONLY, FlagKind.SCORER_NEVER_SAW_REAL_HAND,
                  FlagKind.SCORER_NEVER_SAW_REAL_FOOT, FlagKind.SCORER_REAL_FILMS_SIMULATED_DISEASE,
                  FlagKind.SMALL_CALIBRATION}
    return [f for f in parse_known(flags) if not f.kind.informational and f.kind not in model_wide]


# Tolerances of the answer a hostile film should still get when it shows the seed's anatomy: every
# confident joint within JOINT_MM of where the seed's joint lands, the total within TOTAL_POINTS or
# TOTAL_FRACTION of the seed's (over the joints both score).
JOINT_MM, JOINT_SHARE, TOTAL_POINTS, TOTAL_FRACTION = 4.0, 0.9, 3.0, 0.25


def _side_mirrored(region: str) -> str:
    return {"L": "R", "R": "L"}[region[0]] + region[1:]


def oracle(ref, res, where: np.ndarray | None, how: str) -> tuple[str, str]:
    """What a result scored without a review reason of its own is, against the seed film's own
    result ``ref`` mapped by ``where``: 'right', 'silent_wrong' (another region or side, joints off
    their anatomy, or another total), 'mirrored_as_other_side' (a film mirrored without a laterality
    tag read as the side it shows: no pixel can tell, see the closing note of #18), or 'unchecked'
    (reader landmarks given: the reader's answer); and why."""
    if how in ("landmarks", "landmarks_outside"):
        return "unchecked", "reader landmarks"
    if where is None:  # a constant, tiny or tiled (two hands) film has no right score: refuse or flag
        return "silent_wrong", "no anatomy to score"
    from sharpscore import schema

    if schema.region_kind(res.region) != schema.region_kind(ref.region):
        return "silent_wrong", f"read as {res.region}"
    mirrored = np.linalg.det(where[:2, :2]) < 0
    side_ok = res.region == ref.region
    sp = float(np.mean(res.spacing_mm))
    near, common = 0, []
    h, w = res.radiograph.pixels.shape
    for site, p in res.landmarks.items():
        if site not in ref.landmarks or (len(p) > 2 and p[2] is not None and p[2] < 0.3):
            continue
        q = where @ np.array([ref.landmarks[site][0], ref.landmarks[site][1], 1.0])
        if not (0 <= q[0] < w and 0 <= q[1] < h):
            return "silent_wrong", f"{site} located outside the film's view of it"
        near += float(np.hypot(p[0] - q[0], p[1] - q[1])) * sp <= JOINT_MM
        common.append(site)
    if common and near < JOINT_SHARE * len(common):
        return "silent_wrong", f"{len(common) - near} of {len(common)} joints over {JOINT_MM:g} mm off"
    both = set(common) | {j.site for j in res.joints if j.site in ref.landmarks}

    def total(r) -> float:
        return sum(v for j in r.joints if j.site in both for v in (j.erosion, j.jsn) if v is not None)

    t_ref, t = total(ref), total(res)
    if abs(t - t_ref) > max(TOTAL_POINTS, TOTAL_FRACTION * t_ref):
        return "silent_wrong", f"total {t:.1f} for {t_ref:.1f}"
    if not side_ok:
        if mirrored and res.region == _side_mirrored(ref.region):
            return "mirrored_as_other_side", f"read as {res.region}"
        return "silent_wrong", f"read as {res.region}"
    return "right", ""


def fuzz_scoring(a, rng: random.Random, tmp: Path) -> dict:  # noqa: ARG001
    """Hostile but decodable films through localisation and scoring (``Scorer.score``). Promised: a
    typed error, or a result whose every number is finite and whose JSON is valid; anything else is
    counted (raw exception, non-finite result, hang over 60 s)."""
    from sharpscore import Scorer

    scorer = Scorer()
    pool = _scoring_seeds()
    # scored: with a review reason of its own (the promised outcome for a hostile film still scored);
    # scored_without_review: a hostile film scored with no reason of its own for a reader to look
    # (beyond the model-wide provenance flags every result carries): to inspect
    counts = {"typed_error": 0, "scored": 0, "scored_without_review": 0, "raw_exception": 0,
              "non_finite_result": 0, "hang": 0}
    by_how: dict[str, dict[str, int]] = {}
    examples: dict[str, list[str]] = {}
    # every film scored without a review reason is checked against its seed's own answer (oracle)
    refs = {name: scorer.score(sharpscore.load_radiograph(pixels, spacing_mm=spacing)) for name, pixels, spacing in pool}
    verdicts: dict[str, int] = {}
    verdict_by_how: dict[str, dict[str, int]] = {}
    attempts, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < a.seconds:
        name, pixels, spacing = rng.choice(pool)
        px, sp, lm, region, how, where = mutate_film(pixels, spacing, rng)
        attempts += 1
        signal.alarm(60)
        outcome = "scored"
        try:
            rg = sharpscore.load_radiograph(px, spacing_mm=sp)
            res = scorer.score(rg, landmarks=lm, region=region)
            doc = json.loads(res.to_json())
            numbers = [res.total, res.erosion, res.jsn, *[v for iv in res.intervals.values() for v in iv]]
            if not all(np.isfinite(numbers)) or doc["total"] is None:
                outcome = "non_finite_result"
                examples.setdefault(outcome, []).append(f"{name} {how}")
            elif not _film_reasons(res.flags):
                outcome = "scored_without_review"
                verdict, why = oracle(refs[name], res, where, how)
                _tally(verdicts, verdict_by_how, how, verdict)
                if verdict == "silent_wrong" and len(examples.setdefault("silent_wrong", [])) < 12:
                    examples["silent_wrong"].append(f"{name} {how}: {why}")
        except SharpScoreError:
            outcome = "typed_error"
        except _Hang:
            outcome = "hang"
            examples.setdefault("hang", []).append(f"{name} {how}")
        except Exception as exc:  # noqa: BLE001 - what the bench is looking for
            outcome = "raw_exception"
            _record(examples, exc, f"{name} {how}")
        finally:
            signal.alarm(0)
        _tally(counts, by_how, how, outcome)
    return {"attempts": attempts, "outcomes": counts, "by_mutation": by_how,
            "scored_without_review_checked": {"verdicts": verdicts, "by_mutation": verdict_by_how,
                                              "tolerances": {"joint_mm": JOINT_MM, "joint_share": JOINT_SHARE,
                                                             "total_points": TOTAL_POINTS,
                                                             "total_fraction": TOTAL_FRACTION}},
            "examples": examples, "seed_films": [n for n, _, _ in pool]}


_LABELME_GARBAGE = [None, "", "x", -1, 0, 1e308, float("nan"), float("inf"), [], {}, [1], [[1]], [[1, 2, 3]], "[1,2]", True]


def mutate_labelme(doc: dict, rng: random.Random) -> tuple[object, str]:
    """One structural mutation of a labelme document (the top level, a shape, a point, a size)."""
    import copy

    doc = copy.deepcopy(doc)
    how = rng.choice(["top", "shapes", "shape", "label", "points", "coordinate", "size", "extra", "drop"])
    if how == "top":
        return rng.choice([[], "labelme", 3, None, [doc]]), how
    if how == "shapes":
        doc["shapes"] = rng.choice(_LABELME_GARBAGE)
    elif how in ("shape", "label", "points", "coordinate") and doc["shapes"]:
        i = rng.randrange(len(doc["shapes"]))
        if how == "shape":
            doc["shapes"][i] = rng.choice(_LABELME_GARBAGE)
        elif how == "label":
            doc["shapes"][i]["label"] = rng.choice(_LABELME_GARBAGE + ["mcp9", "nosuchsite", "w1"])
        elif how == "points":
            doc["shapes"][i]["points"] = rng.choice(_LABELME_GARBAGE)
        else:
            doc["shapes"][i]["points"][0][rng.randrange(2)] = rng.choice(
                [float("nan"), float("inf"), -5.0, 1e9, "12", None, [3]])
    elif how == "size":
        doc[rng.choice(["imageHeight", "imageWidth"])] = rng.choice(_LABELME_GARBAGE)
    elif how == "extra":
        doc["sharpscore"] = rng.choice(_LABELME_GARBAGE + [{"spacing_mm": "x"}, {"region": 5}])
    else:
        doc.pop(rng.choice(["shapes", "imageHeight", "version"]), None)
        if doc.get("shapes") and rng.random() < 0.5:
            doc["shapes"][rng.randrange(len(doc["shapes"]))].pop(rng.choice(["label", "points", "shape_type"]), None)
    return doc, how


def fuzz_landmarks(a, rng: random.Random, tmp: Path) -> dict:
    """Hostile labelme landmark files read as a reader's landmarks (``read_reader_landmarks``) and,
    one in ten, scored with a phantom film (``Scorer.score(..., landmarks=path)``)."""
    from sharpscore import Scorer
    from sharpscore.api.landmarks import read_reader_landmarks
    from sharpscore.io.labelme import write_labelme
    from sharpscore.synth import render

    ph = render("RH", {}, seed=5, spacing_mm=0.15)
    good = tmp / "good.json"
    write_labelme(good, {k: v[:2] for k, v in ph.landmarks.items()}, image_path="x.png",
                  image_height=ph.radiograph.shape[0], image_width=ph.radiograph.shape[1])
    seed_doc = json.loads(good.read_text())
    scorer = Scorer()
    counts = {"typed_error": 0, "read": 0, "scored": 0, "raw_exception": 0, "hang": 0}
    by_how: dict[str, dict[str, int]] = {}
    examples: dict[str, list[str]] = {}
    attempts, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < a.seconds:
        case = tmp / "case.json"
        if rng.random() < 0.2:
            data, how = mutate(good.read_bytes(), rng)
            case.write_bytes(data)
        else:
            doc, how = mutate_labelme(seed_doc, rng)
            case.write_text(json.dumps(doc))
        attempts += 1
        signal.alarm(60)
        try:
            read_reader_landmarks(case, "hand")
            outcome = "read"
            if rng.random() < 0.1:
                res = scorer.score(ph.radiograph, landmarks=case)
                json.loads(res.to_json())
                outcome = "scored"
        except SharpScoreError:
            outcome = "typed_error"
        except _Hang:
            outcome = "hang"
        except Exception as exc:  # noqa: BLE001 - what the bench is looking for
            outcome = "raw_exception"
            _record(examples, exc, how)
        finally:
            signal.alarm(0)
        _tally(counts, by_how, how, outcome)
    return {"attempts": attempts, "outcomes": counts, "by_mutation": by_how, "examples": examples,
            "seed_file": "a phantom right hand's labelme landmarks (sharpscore.synth.render seed 5)"}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=120)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--target", default="loader", choices=["loader", "tables", "configs", "scoring", "landmarks"])
    a = p.parse_args()
    rng = random.Random(a.seed)
    signal.signal(signal.SIGALRM, _alarm)
    tmp = Path(tempfile.mkdtemp(prefix="sharpscore-fuzz-"))
    if a.target != "loader":
        import logging

        logging.disable(logging.WARNING)
        res = {"tables": fuzz_tables, "configs": fuzz_configs, "scoring": fuzz_scoring,
               "landmarks": fuzz_landmarks}[a.target](a, rng, tmp)
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
