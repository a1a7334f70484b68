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
