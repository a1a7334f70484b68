"""A reader's loop on the command line: locate to labelme, correct, rescore, rerun."""

import json
import os
import time

from sharpscore.cli import main


def test_locate_correct_rescore(jpeg_patient, tmp_path, capsys):
    film = jpeg_patient / "P00000-RH.jpg"
    lm = tmp_path / "marks" / "P00000-RH.json"
    lm.parent.mkdir()
    assert main(["locate", str(film), "--labelme", str(lm)]) == 0
    doc = json.loads(lm.read_text())
    assert {s["label"] for s in doc["shapes"]} >= {"mcp2", "radcar"} and doc["sharpscore"]["region"] == "RH"
    assert main(["locate", str(film), "--labelme", str(lm)]) == 2  # never replaced
    assert "never replaces" in capsys.readouterr().err

    # the reader keeps three joints and moves one
    doc["shapes"] = [s for s in doc["shapes"] if s["label"] in ("mcp2", "mcp3", "pip2")]
    doc["shapes"][0]["points"][0][0] += 2.0
    lm.write_text(json.dumps(doc))
    out = tmp_path / "res"
    assert main(["score", str(film), "--landmarks", str(lm.parent), "--out", str(out), "--quiet"]) == 0
    res = json.loads((out / "radiographs" / "P00000-RH.json").read_text())
    assert "reader_landmarks:3" in res["flags"]
    first = (out / "radiographs" / "P00000-RH.json").stat().st_mtime

    capsys.readouterr()
    assert main(["score", str(film), "--landmarks", str(lm.parent), "--out", str(out), "--quiet"]) == 0
    assert "1 already done" in capsys.readouterr().out
    # an edit after the result makes it stale: rescored
    time.sleep(0.01)
    later = time.time() + 5
    os.utime(lm, (later, later))
    assert main(["score", str(film), "--landmarks", str(lm.parent), "--out", str(out), "--quiet"]) == 0
    assert "already done" not in capsys.readouterr().out
    assert (out / "radiographs" / "P00000-RH.json").stat().st_mtime >= first
