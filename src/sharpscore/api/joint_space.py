"""``sharpscore.measure_joint_space``: joint-space widths in millimetres of one radiograph."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from ..jsw import JointSpace, measure_jsw

__all__ = ["measure_joint_space"]


def measure_joint_space(source: Any, *, landmarks: Any = None, region: str | None = None,
                        localizer: str = "default", device: str | None = None) -> dict[str, JointSpace]:
    """Joint-space width (mm) of every joint where SvdH scores narrowing on a digit (finger MCP and
    PIP, hallux IP and MTP); wrist sites are returned as not measurable (``wrist_not_measured``).

    Args:
        source: anything :func:`sharpscore.load_radiograph` takes.
        landmarks: a reader's joint positions (``{site: (x, y)}`` in pixels or a labelme file) in place
            of the localiser's, for some or all sites.
        region: 'LH', 'RH', 'LF' or 'RF' for a film the localiser cannot place (with ``landmarks``).

    Returns:
        ``{site: JointSpace}`` with ``width_mm``, ``sd_mm`` (standard error), ``measurable`` and, when
        not measurable, ``reason``. The same widths appear as ``jsw_mm`` in every score's joints.

    Raises:
        sharpscore.errors.InputError: unreadable film, not a hand or foot, spacing unknown.
    """
    from ..io import load_radiograph
    from ..models import load_localizer

    rg = load_radiograph(source)
    loc_model = load_localizer(localizer, device or "cpu")
    if landmarks is None:
        loc = loc_model.predict(rg)
    else:
        from .landmarks import apply_reader_landmarks

        loc = apply_reader_landmarks(loc_model, rg, landmarks, region)
    if loc.spacing_mm is None:
        raise InputError(f"{rg.source}: pixel spacing unknown and not estimable from the anatomy; joint-space "
                         "width needs millimetres (pass spacing_mm to load_radiograph)")
    return measure_jsw(rg.pixels, loc.landmarks, loc.spacing_mm, loc.region)
