"""Keeping the positions table in proportion: full-rate fixes for the last days, a thinned track before them.

A van at 1 Hz sends 36,000 fixes on a 10-hour day; a year of 200 vans is
billions. Past the days kept at full rate (the ``keep_full_days`` setting,
30 by default) each unit's track keeps:

- while moving, one fix per 30 s (the first of each 30-second slot);
- while standing (speed under 0.5 m/s), the first fix of each stand, and the
  last moving fix before it, so every stand stays a stand;
- every fix during a stop visit (from a stop's arrival to its departure, for
  the vehicle of that route): what a dispute about a delivery needs;
- each vehicle's latest position and each unit's newest fix.

Thinning works on whole UTC days, one unit's day per transaction (a desk
writing meanwhile waits a moment at most), by the unique index on (unit,
time). Every decision depends only on fixes that stay, so running it again
removes nothing more: it is idempotent.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, bindparam, delete, func, select, text

from fleet_desk.store.models import Device, LatestPosition, Position, Route, Stop

DAY_MS = 86_400_000
MOVING_EVERY_MS = 30_000  # while moving, one fix per this
STILL_MPS = 0.5  # slower than this is standing
DEFAULT_KEEP_DAYS = 30
_DELETE_CHUNK = 2000

#: Per unit and day, the fixes the slot and stand rules would remove (ids, vehicle, time), by window functions
#: (SQLite 3.25+ and PostgreSQL alike): a fix with no speed counts as moving.
_CANDIDATES = text("""
WITH day AS (
    SELECT id, vehicle_id, fix_time_ms,
           CASE WHEN speed_mps IS NOT NULL AND speed_mps < :still THEN 1 ELSE 0 END AS still
    FROM positions
    WHERE device_id = :device AND fix_time_ms >= :lo AND fix_time_ms < :hi
), marked AS (
    SELECT id, vehicle_id, fix_time_ms, still,
           LAG(still) OVER (ORDER BY fix_time_ms) AS prev_still,
           LEAD(still) OVER (ORDER BY fix_time_ms) AS next_still,
           ROW_NUMBER() OVER (PARTITION BY still, fix_time_ms / :every ORDER BY fix_time_ms) AS nth
    FROM day
)
SELECT id, vehicle_id, fix_time_ms FROM marked
WHERE NOT ((still = 1 AND (prev_still IS NULL OR prev_still = 0))
           OR (still = 0 AND (nth = 1 OR next_still = 1)))
""").bindparams(bindparam("still"), bindparam("every"))


@dataclass
class Thinned:
    """What one thinning did: fixes before ``before_ms`` looked at, removed and kept, units and days."""

    before_ms: int
    keep_days: float
    looked_at: int = 0
    removed: int = 0
    units: int = 0
    days: int = 0
    seconds: float = 0.0
    by_unit: dict[str, int] = field(default_factory=dict)

    def report(self) -> str:
        """One paragraph for the user: what was removed and what stays."""
        before = datetime.fromtimestamp(self.before_ms / 1000, UTC).strftime("%Y-%m-%d")
        if self.looked_at == 0:
            return (f"no positions before {before} (UTC; full rate kept for {self.keep_days:g} days): nothing to "
                    "thin")
        kept = self.looked_at - self.removed
        return (f"positions before {before} (UTC; full rate kept for {self.keep_days:g} days): removed "
                f"{self.removed:,} of {self.looked_at:,} over {self.days} unit-days of {self.units} units, kept "
                f"{kept:,} (one per {MOVING_EVERY_MS // 1000} s while moving, one per stand, every stop visit, "
                f"each vehicle's latest) in {self.seconds:.1f} s")


Progress = Callable[[int, int], None]


def thin_positions(engine: Engine, keep_days: float, now_ms: int, progress: Progress | None = None) -> Thinned:
    """Thin every unit's fixes of the whole UTC days ending ``keep_days`` before ``now_ms`` (see the module);
    ``progress``: called with (unit-days done, unit-days in all)."""
    if keep_days < 0:
        raise ValueError(f"days to keep at full rate cannot be negative ({keep_days:g})")
    started = time.monotonic()
    before = (now_ms - int(keep_days * DAY_MS)) // DAY_MS * DAY_MS
    result = Thinned(before, keep_days)
    with engine.connect() as conn:
        devices = conn.execute(
            select(Position.device_id, func.min(Position.fix_time_ms), func.max(Position.fix_time_ms))
            .group_by(Position.device_id)).all()
        latest = {(d, t) for d, t in conn.execute(select(LatestPosition.device_id, LatestPosition.fix_time_ms))}
        visits = _visits(conn, before)
        names: dict[int, str] = {i: n for i, n in conn.execute(select(Device.id, Device.name))}
    todo = [(device, day) for device, first, _last in devices if first < before
            for day in range(first // DAY_MS * DAY_MS, before, DAY_MS)]
    newest = {device: last for device, _first, last in devices}
    for done, (device, day) in enumerate(todo):
        looked, removed = _thin_day(engine, device, day, visits, latest, newest[device])
        result.looked_at += looked
        result.removed += removed
        result.days += looked > 0
        if removed:
            name = names.get(device, str(device))
            result.by_unit[name] = result.by_unit.get(name, 0) + removed
        if progress is not None:
            progress(done + 1, len(todo))
    result.units = len({device for device, _day in todo})
    result.seconds = time.monotonic() - started
    return result


def _visits(conn: Connection, before_ms: int) -> dict[int, list[tuple[int, int]]]:
    """Each vehicle's stop visits (arrived, departed) that began before ``before_ms``, sorted by arrival."""
    by_vehicle: dict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = conn.execute(
        select(Route.vehicle_id, Stop.arrived_ms, func.coalesce(Stop.departed_ms, Stop.arrived_ms))
        .join(Route, Route.id == Stop.route_id)
        .where(Stop.arrived_ms.is_not(None), Stop.arrived_ms < before_ms))
    for vehicle, arrived, departed in rows:
        if arrived is not None:  # (the query's condition: for the type checker)
            by_vehicle[vehicle].append((arrived, max(arrived, departed or arrived)))
    return {vehicle: _merged(spans) for vehicle, spans in by_vehicle.items()}


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping visits (two orders at one address) as one span: sorted and disjoint."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _at_a_stop(spans: list[tuple[int, int]], t: int) -> bool:
    i = bisect.bisect_right(spans, (t, 2**62)) - 1
    return i >= 0 and spans[i][0] <= t <= spans[i][1]


def _thin_day(engine: Engine, device: int, day: int, visits: dict[int, list[tuple[int, int]]],
              latest: set[tuple[int, int]], newest: int) -> tuple[int, int]:
    """One unit's day in one transaction: returns (fixes looked at, removed)."""
    with engine.begin() as conn:
        looked = conn.scalar(select(func.count()).select_from(Position).where(
            Position.device_id == device, Position.fix_time_ms >= day, Position.fix_time_ms < day + DAY_MS)) or 0
        if looked == 0:
            return 0, 0
        doomed = [pid for pid, vehicle, t in conn.execute(
            _CANDIDATES, {"device": device, "lo": day, "hi": day + DAY_MS, "still": STILL_MPS,
                          "every": MOVING_EVERY_MS})
            if t != newest and (device, t) not in latest
            and not (vehicle is not None and _at_a_stop(visits.get(vehicle, []), t))]
        for i in range(0, len(doomed), _DELETE_CHUNK):
            conn.execute(delete(Position).where(Position.id.in_(doomed[i:i + _DELETE_CHUNK])))
    return looked, len(doomed)
