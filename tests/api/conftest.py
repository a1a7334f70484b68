import shutil

import pytest

from sharpscore import schema


@pytest.fixture()
def folder(tmp_path, jpeg_patient, dicom_patient):
    """A messy input folder: a JPEG patient (RA2 names) with its labelme files, a DICOM without
    extension in a subfolder, a corrupt JPEG, an empty file, a text file."""
    d = tmp_path / "in"
    d.mkdir()
    for r in schema.REGIONS:
        shutil.copy(jpeg_patient / f"P00000-{r}.jpg", d / f"P00000-{r}.jpg")
        shutil.copy(jpeg_patient / f"P00000-{r}.json", d / f"P00000-{r}.json")  # sidecars are not inputs
    (d / "sub").mkdir()
    shutil.copy(dicom_patient / "P00000-RF.dcm", d / "sub" / "IM0001")
    (d / "broken-LH.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    (d / "notes.txt").write_text("not an image")
    (d / "empty.dcm").write_bytes(b"")
    return d
