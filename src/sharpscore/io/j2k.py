"""JPEG 2000 DICOM decoded on several threads: imagecodecs' OpenJPEG as a pydicom decoding plugin.

pydicom's default JPEG 2000 plugin (pylibjpeg-openjpeg) decodes on one thread: a 2500 x 2048 CR
hand takes about 0.6 s, as long as localising and scoring it. imagecodecs' OpenJPEG decodes the
same code-blocks on several threads, pixel for pixel the same. With ``sharpscore[fast]``
(imagecodecs) installed, :func:`decode` uses it with the threads of the budget
(:func:`sharpscore._threads.decode_threads`); pydicom still does everything around the codec (sign
and bit depth, photometric interpretation). Without imagecodecs, or if it fails on a file,
pydicom's own plugins decode as before.

The plugin is registered with pydicom on the first JPEG 2000 film (not at import).
"""

from __future__ import annotations

import logging

import numpy as np
from pydicom import uid
from pydicom.dataset import Dataset

__all__ = ["SYNTAXES", "PLUGIN", "decode"]

log = logging.getLogger(__name__)

SYNTAXES = (uid.JPEG2000Lossless, uid.JPEG2000)
PLUGIN = "sharpscore-imagecodecs"
DECODER_DEPENDENCIES = {ts: ("imagecodecs",) for ts in SYNTAXES}  # pydicom's plugin protocol
_REGISTERED: set[str] = set()


def is_available(ts: str) -> bool:
    """pydicom's plugin protocol: whether this plugin can decode transfer syntax ``ts``."""
    if ts not in SYNTAXES:
        return False
    try:
        import imagecodecs
    except ImportError:
        return False
    return bool(getattr(imagecodecs.JPEG2K, "available", False))


def _decode_frame(src: bytes, runner) -> bytes:
    """pydicom's plugin protocol: one frame's codestream to its pixel bytes (as pylibjpeg gives them)."""
    import imagecodecs
    from pydicom.pixels.common import PhotometricInterpretation as PI

    arr = imagecodecs.jpeg2k_decode(src, numthreads=int(runner.get_option("j2k_threads", 1)))
    if runner.photometric_interpretation in (PI.YBR_ICT, PI.YBR_RCT):
        runner.set_option("photometric_interpretation", PI.RGB)  # OpenJPEG undoes the colour transform
    runner.set_option("bits_allocated", arr.dtype.itemsize * 8)  # the container follows the precision
    if arr.ndim == 3:
        runner.set_option("planar_configuration", 0)
    return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()


def _register(ts: str) -> bool:
    """Add the plugin to pydicom's decoder of ``ts`` once; whether it can be used."""
    if ts in _REGISTERED:
        return True
    if not is_available(ts):
        return False
    from pydicom.pixels import get_decoder

    decoder = get_decoder(ts)
    if PLUGIN not in decoder.available_plugins:
        decoder.add_plugin(PLUGIN, (__name__, "_decode_frame"))
    _REGISTERED.add(ts)
    return True


def decode(ds: Dataset, ts: str, threads: int) -> np.ndarray | None:
    """The pixel array of a single-frame JPEG 2000 dataset decoded on ``threads`` threads, or None
    when this plugin cannot (then pydicom's own plugins decode it)."""
    if ts not in SYNTAXES or not _register(ts):
        return None
    from pydicom.pixels import get_decoder

    try:
        arr, _ = get_decoder(ts).as_array(ds, decoding_plugin=PLUGIN, j2k_threads=max(1, threads))
    except Exception as exc:  # noqa: BLE001 - any codec failure: pydicom's plugins get their turn
        log.debug("imagecodecs could not decode %s (%s: %s); using pydicom's plugins", ts, type(exc).__name__, exc)
        return None
    return arr
