"""UTC milliseconds <-> aware datetimes and ISO 8601 text: now in `fleet_desk.times`, kept here for the
callers that still import them from the store (they move to `fleet_desk.times`)."""

from __future__ import annotations

from fleet_desk.times import from_ms, iso_z, parse_utc, to_ms

__all__ = ["from_ms", "iso_z", "parse_utc", "to_ms"]
