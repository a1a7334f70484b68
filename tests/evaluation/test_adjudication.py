"""`sharpscore compare`: a reader's grades against the model's prediction sets, and reader vs reader."""

import csv
import json

import pytest

from sharpscore import schema
from sharpscore.api.batch import score_cohort
from sharpscore.cli import main


@pytest.fixture()
def results(jpeg_patient, scorer, tmp_path):
    out = tmp_path / "res"
    score_cohort([jpeg_patient], out, scorer=scorer, progress=False)
    return out


def test_reader_against_the_model_sets(results, jpeg_patient, tmp_path, capsys):
    truth = schema.read_ra2_csv(jpeg_patient / "training.csv")
    assert main(["compare", "--reader", str(jpeg_patient / "training.csv"), "--pred", str(results),
                 "--out", str(tmp_path / "a")]) == 0
    inside = json.loads((tmp_path / "a" / "summary.json").read_text())["inside_model_set"]
    assert inside >= 0.85  # the phantom's true grades mostly fall in the calibrated sets
    # a reader who calls MCP2 of the left hand erosion 5: listed for adjudication
    row = dict(truth[0])
    row["LH_mcp_E__2"] = 5
    schema.write_ra2_csv(tmp_path / "reader.csv", [row], )
    capsys.readouterr()
    assert main(["compare", "--reader", str(tmp_path / "reader.csv"), "--pred", str(results),
                 "--out", str(tmp_path / "b")]) == 0
    assert "inside the model's prediction sets" in capsys.readouterr().out
    listed = list(csv.DictReader((tmp_path / "b" / "adjudication.csv").open()))
    assert any(r["region"] == "LH" and r["site"] == "mcp2" and r["measure"] == "erosion" and r["reader"] == "5"
               for r in listed)
    assert (tmp_path / "b" / "adjudication.png").read_bytes()[:4] == b"\x89PNG"
    # reader vs reader: exactly that grade differs by more than one
    assert main(["compare", "--reader", str(jpeg_patient / "training.csv"), "--reader2", str(tmp_path / "reader.csv"),
                 "--out", str(tmp_path / "c")]) == 0
    rr = list(csv.DictReader((tmp_path / "c" / "adjudication.csv").open()))
    assert [(r["region"], r["site"], r["measure"]) for r in rr] == [("LH", "mcp2", "erosion")] or \
        truth[0]["LH_mcp_E__2"] >= 4


def test_a_folder_without_results_is_refused(tmp_path, jpeg_patient, capsys):
    assert main(["compare", "--reader", str(jpeg_patient / "training.csv"), "--pred", str(tmp_path),
                 "--out", str(tmp_path / "o")]) == 2
    assert "no sharpscore results" in capsys.readouterr().err
