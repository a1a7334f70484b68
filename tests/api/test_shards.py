import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sharpscore.api.batch import score_cohort
from sharpscore.api.shards import Shard, merge_shards, parse_shard, shard_from_env
from sharpscore.cli import main
from sharpscore.errors import InputError

_OUTPUTS = ("scores.csv", "errors.csv")


def _same_outputs(a: Path, b: Path) -> None:
    for name in _OUTPUTS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_shards_cut_the_inputs_once_each():
    items = list(range(11))
    cut = [Shard(r, 3).take(items) for r in range(3)]
    assert cut == [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8]]
    assert parse_shard("2/3") == Shard(2, 3)
    for bad in ("3/3", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(InputError):
            parse_shard(bad)
    assert shard_from_env({"RANK": "1", "WORLD_SIZE": "4"}) == Shard(1, 4)
    assert shard_from_env({"RANK": "0", "WORLD_SIZE": "1"}) is None and shard_from_env({}) is None


def test_shards_merge_to_the_single_process_outputs_after_a_killed_shard(folder, scorer, tmp_path, monkeypatch):
    from sharpscore.api import batch

    single = tmp_path / "single"
    score_cohort([folder], single, scorer=scorer, progress=False, salt="s")
    out = tmp_path / "sharded"
    first = score_cohort([folder], out, scorer=scorer, progress=False, salt="s", shard=Shard(0, 2))
    assert first.scored + first.failed == 4 and not (out / "scores.csv").exists()
    with pytest.raises(InputError, match="shard.* 1 of 2 not finished"):
        merge_shards(out, scorer=scorer)

    real, calls = batch._write_outputs, []

    def killed_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # shard 1 dies while writing its second result
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "_write_outputs", killed_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        score_cohort([folder], out, scorer=scorer, progress=False, salt="s", shard=Shard(1, 2), batch_size=1)
    monkeypatch.setattr(batch, "_write_outputs", real)
    restarted = score_cohort([folder], out, scorer=scorer, progress=False, salt="s", shard=Shard(1, 2))
    assert restarted.skipped == 1  # what it finished before it died is kept
    merged = merge_shards(out, scorer=scorer)
    assert merged.failed == 3 and merged.patients == 2
    _same_outputs(single, out)
    # a damaged manifest is a typed error, not a traceback
    manifest = Shard(1, 2).manifest(out)
    good = manifest.read_text()
    manifest.write_text('{"rank": 1}')
    with pytest.raises(InputError, match="not a sharpscore shard manifest"):
        merge_shards(out, scorer=scorer)
    manifest.write_text(good)
    # a stale shard of another cut is refused, not mixed in
    score_cohort([folder], out, scorer=scorer, progress=False, salt="s", shard=Shard(0, 3))
    with pytest.raises(InputError, match="different runs"):
        merge_shards(out, scorer=scorer)


def test_cli_shard_and_merge(folder, tmp_path, capsys):
    out = tmp_path / "o"
    for rank in (0, 1):
        assert main(["score", str(folder), "--out", str(out), "--quiet", "--shard", f"{rank}/2", "--salt", "s"]) == 0
    assert "sharpscore merge" in capsys.readouterr().out
    assert main(["merge", str(out)]) == 0
    assert "2 patients" in capsys.readouterr().out
    assert main(["score", str(folder), "--out", str(tmp_path / "x"), "--shard", "2/2"]) == 2
    assert main(["merge", str(tmp_path / "nothing")]) == 2
    assert "no shard manifests" in capsys.readouterr().err


def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(d.name))
            except (OSError, IndexError, ValueError):
                continue
    return kids


def _rank_pid(launcher: int, rank: int) -> int | None:
    for pid in _children(launcher):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"RANK={rank}".encode() in env:
            return pid
    return None


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the rank to kill")
def test_torchrun_two_gloo_ranks_with_one_killed_and_rerun_give_the_single_process_outputs(folder, tmp_path):
    """`torchrun --nproc-per-node 2 -m sharpscore score`: rank 1 is killed with SIGKILL after its
    first result, the run fails; run again, it resumes and rank 0 merges the same CSVs as one process."""
    single = tmp_path / "single"
    assert main(["score", str(folder), "--out", str(single), "--quiet", "--salt", "s", "--threads", "1"]) == 0
    out = tmp_path / "dist"
    torchrun = Path(sys.executable).with_name("torchrun")
    cmd = [str(torchrun), "--standalone", "--nproc-per-node", "2", "-m", "sharpscore", "score", str(folder),
           "--out", str(out), "--quiet", "--salt", "s", "--threads", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    killed = False
    while time.time() < deadline and launcher.poll() is None:
        done = list((out / "radiographs").glob("*.json")) if (out / "radiographs").is_dir() else []
        rank1 = _rank_pid(launcher.pid, 1)
        if done and rank1:
            os.kill(rank1, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.05)
    log = launcher.communicate(timeout=120)[0].decode(errors="replace")
    assert killed, log
    assert launcher.returncode != 0 and not (out / "scores.csv").exists(), log
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "merged 2 ranks" in again.stdout
    _same_outputs(single, out)
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
