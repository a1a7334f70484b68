import numpy as np
import pydicom
import pytest
from pydicom.uid import JPEG2000Lossless

import sharpscore
from sharpscore.io import j2k
from sharpscore.io.dicom_write import write_dicom
from shared_data import SHARED

pytest.importorskip("imagecodecs")


def _film(tmp_path, name="j.dcm", shape=(300, 260)):
    rng = np.random.default_rng(3)
    img = np.clip(rng.normal(0.5, 0.15, shape), 0, 1)
    img[100:200, 80:180] = 0.95
    return write_dicom(tmp_path / name, img, transfer_syntax=JPEG2000Lossless, spacing_mm=0.15)


def _pydicom_only(path) -> np.ndarray:
    ds = pydicom.dcmread(path)
    return pydicom.pixels.get_decoder(ds.file_meta.TransferSyntaxUID).as_array(ds, decoding_plugin="pylibjpeg")[0]


@pytest.mark.parametrize("threads", [1, 2])
def test_jpeg2000_on_several_threads_gives_pydicoms_pixels(tmp_path, threads):
    path = _film(tmp_path)
    ds = pydicom.dcmread(path)
    arr = j2k.decode(ds, ds.file_meta.TransferSyntaxUID, threads)
    ref = _pydicom_only(path)
    assert arr is not None and arr.dtype == ref.dtype and np.array_equal(arr, ref)
    # load_radiograph takes the same path and reads the same film as before
    rg = sharpscore.load_radiograph(path)
    assert rg.shape == ref.shape and np.isfinite(rg.pixels).all()


def test_without_imagecodecs_pydicom_decodes_as_before(tmp_path, monkeypatch):
    path = _film(tmp_path)
    fast = sharpscore.load_radiograph(path).pixels
    monkeypatch.setattr(j2k, "_REGISTERED", set())
    monkeypatch.setattr(j2k, "is_available", lambda ts: False)
    ds = pydicom.dcmread(path)
    assert j2k.decode(ds, ds.file_meta.TransferSyntaxUID, 2) is None
    assert np.array_equal(sharpscore.load_radiograph(path).pixels, fast)


@pytest.mark.skipif(not (SHARED / "dicom").is_dir(), reason="needs ../shared/data/dicom")
def test_every_shared_jpeg2000_dicom_decodes_to_pydicoms_pixels():
    seen = 0
    for path in sorted((SHARED / "dicom").glob("*.dcm")):
        ds = pydicom.dcmread(path)
        ts = ds.file_meta.TransferSyntaxUID
        if ts not in j2k.SYNTAXES:
            continue
        arr = j2k.decode(ds, ts, 2)
        ref = _pydicom_only(path)
        assert arr is not None and arr.dtype == ref.dtype and np.array_equal(arr, ref), path.name
        seen += 1
    assert seen >= 4  # lossless and lossy (irreversible) JPEG 2000, 10-16 bits
