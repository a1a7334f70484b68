"""Hostile and careless inputs: typed errors, never a hang, a NaN score or a file read from elsewhere."""

import os
import threading

import numpy as np
import pytest

from sharpscore.errors import CorruptImageError, NotAFileError
from sharpscore.io import load_radiograph


def _mha(path, arr, data_file="LOCAL", raw=None):
    header = (f"ObjectType = Image\nNDims = 2\nDimSize = {arr.shape[1]} {arr.shape[0]}\n"
              f"ElementSpacing = 0.1 0.1\nElementType = MET_FLOAT\nElementDataFile = {data_file}\n")
    with open(path, "wb") as fh:
        fh.write(header.encode())
        if data_file == "LOCAL":
            fh.write(arr.astype("<f4").tobytes())
    return path


def test_non_finite_float_pixels_are_refused(tmp_path):
    arr = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    arr[3, 4] = np.inf
    with pytest.raises(CorruptImageError, match="NaN or infinite"):
        load_radiograph(_mha(tmp_path / "inf.mha", arr))
    arr[3, 4] = np.nan
    with pytest.raises(CorruptImageError, match="NaN or infinite"):
        load_radiograph(_mha(tmp_path / "nan.mha", arr))


def test_metaimage_data_file_outside_its_folder_is_refused(tmp_path):
    (tmp_path / "secret.raw").write_bytes(np.zeros((8, 8), "<f4").tobytes())
    inner = tmp_path / "films"
    inner.mkdir()
    hdr = _mha(inner / "evil.mhd", np.zeros((8, 8)), data_file="../secret.raw")
    with pytest.raises(CorruptImageError, match="outside the header's folder"):
        load_radiograph(hdr)
    hdr = _mha(inner / "abs.mhd", np.zeros((8, 8)), data_file=str(tmp_path / "secret.raw"))
    with pytest.raises(CorruptImageError, match="outside"):
        load_radiograph(hdr)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "pipe.dcm"
    os.mkfifo(fifo)
    result = {}

    def load():
        try:
            load_radiograph(fifo)
        except NotAFileError as exc:
            result["error"] = str(exc)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(5)
    assert not t.is_alive(), "load_radiograph blocked on a FIFO"
    assert "not a regular file" in result["error"]


def test_csv_cells_cannot_become_formulas(tmp_path):
    from sharpscore import schema

    assert schema.csv_text("=HYPERLINK(1)") == "'=HYPERLINK(1)" and schema.csv_text("P001") == "P001"
    row = schema.records_to_ra2_row("=cmd|' /C calc'!A0", [])
    schema.write_ra2_csv(tmp_path / "s.csv", [row])
    assert (tmp_path / "s.csv").read_text().splitlines()[1].startswith("'=cmd")


def test_api_argument_mistakes_are_typed(scorer):
    from sharpscore.errors import InputError

    with pytest.raises(InputError, match="errors must be"):
        scorer.score_many([], errors="bogus")
    with pytest.raises(InputError, match="at least one region"):
        scorer.score_patient({})
    with pytest.raises(InputError, match="at least one region"):
        scorer.score_patient("/folder")


def test_a_run_where_every_file_fails_exits_non_zero(tmp_path, capsys):
    from sharpscore.cli import main

    d = tmp_path / "in"
    d.mkdir()
    (d / "a.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    (d / "b.txt").write_text("not an image")
    code = main(["score", str(d), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 2
    assert "none of the 2 files could be scored" in capsys.readouterr().err
    assert len((tmp_path / "out" / "errors.csv").read_text().splitlines()) == 3  # header + both files


def test_a_wrong_user_spacing_is_flagged(jpeg_patient, scorer):
    from sharpscore.io import load_radiograph

    good = scorer.score(load_radiograph(jpeg_patient / "P00000-RH.jpg"))
    assert not any(f.startswith("spacing_disagrees") for f in good.flags)
    rg = load_radiograph(jpeg_patient / "P00000-RH.jpg", spacing_mm=0.5)  # the hand would be 1 m long
    res = scorer.score(rg)
    assert any(f.startswith("spacing_disagrees_with_anatomy:") for f in res.flags) and res.needs_review


def test_results_inside_the_input_folder_are_not_read_back(jpeg_patient, scorer, tmp_path):
    import shutil

    from sharpscore.api.batch import score_cohort

    d = tmp_path / "films"
    d.mkdir()
    shutil.copy(jpeg_patient / "P00000-RH.jpg", d / "P00000-RH.jpg")
    first = score_cohort([d], d / "results", scorer=scorer, formats=("json", "csv", "png"), progress=False)
    assert (first.scored, first.failed) == (1, 0)
    assert any((d / "results" / "overlays").iterdir())
    again = score_cohort([d], d / "results", scorer=scorer, formats=("json", "csv", "png"), progress=False)
    assert (again.scored, again.failed, again.skipped) == (0, 0, 1)  # its own overlay PNGs are not inputs


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04" + b"\x00" * 40])
def test_corrupt_model_bundles_are_typed_errors(tmp_path, content):
    import pickle

    from sharpscore.errors import ModelError
    from sharpscore.models import load_localizer, load_scorer

    bad = tmp_path / "best.pt"
    bad.write_bytes(content)
    with pytest.raises(ModelError, match="not a sharpscore"):
        load_scorer(bad)
    with pytest.raises(ModelError):
        load_localizer(bad)
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"model": object()}))
    with pytest.raises(ModelError) as info:
        load_scorer(evil)
    assert "weights_only=False" not in str(info.value) and "\n" not in str(info.value)


