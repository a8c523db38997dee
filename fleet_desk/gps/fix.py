"""The `Fix`: one validated position of one GPS unit at one UTC instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

KNOTS_TO_MPS = 1852.0 / 3600.0


@dataclass(slots=True)
class Fix:
    """A position the receiver itself declared valid, merged from one epoch.

    ``time`` is timezone-aware UTC. Optional fields are ``None`` when no
    sentence of the epoch carried them. Read-only by convention: not frozen,
    because a day's log makes a hundred thousand of them and a frozen
    dataclass takes six times longer to build.
    """

    time: datetime
    lat: float
    lon: float
    speed_mps: float | None = None
    course_deg: float | None = None
    alt_m: float | None = None
    fix_quality: int = 1
    mode: int = 2
    sats: int | None = None
    hdop: float | None = None
    pdop: float | None = None
