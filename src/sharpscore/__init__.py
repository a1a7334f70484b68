"""sharpscore: Sharp/van der Heijde scoring of rheumatoid-arthritis hand and foot radiographs.

Research-use decision support: outputs are not a diagnosis and must be reviewed by a reader.
"""

from __future__ import annotations

import logging

from . import errors, schema
from .io import Radiograph, load_radiograph

__version__ = "0.1.0"

__all__ = ["__version__", "errors", "schema", "Radiograph", "load_radiograph"]

logging.getLogger(__name__).addHandler(logging.NullHandler())
