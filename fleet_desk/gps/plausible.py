"""What a fix may say and still be believed: the rules every decoder applies before a `Fix` is made.

A checksum only proves the bytes arrived as sent; a unit with a firmware fault, a corrupted log or a
hostile sentence can still state a latitude of -91, a speed of 1e9 m/s or a date in 2055. Such a fix is
counted as implausible by the decoder and never stored: one absurd value would otherwise move a van across
the map, date a fix decades ahead or put ``NaN`` into an export.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

#: Faster than anything a depot tracks (900 km/h, an airliner's cruise); a receiver's speed above it is garbage.
MAX_SPEED_MPS = 250.0
#: Below the lowest road on land (the Dead Sea shore, -430 m) with margin for a receiver's geoid error.
MIN_ALT_M = -1_000.0
#: Above the highest road and any van's roof with a wide margin (gpsd's own logs include light aircraft).
MAX_ALT_M = 20_000.0
#: A course is degrees clockwise from true north.
MAX_COURSE_DEG = 360.0
#: Dilution of precision above this is a receiver's "no idea" (99.9 is the usual ceiling), or garbage.
MAX_DOP = 100.0
#: A unit's clock may run ahead of this machine's by this much before its date is taken as garbage.
FUTURE_SLACK = timedelta(days=1)


def latest_time(now: datetime | None = None) -> datetime:
    """The latest fix time believed: now (UTC) plus the slack for a machine whose clock is behind."""
    return (now or datetime.now(UTC)) + FUTURE_SLACK


def position(lat: float, lon: float) -> bool:
    """Whether the position is finite and on the globe; NaN or a latitude of -91 is a unit's fault, not a
    place."""
    return math.isfinite(lat) and math.isfinite(lon) and -90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0


def speed(mps: float | None) -> bool:
    """Whether a stated speed could be a vehicle's (up to `MAX_SPEED_MPS`); none stated is fine, as many
    sentences carry none."""
    return mps is None or (math.isfinite(mps) and 0.0 <= mps <= MAX_SPEED_MPS)


def altitude(m: float | None) -> bool:
    """Whether a stated altitude lies where a road can (`MIN_ALT_M` to `MAX_ALT_M`); none stated is fine."""
    return m is None or (math.isfinite(m) and MIN_ALT_M <= m <= MAX_ALT_M)


def course(deg: float | None) -> bool:
    """Whether a stated course is a compass bearing, 0 to 360 degrees; none stated is fine."""
    return deg is None or (math.isfinite(deg) and 0.0 <= deg <= MAX_COURSE_DEG)


def dilution(value: float | None) -> bool:
    """Whether a stated dilution of precision (HDOP, PDOP) is within the 0 to 100 receivers report; none
    stated is fine."""
    return value is None or (math.isfinite(value) and 0.0 <= value <= MAX_DOP)


def day(d: date, latest: datetime) -> bool:
    """A date a unit states is believed unless it lies past ``latest`` (see `latest_time`)."""
    return d <= latest.date()


def why_implausible(time: datetime, lat: float, lon: float, speed_mps: float | None, course_deg: float | None,
                    alt_m: float | None, hdop: float | None, pdop: float | None, latest: datetime) -> str | None:
    """The first rule a fix breaks, in words for a log line, or None when it may be stored."""
    if not position(lat, lon):
        return f"position {lat}, {lon} out of range"
    if time > latest:
        return f"time {time.isoformat()} in the future"
    if not speed(speed_mps):
        return f"speed {speed_mps} m/s"
    if not course(course_deg):
        return f"course {course_deg}"
    if not altitude(alt_m):
        return f"altitude {alt_m} m"
    if not dilution(hdop) or not dilution(pdop):
        return f"dilution {hdop}/{pdop}"
    return None


__all__ = ["MAX_SPEED_MPS", "MIN_ALT_M", "MAX_ALT_M", "MAX_COURSE_DEG", "MAX_DOP", "FUTURE_SLACK", "latest_time",
           "position", "speed", "altitude", "course", "dilution", "day", "why_implausible"]
