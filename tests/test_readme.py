"""The README's quickstart and commands must keep working."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_quickstart_runs(tmp_path, monkeypatch, capsys):
    text = README.read_text()
    block = re.search(r"## Quickstart\s+```python\n(.*?)```", text, re.S).group(1)
    assert len(block.strip().splitlines()) <= 8
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(block, "README quickstart", "exec"), ns)
    out = capsys.readouterr().out
    region, total = out.split()[:2]
    truth = 5  # synth.write_example draws MCP2 erosion 2 and JSN 1, PIP3 JSN 2, every other joint 0
    assert region == "RH" and abs(float(total) - truth) <= 2.5
    lo, hi = ns["result"].intervals["total"]
    assert lo <= truth <= hi
    assert (tmp_path / "hand.dcm").exists() and (tmp_path / "hand.png").read_bytes()[:4] == b"\x89PNG"
    assert ns["fixed"].landmarks["mcp2"][2] == 1.0 and "reader_landmarks:1" in ns["fixed"].flags


def test_readme_names_the_two_setup_commands():
    text = README.read_text()
    assert "make demo" in text and "make test" in text


def test_public_api_names():
    import sharpscore

    assert callable(sharpscore.locate_joints) and callable(sharpscore.load_radiograph)
    assert callable(sharpscore.score_radiograph) and callable(sharpscore.score_patient) and sharpscore.Scorer
    assert callable(sharpscore.finetune)
    assert sharpscore.synth.render and sharpscore.evaluation.icc and sharpscore.models.available
    import pytest

    with pytest.raises(AttributeError):
        sharpscore.no_such_thing  # noqa: B018