def test_half_written_files_of_a_killed_run_are_cleaned_and_user_files_kept(tmp_path):
    """atomic_write's temporaries left by kill -9 go on the next run; a user's look-alike file stays."""
    import os
    import tempfile

    from sharpscore._fsutil import remove_stale_temporaries

    out = tmp_path / "res" / "overlays"
    out.mkdir(parents=True)
    fd, tmp = tempfile.mkstemp(prefix=".a.png.", suffix=".tmp.png", dir=out)
    os.close(fd)
    (out / ".notes.tmp.png").write_text("the user's")
    assert remove_stale_temporaries(tmp_path / "res") == 1
    assert not os.path.exists(tmp) and (out / ".notes.tmp.png").exists()


def test_a_live_writers_temporaries_are_kept_a_dead_ones_removed(tmp_path):
    """Ranks of a sharded run share the results folder: one rank's cleanup must not delete a file
    another rank is writing (named with host and pid by atomic_write), only a dead writer's."""
    import subprocess
    import sys

    from sharpscore._fsutil import _host, _temporary, create_once, remove_stale_temporaries

    mine = _temporary(tmp_path / "a.json")  # this process: it is cleaning, so it writes nothing now
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        names = {pid: tmp_path / f".b.json.{_host()}-{pid}.abcd1234.tmp.json" for pid in (live.pid, dead.pid)}
        for p in names.values():
            p.write_text("{")
        other_host = tmp_path / ".c.json.elsewhere-1.abcd1234.tmp.json"
        other_host.write_text("{")
        assert mine.name.startswith(f".a.json.{_host()}-{os.getpid()}.")
        assert remove_stale_temporaries(tmp_path) == 2
        assert names[live.pid].exists() and other_host.exists()
        assert not names[dead.pid].exists() and not mine.exists()
        os.utime(other_host, (0, 0))  # another machine's writer is presumed dead after an hour
        assert remove_stale_temporaries(tmp_path) == 1 and not other_host.exists()
    finally:
        live.kill()
    # racing processes creating the same secret agree on it: the first one stays
    assert create_once(tmp_path / "salt", "first") == "first"
    assert create_once(tmp_path / "salt", "second") == "first"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".salt")] == []


