import csv
import json
import pytest

from sharpscore import schema
from sharpscore.api.batch import find_inputs, score_cohort
from sharpscore.cli import main


def test_finds_dicom_by_content(folder):
    found = {f.path.name for f in find_inputs([folder])}
    assert found == {"P00000-LH.jpg", "P00000-RH.jpg", "P00000-LF.jpg", "P00000-RF.jpg", "IM0001", "broken-LH.jpg",
                     "notes.txt", "empty.dcm"}


def test_cohort_scoring_isolates_bad_files_and_resumes(folder, scorer, tmp_path):
    out = tmp_path / "out"
    s = score_cohort([folder], out, scorer=scorer, progress=False)
    assert (s.scored, s.failed, s.skipped) == (5, 3, 0)
    with (out / "errors.csv").open() as fh:
        errors = {r["file"].rsplit("/", 1)[-1]: r["error"] for r in csv.DictReader(fh)}
    assert errors == {"broken-LH.jpg": "CorruptImageError", "empty.dcm": "NotAFileError",
                      "notes.txt": "UnknownFormatError"}
    rows = {r["Patient_ID"]: r for r in schema.read_ra2_csv(out / "scores.csv", require_all=False, check_totals=False,
                                                            extra_columns=_INTERVALS)}
    # the RA2-named patient has all four regions; the DICOM is its own patient (by PatientID) with one foot
    assert rows["P00000"]["RH_mcp_E__2"] is not None and rows["P00000"]["LF_mtp_E__1"] is not None
    assert rows["P00000"]["regions_scored"] == "LH;RH;LF;RF" and rows["P00000"]["needs_review"] == "1"
    assert int(rows["P00000"]["n_flags"]) >= 4
    p = rows["P00000"]
    assert float(p["Overall_Tol_lo"]) <= float(p["Overall_Tol"]) <= float(p["Overall_Tol_hi"])
    other = [r for pid, r in rows.items() if pid != "P00000"]
    assert len(other) == 1 and other[0]["RF_mtp_E__1"] is not None and other[0]["LH_mcp_E__2"] is None
    doc = json.loads((out / "radiographs" / "P00000-LH.json").read_text())
    assert doc["region"] == "LH" and doc["patient_id"] == "P00000" and len(doc["joints"]) == 22
    before = (out / "scores.csv").read_bytes()
    again = score_cohort([folder], out, scorer=scorer, progress=False)
    assert (again.scored, again.skipped, again.failed) == (0, 5, 3)
    assert (out / "scores.csv").read_bytes() == before
    assert not list(out.rglob("*.tmp*"))


def test_two_workers_give_the_same_scores(folder, scorer, tmp_path):
    a = score_cohort([folder], tmp_path / "a", scorer=scorer, progress=False, workers=1, salt="same")
    b = score_cohort([folder], tmp_path / "b", scorer=scorer, progress=False, workers=2, salt="same")
    assert a.scored == b.scored == 5
    assert (tmp_path / "a" / "scores.csv").read_bytes() == (tmp_path / "b" / "scores.csv").read_bytes()


