"""A reader's landmarks in place of the localiser's: correct a joint, or place a film the localiser
cannot (a wrist crop, a partial film)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import schema
from ..errors import InputError, MultipleRegionsError, NotHandOrFootError
from ..flags import FlagKind, ReviewFlag

__all__ = ["read_reader_landmarks", "apply_reader_landmarks"]


def check_region(region: str | None) -> None:
    """A region given by the caller must be one of LH, RH, LF, RF (None: not given)."""
    if region is not None and region not in schema.REGIONS:
        raise InputError(f"region must be one of {', '.join(schema.REGIONS)}, not {region!r}")


def read_reader_landmarks(landmarks: Any, kind: str | None = None) -> dict[str, tuple[float, float]]:
    """``{site: (x, y)}`` from a mapping or a labelme JSON file (RA2-DREAM team labels renamed)."""
    from ..io.labelme import RA2_TEAM_LABELS, read_labelme

    if isinstance(landmarks, (str, Path)):
        points, _ = read_labelme(landmarks)
    elif isinstance(landmarks, Mapping):
        points = dict(landmarks)
    else:
        raise InputError(f"landmarks must be a {{site: (x, y)}} mapping or a labelme file, not {type(landmarks).__name__}")
    known = set(schema.landmarks("hand")) | set(schema.landmarks("foot"))
    out: dict[str, tuple[float, float]] = {}
    for name, xy in points.items():
        name = str(name)
        if kind and name not in known:
            name = RA2_TEAM_LABELS[kind].get(name, name)
        if name not in known:
            raise InputError(f"landmarks: unknown site {name!r} (sharpscore names, e.g. mcp2, radius, mtp1)")
        try:
            x, y = float(xy[0]), float(xy[1])
        except (TypeError, ValueError, IndexError):
            raise InputError(f"landmarks: {name!r} is not an (x, y) pixel position: {xy!r}") from None
        if not (np.isfinite(x) and np.isfinite(y)):
            raise InputError(f"landmarks: {name!r} has a non-finite position")
        out[name] = (x, y)
    if not out:
        raise InputError("landmarks: no joint positions given")
    return out


def apply_reader_landmarks(localizer, rg, landmarks: Any, region: str | None = None, *, pyramid=None):
    """The localiser's result with the reader's landmarks in place (confidence 1). When the
    localiser refuses the film and ``region`` is given, only the reader's sites are used."""
    from ..localize.predict import JointLocations

    check_region(region)
    try:
        loc = localizer.predict(rg, pyramid=pyramid)
    except (NotHandOrFootError, MultipleRegionsError):
        if region is None:  # the reader says what the film is; otherwise the refusal stands
            raise
        loc = None
    kind = schema.region_kind(region) if region else (schema.region_kind(loc.region) if loc else None)
    given = read_reader_landmarks(landmarks, kind)
    h, w = rg.shape
    outside = sorted(k for k, (x, y) in given.items() if not (0 <= x < w and 0 <= y < h))
    if outside:
        raise InputError(f"landmarks outside the {w} x {h} film: {', '.join(outside)}")
    valid = set(schema.landmarks(kind))
    wrong = sorted(set(given) - valid)
    if wrong:
        raise InputError(f"landmarks {wrong} are not sites of a {kind}")
    reader = {k: (x, y, 1.0) for k, (x, y) in given.items()}
    if loc is None:
        if rg.spacing_mm is None:
            raise InputError(f"{rg.source}: a film the localiser cannot place needs its pixel spacing "
                             "(load_radiograph(..., spacing_mm=...))")
        return JointLocations(region=region, landmarks=reader, evidence={}, spacing_mm=rg.spacing_mm,
                              spacing_source=rg.spacing_source, flags=[ReviewFlag(FlagKind.READER_LANDMARKS, None, len(reader)),
                                                                        ReviewFlag(FlagKind.LOCALIZER_REFUSED_FILM)], radiograph=rg)
    if region is not None and region != loc.region:
        loc.flags.append(ReviewFlag(FlagKind.REGION_CONFLICTS_WITH_GIVEN, None, region))
        loc.region = region
    # a site the reader places is neither unsure nor out of view any more
    flags = [f for f in map(ReviewFlag.parse, loc.flags)
             if not (f.kind in (FlagKind.LOW_CONFIDENCE, FlagKind.NOT_IN_VIEW) and f.site in reader)]
    loc.not_in_view = [k for k in loc.not_in_view if k not in reader]
    loc.landmarks = {**loc.landmarks, **reader}
    loc.flags = flags + [ReviewFlag(FlagKind.READER_LANDMARKS, None, len(reader))]
    return loc
