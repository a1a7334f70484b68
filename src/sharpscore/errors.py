"""Typed errors raised by sharpscore.

Every error the library raises on purpose derives from :class:`SharpScoreError` and carries a
one-line, human-readable reason. The CLI prints that line and exits non-zero; batch commands record
the class name and message for the failing file and go on.
"""

from __future__ import annotations

__all__ = [
    "SharpScoreError",
    "InputError",
    "NotAFileError",
    "UnknownFormatError",
    "NoPixelDataError",
    "UnsupportedImageError",
    "MultiFrameError",
    "ColourImageError",
    "CorruptImageError",
    "DecoderMissingError",
    "ImageTooLargeError",
    "NotHandOrFootError",
    "InvertedImageError",
    "MultipleRegionsError",
    "VisitMismatchError",
    "ModelError",
    "OutputError",
    "SchemaError",
    "ConfigError",
]


class SharpScoreError(Exception):
    """Base class of every error sharpscore raises deliberately."""

    def __init__(self, message: str):
        # Keep messages to one line: they end up in CLI output and errors.csv rows.
        super().__init__(" ".join(str(message).split()))

    @property
    def reason(self) -> str:
        return str(self)


class InputError(SharpScoreError):
    """The input given to sharpscore cannot be used."""


class NotAFileError(InputError):
    """The path does not exist, is a directory, or is empty."""


class UnknownFormatError(InputError):
    """The file is not a format sharpscore reads (DICOM, PNG, JPEG, MetaImage)."""


class NoPixelDataError(InputError):
    """A DICOM object without an image (e.g. a Structured Report)."""


class UnsupportedImageError(InputError):
    """An image whose layout is not a single grey radiograph."""


class MultiFrameError(UnsupportedImageError):
    """More than one frame where one radiograph was expected."""


class ColourImageError(UnsupportedImageError):
    """A colour image whose channels differ, so no single grey channel is meaningful."""


class CorruptImageError(InputError):
    """Pixel data that is truncated or cannot be decoded."""


class DecoderMissingError(InputError):
    """The pixel data needs a decoder plugin that is not installed."""


class ImageTooLargeError(InputError):
    """The image has more pixels than the configured limit."""


class NotHandOrFootError(InputError):
    """The radiograph is not a hand or foot film sharpscore was trained for (chest, hip, leg ...)."""


class InvertedImageError(InputError):
    """The film reads as a negative (bone darker than the soft tissue beside it)."""


class MultipleRegionsError(UnsupportedImageError):
    """Both hands (or both feet) on one film: not supported yet."""


class VisitMismatchError(InputError):
    """Two visits that cannot be compared: different patients, regions or sides."""


class OutputError(SharpScoreError):
    """An output cannot be written (permission denied, disk full, a path that is not a folder)."""


class ModelError(SharpScoreError):
    """A model bundle that is missing, corrupt or does not match its checksum."""


class SchemaError(SharpScoreError):
    """A score, site or column that does not fit the Sharp/van der Heijde schema."""


class ConfigError(SharpScoreError):
    """A configuration file or override that does not validate."""