def test_cli_score(folder, tmp_path, capsys):
    rc = main(["score", str(folder / "P00000-LF.jpg"), str(folder / "notes.txt"), "--out", str(tmp_path / "o"),
               "--format", "json,csv,png", "--quiet"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "scored 1 radiographs" in out and "1 files could not be scored" in out
    assert (tmp_path / "o" / "overlays" / "P00000-LF.png").exists()
    assert main(["score", str(tmp_path / "missing"), "--out", str(tmp_path / "o2")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["score", str(folder), "--out", str(tmp_path / "o3"), "--format", "json,xml"]) == 2


def test_dicom_structured_report(dicom_patient, scorer, tmp_path):
    pytest.importorskip("highdicom")
    import pydicom

    from sharpscore.api.dicom_sr import write_dicom_outputs

    src = tmp_path / "src.dcm"
    ds = pydicom.dcmread(dicom_patient / "P00000-RH.dcm")
    ds.PatientOrientation = ["L", "F"]
    ds.save_as(src)
    res = scorer.score(src)
    sr_path, sc_path = write_dicom_outputs(res, src, tmp_path / "out", "P00000-RH")
    sr = pydicom.dcmread(sr_path)
    ref = pydicom.dcmread(src, stop_before_pixels=True)
    assert sr.StudyInstanceUID == ref.StudyInstanceUID and sr.PatientID == ref.PatientID
    text = str(sr)
    assert ref.SOPInstanceUID in text and "SvdH erosion score" in text and "RH mcp2" in text
    groups = [c for c in sr.ContentSequence if c.ValueType == "CONTAINER"]
    assert groups  # the imaging measurements container
    # review state (SNOMED CT Yes/No), flags, intervals and the algorithm, read back
    assert "Reader review needed" in text and ("373066001" if res.needs_review else "373067005") in text
    assert "interval lower bound" in text and "interval upper bound" in text
    assert res.flags and "sharpscore review flag" in text and all(f in text for f in res.flags)
    assert "Algorithm Name" in text or "111001" in text  # DCM code of "Algorithm Name"
    # standard anatomy (SNOMED CT) and laterality as each joint's finding site
    assert "125682004" in text and "Finger Joint" in text and "74670003" in text and "24028007" in text
    sc = pydicom.dcmread(sc_path)
    assert sc.SamplesPerPixel == 3 and sc.StudyInstanceUID == ref.StudyInstanceUID
    assert list(sc.PatientOrientation) == ["L", "F"]
    assert sc.Laterality == ref.ImageLaterality == "R"  # the source's side, for the paired body part
    # without an orientation to copy, the Secondary Capture is still written, its orientation empty
    del ds.PatientOrientation
    ds.save_as(tmp_path / "no-orientation.dcm")
    both = write_dicom_outputs(res, tmp_path / "no-orientation.dcm", tmp_path / "out2", "x")
    assert [p.name for p in both] == ["x-sr.dcm", "x-overlay.dcm"]
    sc2 = pydicom.dcmread(both[1])
    assert "PatientOrientation" in sc2 and not sc2.PatientOrientation
    assert sc2.StudyInstanceUID == ref.StudyInstanceUID
    # the standard's IOD checker finds no error in the SR or either capture (skipped without dciodvfy)
    from dciodvfy import dciodvfy_errors

    assert sr.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator == "99SHARPSCORE"
    for path in (sr_path, sc_path, *both):
        assert dciodvfy_errors(path) == [], path


def test_killed_run_resumes_to_identical_outputs(folder, scorer, tmp_path, monkeypatch):
    from sharpscore.api import batch

    clean = tmp_path / "clean"
    score_cohort([folder], clean, scorer=scorer, progress=False, salt="same")
    killed = tmp_path / "killed"
    real, calls = batch._write_outputs, []

    def dies_on_the_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the run is killed while writing the third result
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "_write_outputs", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        score_cohort([folder], killed, scorer=scorer, progress=False, batch_size=1, salt="same")
    monkeypatch.setattr(batch, "_write_outputs", real)
    assert len(list((killed / "radiographs").glob("*.json"))) == 2 and not (killed / "scores.csv").exists()
    again = score_cohort([folder], killed, scorer=scorer, progress=False, salt="same")
    assert (again.skipped, again.scored) == (2, 3)
    for name in ["scores.csv", "errors.csv"] + [f"radiographs/{p.name}" for p in (clean / "radiographs").iterdir()]:
        assert (killed / name).read_bytes() == (clean / name).read_bytes(), name
    assert not [p for p in killed.rglob("*") if ".tmp" in p.name]


_INTERVALS = list(schema.PREDICTION_EXTRA_COLUMNS)


def test_default_outputs_carry_no_dicom_identifiers(scorer, tmp_path):
    """PatientID, PatientName and StudyInstanceUID of the input appear in no default output; a
    stable salted pseudonym groups the patient; --keep-identifiers keeps them."""
    from sharpscore.io.dicom_write import write_dicom
    from sharpscore.synth import render

    ph = render("RH", {}, seed=31, spacing_mm=0.12)
    d = tmp_path / "in"
    d.mkdir()
    px = (ph.radiograph.pixels * 4095).astype("uint16")
    study = "1.2.826.0.1.3680043.8.498.99999"
    write_dicom(d / "IM1", px, spacing_mm=0.12, patient_id="SECRET-ID-7", patient_name="DOE^JANE", study_uid=study)
    out = tmp_path / "out"
    score_cohort([d], out, scorer=scorer, progress=False, formats=("json", "csv", "png", "html"))
    for f in out.rglob("*"):
        if f.is_file() and f.name != ".pseudonym-salt":
            data = f.read_bytes()
            assert b"SECRET-ID-7" not in data and b"DOE^JANE" not in data and study.encode() not in data, f
    pid = json.loads((out / "radiographs" / "IM1.json").read_text())["patient_id"]
    assert pid.startswith("anon-")
    again = tmp_path / "out2"
    score_cohort([d], again, scorer=scorer, progress=False, salt="s3cret")
    score_cohort([d], tmp_path / "out3", scorer=scorer, progress=False, salt="s3cret")
    same = [json.loads((o / "radiographs" / "IM1.json").read_text())["patient_id"] for o in (again, tmp_path / "out3")]
    assert same[0] == same[1] != pid  # the same salt gives the same pseudonym
    kept = tmp_path / "kept"
    score_cohort([d], kept, scorer=scorer, progress=False, keep_identifiers=True)
    assert b"SECRET-ID-7" in (kept / "scores.csv").read_bytes()


def test_changed_options_redo_the_work_and_files_honour_the_umask(jpeg_patient, scorer, tmp_path):
    import os
    import stat

    film = jpeg_patient / "P00000-RH.jpg"
    out = tmp_path / "o"
    old = os.umask(0o022)
    try:
        first = score_cohort([film], out, scorer=scorer, progress=False)
        assert first.scored == 1
        assert stat.S_IMODE((out / "radiographs" / "P00000-RH.json").stat().st_mode) == 0o644
        assert score_cohort([film], out, scorer=scorer, progress=False).skipped == 1
        again = score_cohort([film], out, scorer=scorer, progress=False, formats=("json", "csv", "png"))
        assert (again.scored, again.skipped) == (1, 0) and (out / "overlays" / "P00000-RH.png").exists()
    finally:
        os.umask(old)
    doc = json.loads((out / "radiographs" / "P00000-RH.json").read_text())
    assert doc["sharpscore_version"] and len(doc["run_key"]) == 16


def test_dicom_patients_keyed_by_patient_id_and_by_study_only_when_several(scorer, tmp_path):
    from sharpscore.io.dicom_write import write_dicom
    from sharpscore.synth import render

    d = tmp_path / "in"
    d.mkdir()
    for name, region, pid, study in (("a", "RH", "PA", "1.2.3.1"), ("b", "LH", "PA", "1.2.3.1"),
                                     ("c", "RH", "PB", "1.2.3.2"), ("e", "RH", "PB", "1.2.3.3")):
        ph = render(region, {}, seed=len(name) + ord(name), spacing_mm=0.12)
        write_dicom(d / name, (ph.radiograph.pixels * 4095).astype("uint16"), spacing_mm=0.12, patient_id=pid,
                    study_uid=study)
    out = tmp_path / "o"
    score_cohort([d], out, scorer=scorer, progress=False, keep_identifiers=True)
    pids = {n: json.loads((out / "radiographs" / f"{n}.json").read_text())["patient_id"] for n in "abce"}
    assert pids["a"] == pids["b"] == "PA"  # one study: keyed by PatientID alone, joins a truth table
    assert pids["c"] == "PB|1.2.3.2" and pids["e"] == "PB|1.2.3.3"  # two studies: told apart


def test_threads_option(jpeg_patient, scorer, tmp_path):
    from sharpscore.errors import InputError

    film = jpeg_patient / "P00000-RH.jpg"
    a = score_cohort([film], tmp_path / "a", scorer=scorer, progress=False, threads="auto")
    b = score_cohort([film], tmp_path / "b", scorer=scorer, progress=False, threads=1)
    assert a.scored == b.scored == 1
    with pytest.raises(InputError, match="threads"):
        score_cohort([film], tmp_path / "c", scorer=scorer, progress=False, threads=0)


def test_html_report_per_patient(dicom_patient, scorer, tmp_path):
    """One self-contained report per patient: every scored region with its embedded overlay and a
    row per joint, the patient totals and intervals of scores.csv, the review state and the models."""
    import csv
    import re

    out = tmp_path / "out"
    score_cohort([dicom_patient], out, scorer=scorer, progress=False, formats=("json", "csv", "html"), salt="x")
    rows = list(csv.DictReader((out / "scores.csv").open()))
    reports = sorted((out / "reports").glob("*.html"))
    assert len(reports) == len(rows) == 1
    text = reports[0].read_text()
    row = rows[0]
    assert row["Patient_ID"] in text
    assert text.count("data:image/png;base64,") == 4  # LH, RH, LF, RF overlays
    assert f"{float(row['Overall_Tol']):.1f}" in text
    assert f"[{float(row['Overall_Tol_lo']):.1f}, {float(row['Overall_Tol_hi']):.1f}]" in text
    assert len(re.findall(r"<tr( class='flagged')?><td class='l'>(mcp2|mtp1)</td>", text)) == 4
    assert ("A reader must review" in text) == (row["needs_review"] == "1")
    assert "Research use only" in text and "scorer default" in text
