from sharpscore import schema
from sharpscore.cli import main


def test_demo_writes_a_patient_and_reruns_in_place(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "true SvdH total        23.0" in text and "predicted SvdH total" in text
    assert len(list((out / "phantom").glob("*.dcm"))) == 4
    rows = schema.read_ra2_csv(out / "results" / "scores.csv", require_all=False, check_totals=False,
                               extra_columns=schema.PREDICTION_EXTRA_COLUMNS)
    assert len(rows) == 1 and abs(float(rows[0]["Overall_Tol"]) - 23) < 12
    assert len(list((out / "results" / "overlays").glob("*.png"))) == 4
    assert main(["demo", "--out", str(out)]) == 0  # its own output may be regenerated
    assert schema.read_ra2_csv(out / "phantom" / "training.csv")[0]["Overall_Tol"] == 23


def test_demo_does_not_replace_a_foreign_cohort(tmp_path, capsys):
    cohort = tmp_path / "phantom"
    cohort.mkdir()
    (cohort / "training.csv").write_text("precious user data\n")
    assert main(["demo", "--out", str(tmp_path)]) == 2
    assert (cohort / "training.csv").read_text() == "precious user data\n"
    assert "already holds a cohort" in capsys.readouterr().err
