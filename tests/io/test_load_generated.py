"""Loader behaviour on generated files: each format, each transfer syntax family, each bad input."""

import logging

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.uid import JPEG2000Lossless, RLELossless

import sharpscore
from sharpscore import errors
from sharpscore.io.dicom_write import make_dicom_dataset, write_dicom


def _gradient(h=96, w=80):
    y, x = np.mgrid[0:h, 0:w]
    img = (x / (w - 1)) * 0.6 + 0.2
    img[h // 3:2 * h // 3, w // 3:2 * w // 3] = 0.95  # a bright "bone" block
    return img.astype(np.float32)


@pytest.mark.parametrize("photometric", ["MONOCHROME1", "MONOCHROME2"])
@pytest.mark.parametrize("syntax", [None, RLELossless, JPEG2000Lossless])
def test_dicom_round_trip(tmp_path, photometric, syntax):
    img = _gradient()
    path = write_dicom(tmp_path / "x.dcm", img, photometric=photometric, spacing_mm=0.15, body_part="foot",
                       laterality="L", transfer_syntax=syntax)
    rg = sharpscore.load_radiograph(path)
    assert rg.spacing_mm == (0.15, 0.15) and rg.body_part == "foot" and rg.laterality == "L"
    assert np.abs(rg.pixels - img).max() < 2 / 4095 + 1e-6  # bone bright whatever the photometric


def test_dataset_and_array_sources():
    img = _gradient()
    ds = make_dicom_dataset(img, spacing_mm=(0.1, 0.12))
    rg = sharpscore.load_radiograph(ds)
    assert rg.source == "<pydicom Dataset>" and rg.spacing_mm == (0.1, 0.12)
    arr = sharpscore.load_radiograph((img * 4095).astype(np.uint16), spacing_mm=0.2)
    assert arr.spacing_mm == (0.2, 0.2) and arr.spacing_source == "user"
    assert np.abs(arr.pixels - img).max() < 1e-3
    assert sharpscore.load_radiograph(img).pixels.max() == pytest.approx(0.95)


def test_magnification_factor_corrects_imager_spacing(tmp_path):
    path = write_dicom(tmp_path / "m.dcm", _gradient(), spacing_mm=0.2,
                       extra={"EstimatedRadiographicMagnificationFactor": "1.25"})
    rg = sharpscore.load_radiograph(path)
    assert rg.spacing_mm == pytest.approx((0.16, 0.16)) and rg.spacing_source == "ImagerPixelSpacing/ERMF"


def test_rescale_and_window_are_applied(tmp_path):
    img = _gradient()
    stored = np.round(img * 1000).astype(np.uint16)
    ds = make_dicom_dataset(stored, bits_stored=12, extra={
        "RescaleSlope": "2", "RescaleIntercept": "-100", "WindowCenter": "900", "WindowWidth": "200"})
    rg = sharpscore.load_radiograph(ds)
    hu = stored * 2.0 - 100
    assert rg.metadata["voi_applied"]
    # Windowing: below 800 -> 0, above 1000 -> 1.
    assert rg.pixels[hu < 790].max() < 0.02 and rg.pixels[hu > 1010].min() > 0.98


def test_descriptions_give_laterality_and_body_part():
    ds = make_dicom_dataset(_gradient(), series_description="PA XRAY LEFT HAND", view=None)
    rg = sharpscore.load_radiograph(ds)
    assert rg.laterality == "L" and rg.body_part == "hand" and rg.view == "PA"
    chest = make_dicom_dataset(_gradient(), body_part="CHEST", series_description="hand??")
    assert sharpscore.load_radiograph(chest).body_part is None


@pytest.mark.parametrize("tag, part", [("CHEST", "CHEST"), ("L SPINE", "SPINE"), ("HIP", "HIP"), ("PELVIS", "PELVIS"),
                                       ("EXTREMITY", None), ("HAND", None), ("FINGER", None), ("", None),
                                       (None, None), ("LEG", None)])
def test_a_tag_naming_a_part_a_hand_or_foot_film_cannot_be(tag, part):
    from sharpscore.io.dicom import other_body_part

    assert other_body_part(tag) == part


def test_png_8_and_16_bit_and_grey_rgb_jpeg(tmp_path):
    img = _gradient()
    Image.fromarray((img * 255).round().astype(np.uint8)).save(tmp_path / "a.png")
    Image.fromarray((img * 4095).round().astype(np.uint16)).save(tmp_path / "b.png")
    Image.fromarray(np.repeat((img * 255).astype(np.uint8)[..., None], 3, axis=2)).save(tmp_path / "c.jpg", quality=95)
    for name, tol in (("a.png", 1 / 255), ("b.png", 1e-3), ("c.jpg", 0.05)):
        rg = sharpscore.load_radiograph(tmp_path / name)
        assert rg.spacing_mm is None
        assert np.abs(rg.pixels - img).mean() < tol
    assert sharpscore.load_radiograph(tmp_path / "c.jpg").format == "jpeg"


def test_format_found_by_content_not_extension(tmp_path):
    path = write_dicom(tmp_path / "scan.png", _gradient())
    assert sharpscore.load_radiograph(path).format == "dicom"
    full = write_dicom(tmp_path / "full.dcm", _gradient()).read_bytes()
    raw = tmp_path / "nopreamble"
    raw.write_bytes(full[132:])  # DICOM without the 128-byte preamble and "DICM" magic
    rg = sharpscore.load_radiograph(raw)
    assert rg.format == "dicom" and rg.shape == (96, 80)

# --- bad input: every class gets its typed error with a one-line reason ------------------------

def _one_line(exc_info):
    assert "\n" not in str(exc_info.value) and str(exc_info.value)


def test_not_a_file(tmp_path):
    for path, text in ((tmp_path / "missing.dcm", "no such file"), (tmp_path, "directory")):
        with pytest.raises(errors.NotAFileError, match=text) as ei:
            sharpscore.load_radiograph(path)
        _one_line(ei)
    (tmp_path / "empty.dcm").write_bytes(b"")
    with pytest.raises(errors.NotAFileError, match="empty"):
        sharpscore.load_radiograph(tmp_path / "empty.dcm")


def test_unknown_format(tmp_path):
    (tmp_path / "notes.txt").write_text("patient had a sore hand\n")
    with pytest.raises(errors.UnknownFormatError) as ei:
        sharpscore.load_radiograph(tmp_path / "notes.txt")
    _one_line(ei)
    with pytest.raises(errors.InputError):
        sharpscore.load_radiograph(12345)


def test_structured_report_has_no_pixels(tmp_path):
    ds = make_dicom_dataset(_gradient())
    del ds.PixelData
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
    ds.Modality = "SR"
    pydicom.dcmwrite(tmp_path / "sr.dcm", ds, enforce_file_format=True)
    with pytest.raises(errors.NoPixelDataError, match="Comprehensive SR") as ei:
        sharpscore.load_radiograph(tmp_path / "sr.dcm")
    _one_line(ei)


def test_multiframe_and_colour(tmp_path):
    ds = make_dicom_dataset(_gradient())
    ds.NumberOfFrames = 2
    with pytest.raises(errors.MultiFrameError):
        sharpscore.load_radiograph(ds)
    colour = np.zeros((32, 32, 3), np.uint8)
    colour[..., 0] = 200
    Image.fromarray(colour).save(tmp_path / "red.png")
    with pytest.raises(errors.ColourImageError):
        sharpscore.load_radiograph(tmp_path / "red.png")
    rgb = make_dicom_dataset(_gradient(), bits_stored=8)
    grey = np.asarray(np.frombuffer(rgb.PixelData, np.uint8)).reshape(96, 80)
    rgb.SamplesPerPixel, rgb.PhotometricInterpretation, rgb.PlanarConfiguration = 3, "RGB", 0
    rgb.PixelData = np.stack([grey, grey // 2, grey], -1).tobytes()
    with pytest.raises(errors.ColourImageError):
        sharpscore.load_radiograph(rgb)
    rgb.PixelData = np.stack([grey, grey, grey], -1).tobytes()
    assert sharpscore.load_radiograph(rgb).shape == (96, 80)  # grey stored as RGB is fine


def test_truncated_and_corrupt(tmp_path, caplog):
    path = write_dicom(tmp_path / "t.dcm", _gradient(400, 400))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(errors.CorruptImageError) as ei:
        sharpscore.load_radiograph(path)
    _one_line(ei)
    j2k = write_dicom(tmp_path / "j.dcm", _gradient(200, 200), transfer_syntax=JPEG2000Lossless)
    ds = pydicom.dcmread(j2k)
    frame = bytearray(ds.PixelData)
    frame[len(frame) // 3:] = b"\x00" * (len(frame) - len(frame) // 3)
    ds.PixelData = bytes(frame)
    pydicom.dcmwrite(j2k, ds)
    with caplog.at_level(logging.DEBUG), pytest.raises(errors.CorruptImageError) as ei:
        sharpscore.load_radiograph(j2k)
    _one_line(ei)
    assert not str(ei.value).endswith("plugins:)")  # the first decoder's reason, not an empty list
    # pydicom logs each failing decoder plugin with its traceback: none of that reaches the user
    assert not [r for r in caplog.records if r.name.startswith("pydicom") and r.levelno >= logging.ERROR]
    img = _gradient(300, 300)
    Image.fromarray((img * 255).astype(np.uint8)).save(tmp_path / "t.jpg")
    raw = (tmp_path / "t.jpg").read_bytes()
    (tmp_path / "t.jpg").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(errors.CorruptImageError):
        sharpscore.load_radiograph(tmp_path / "t.jpg")


def test_missing_decoder_names_the_package(tmp_path, monkeypatch):
    path = write_dicom(tmp_path / "j.dcm", _gradient(), transfer_syntax=JPEG2000Lossless)

    class Unavailable:
        is_available = False

    monkeypatch.setattr("pydicom.pixels.get_decoder", lambda uid: Unavailable())
    with pytest.raises(errors.DecoderMissingError, match="pylibjpeg-openjpeg") as ei:
        sharpscore.load_radiograph(path)
    _one_line(ei)


def test_pixel_limit(tmp_path):
    path = write_dicom(tmp_path / "big.dcm", _gradient(200, 200))
    with pytest.raises(errors.ImageTooLargeError, match="MP"):
        sharpscore.load_radiograph(path, max_pixels=10_000)
    Image.fromarray(np.zeros((200, 200), np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(errors.ImageTooLargeError):
        sharpscore.load_radiograph(tmp_path / "big.png", max_pixels=10_000)
    with pytest.raises(errors.ImageTooLargeError):
        sharpscore.load_radiograph(np.zeros((200, 200)), max_pixels=10_000)


def test_every_error_is_a_sharpscore_error():
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.SharpScoreError)


@pytest.mark.parametrize("modality", ["CR", "DX"])
@pytest.mark.parametrize("body_part,view,orientation", [("hand", "PA", ("L", "H")), ("foot", "DP", ("R", "P"))])
def test_written_dicom_passes_the_iod_checker(tmp_path, modality, body_part, view, orientation):
    """What sharpscore writes (phantoms, `synth --format dicom`) is a valid CR / DX For Presentation
    image: no dciodvfy error (skipped without dicom3tools); and it reads back as written."""
    from dciodvfy import dciodvfy_errors

    img = _gradient()
    path = write_dicom(tmp_path / "x.dcm", img, modality=modality, body_part=body_part, view=view,
                       laterality="R", spacing_mm=0.15, patient_orientation=orientation)
    rg = sharpscore.load_radiograph(path)
    assert np.abs(rg.pixels - img).max() < 2 / 4095 + 1e-6  # the full-range window shows it as stored
    assert dciodvfy_errors(path) == []
