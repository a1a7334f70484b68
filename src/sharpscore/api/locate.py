"""Joint localisation with the shipped weights: :func:`locate_joints`."""

from __future__ import annotations

from typing import Any

from ..localize import JointLocations

__all__ = ["locate_joints"]


def locate_joints(source: Any, *, model: str = "default", device: str | None = None) -> JointLocations:
    """Find the joints of one radiograph.

    Args:
        source: anything :func:`sharpscore.load_radiograph` accepts (path, pydicom Dataset, array).
        model: a shipped localiser name or a ``best.pt`` path from ``sharpscore train``.
        device: ``'cpu'`` (default) or ``'cuda'``.

    Raises:
        sharpscore.errors.NotHandOrFootError: for chest, hip, leg and other films.
        sharpscore.errors.MultipleRegionsError: for two hands (or feet) on one film.
    """
    from ..io import load_radiograph
    from ..models import load_localizer

    return load_localizer(model, device).predict(load_radiograph(source))
