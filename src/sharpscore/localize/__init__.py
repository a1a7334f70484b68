"""Joint localisation on hand and foot radiographs (coarse-to-fine heatmaps in millimetres).

The networks and the inference pipeline (:class:`Localizer`). ``sharpscore.locate_joints(source)``
(:mod:`sharpscore.api`, with the shipped weights) finds every SvdH site (and the hand DIPs), says
how sure it is, tells hand from foot from anything else and left from right, and refuses films it
was not made for.
"""

from __future__ import annotations

from .predict import JointLocations, Localizer

__all__ = ["JointLocations", "Localizer"]