def test_decode_workers_die_with_their_parent(tmp_path):
    """kill -9 of a process whose decode workers are busy leaves no orphan (Linux PR_SET_PDEATHSIG;
    without it the busy workers outlive their parent)."""
    import signal
    import subprocess
    import sys
    import time

    if not sys.platform.startswith("linux"):
        pytest.skip("parent-death signal is Linux")
    code = ("import time, os\n"
            "from concurrent.futures import ProcessPoolExecutor\n"
            "from sharpscore._fsutil import die_with_parent\n"
            "pool = ProcessPoolExecutor(2, initializer=die_with_parent)\n"
            "fut = [pool.submit(time.sleep, 30) for _ in range(2)]  # busy, as when decoding\n"
            "time.sleep(0.5)\n"
            "print(' '.join(str(p) for p in pool._processes), flush=True)\n"
            "time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    workers = [int(p) for p in proc.stdout.readline().split()]
    assert workers
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    alive = workers
    while alive and time.time() < deadline:
        time.sleep(0.2)
        alive = [p for p in workers if os.path.exists(f"/proc/{p}") and
                 open(f"/proc/{p}/stat").read().split(")")[1].split()[0] != "Z"]
    assert not alive


def test_fuzz_found_classes_are_typed_errors(tmp_path):
    """What bench/fuzz.py found raw: an unknown DICOM VR, a PNG truncated inside a chunk, a null byte
    in a MetaImage header: each is now a one-line CorruptImageError."""
    from PIL import Image

    from sharpscore.io.dicom_write import write_dicom

    path = write_dicom(tmp_path / "a.dcm", (np.arange(64 * 64).reshape(64, 64) % 4096).astype(np.uint16),
                       spacing_mm=0.1, series_description="HAND PA")
    data = bytearray(path.read_bytes())
    i = data.index(b"HAND PA") - 4  # the VR bytes of SeriesDescription (explicit VR little endian)
    data[i:i + 2] = b"\x4c\xaf"
    (tmp_path / "vr.dcm").write_bytes(bytes(data))
    Image.fromarray((np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)).save(tmp_path / "b.png")
    png = (tmp_path / "b.png").read_bytes()
    (tmp_path / "t.png").write_bytes(png[:len(png) // 2])
    (tmp_path / "n.mha").write_bytes(b"ObjectType = Image\nNDims = 2\nDimSize = 4 4\nElementType = MET_UCHAR\n"
                                     b"ElementDataFile = a\x00b.raw\n")
    for name in ("vr.dcm", "t.png", "n.mha"):
        with pytest.raises(CorruptImageError) as info:
            load_radiograph(tmp_path / name)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("case", ["nonutf_csv", "huge_field_csv", "out_is_a_file", "deep_yaml", "nonutf_yaml",
                                  "unknown_by_column"])
def test_evaluate_and_train_inputs_are_one_line_errors(tmp_path, capsys, case):
    """Item 5 of the bad-input issue: each of these was an 'internal error'; now one line, exit 2."""
    from sharpscore import schema
    from sharpscore.cli import main

    ok = tmp_path / "ok.csv"
    schema.write_ra2_csv(ok, [{"Patient_ID": "P1", "Overall_Tol": 0, "Overall_erosion": 0, "Overall_narrowing": 0}])
    if case == "nonutf_csv":
        (tmp_path / "x.csv").write_bytes(b"Patient_ID,Overall_Tol\n\xff\xfe,1\n")
        argv = ["evaluate", "--pred", str(tmp_path / "x.csv"), "--truth", str(ok), "--out", str(tmp_path / "o")]
    elif case == "huge_field_csv":
        (tmp_path / "x.csv").write_text("Patient_ID,Overall_Tol\n" + "x" * 200_000 + ",1\n")
        argv = ["evaluate", "--pred", str(tmp_path / "x.csv"), "--truth", str(ok), "--out", str(tmp_path / "o")]
    elif case == "out_is_a_file":
        (tmp_path / "o").write_text("mine")
        argv = ["evaluate", "--pred", str(ok), "--truth", str(ok), "--out", str(tmp_path / "o")]
    elif case == "deep_yaml":
        (tmp_path / "c.yaml").write_text("a: " + "[" * 20000 + "]" * 20000 + "\n")
        argv = ["train", str(tmp_path / "c.yaml")]
    elif case == "nonutf_yaml":
        (tmp_path / "c.yaml").write_bytes(b"task: scorer\nname: \xff\xfe\n")
        argv = ["train", str(tmp_path / "c.yaml")]
    else:
        argv = ["evaluate", "--pred", str(ok), "--truth", str(ok), "--out", str(tmp_path / "o"), "--by", "nosuch"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sharpscore: error:") and len(err.splitlines()) == 1 and "internal" not in err
    if case == "out_is_a_file":
        assert (tmp_path / "o").read_text() == "mine"


def test_a_full_disk_is_a_one_line_output_error(tmp_path, monkeypatch):
    """Writing on a full (or read-only) disk: OutputError naming the file, no temporary left."""
    import errno

    from sharpscore import _fsutil
    from sharpscore.errors import OutputError

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_fsutil.os, "replace", full)
    with pytest.raises(OutputError, match="No space left on device"):
        _fsutil.atomic_write_text(tmp_path / "a.json", "{}")
    assert list(tmp_path.iterdir()) == []


def test_a_missing_calibration_file_is_a_model_error(tmp_path):
    from sharpscore.errors import ModelError
    from sharpscore.models import verify

    with pytest.raises(ModelError, match="missing"):
        verify(tmp_path / "gone.calibration.json", "0" * 64)
