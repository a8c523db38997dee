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

`maintain` is the whole job (positions thinned, old change-log rows pruned,
on PostgreSQL next month's positions partition made ahead: `partitions`),
run by ``fleet-desk db maintain`` and by the app once a night. Each run is
written in the change log as a ``maintenance`` change, in the transaction
that claims it (`claim_night`), so of several desks on one database only one
runs it per depot night: the claim is one statement (on SQLite the single
writer serialises it; on PostgreSQL a transaction-scoped advisory lock on the
depot's schema does), and a desk finding tonight's claim taken does nothing.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import Connection, Engine, bindparam, delete, exists, func, insert, literal, select, text

from fleet_desk.store import changes, partitions
from fleet_desk.store.models import Change, Device, LatestPosition, Position, Route, Stop
from fleet_desk.times import utc_day

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
    cancelled: bool = False  # stopped before the last unit-day (the app closing): the rest goes next time

    def report(self) -> str:
        """One paragraph for the user: what was removed and what stays."""
        before = utc_day(self.before_ms)
        if self.looked_at == 0:
            return (f"no positions before {before} (UTC; full rate kept for {self.keep_days:g} days): nothing to "
                    "thin")
        kept = self.looked_at - self.removed
        return (f"positions before {before} (UTC; full rate kept for {self.keep_days:g} days): removed "
                f"{self.removed:,} of {self.looked_at:,} over {self.days} unit-days of {self.units} units, kept "
                f"{kept:,} (one per {MOVING_EVERY_MS // 1000} s while moving, one per stand, every stop visit, "
                f"each vehicle's latest) in {self.seconds:.1f} s")


Progress = Callable[[int, int], None]


def thin_positions(engine: Engine, keep_days: float, now_ms: int, progress: Progress | None = None,
                   cancelled: Callable[[], bool] | None = None) -> Thinned:
    """Thin every unit's fixes of the whole UTC days ending ``keep_days`` before ``now_ms`` (see the module);
    ``progress``: called with (unit-days done, unit-days in all); ``cancelled``: asked between unit-days (True:
    stop there; what was thinned stays thinned, the rest is thinned next time)."""
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
        if cancelled is not None and cancelled():
            result.cancelled = True
            break
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
            conn.execute(delete(Position).where(  # the day's bounds: on PostgreSQL one month's partition is read
                Position.fix_time_ms >= day, Position.fix_time_ms < day + DAY_MS,
                Position.id.in_(doomed[i:i + _DELETE_CHUNK])))
    return looked, len(doomed)


# -- the whole job, and which desk runs it tonight -------------------------------------------------------------

MAINTENANCE = "maintenance"  # the change-log kind a run is recorded as (ref_id 0, at its start, by its desk)
NIGHT_HOUR = 2  # the depot's nightly run is due from this hour, depot time
NIGHT_WINDOW_H = 4  # ...until this many hours later; outside it a desk runs it only when the last run is a day old


@dataclass
class Maintained:
    """What one maintenance run did: positions thinned, old change-log rows pruned."""

    thinned: Thinned
    changes_pruned: int = 0
    months_made: list[partitions.Month] = field(default_factory=list)  # PostgreSQL: positions partitions made

    def report(self) -> str:
        """One line for the user."""
        pruned = (f"; {self.changes_pruned:,} change-log rows older than {changes.KEEP_MS // 3_600_000} h removed"
                  if self.changes_pruned else "")
        stopped = " (stopped early: the rest is thinned next time)" if self.thinned.cancelled else ""
        made = ("; positions partitions made ahead for " + ", ".join(map(str, self.months_made))
                if self.months_made else "")
        return self.thinned.report() + stopped + pruned + made


def prune_changes(engine: Engine, now_ms: int, cancelled: Callable[[], bool] | None = None) -> int:
    """Change-log rows older than `changes.KEEP_MS` removed, `changes.PRUNE_MAX` per transaction; returns how
    many."""
    total = 0
    while cancelled is None or not cancelled():
        with engine.begin() as conn:
            gone = changes.prune(conn, now_ms - changes.KEEP_MS)
        total += gone
        if gone < changes.PRUNE_MAX:
            break
    return total


def maintain(engine: Engine, keep_days: float, now_ms: int, progress: Progress | None = None,
             cancelled: Callable[[], bool] | None = None) -> Maintained:
    """The whole maintenance: on PostgreSQL this month's and next month's positions partitions made if missing
    (`partitions.ensure_months`), positions thinned (`thin_positions`) and old change-log rows pruned.
    Idempotent."""
    made = partitions.ensure_months(engine, now_ms)
    thinned = thin_positions(engine, keep_days, now_ms, progress, cancelled)
    return Maintained(thinned, prune_changes(engine, now_ms, cancelled), made)


def record_run(engine: Engine, desk: str, now_ms: int) -> None:
    """A run by hand (``fleet-desk db maintain``) written in the change log: the desks' nightly run need not
    follow it tonight."""
    with engine.begin() as conn:
        conn.execute(insert(Change).values(kind=MAINTENANCE, ref_id=0, at_ms=now_ms, desk=desk))


def last_run_ms(engine: Engine) -> int | None:
    """When the last maintenance run began, by any desk (None: none in the change log, which keeps a day)."""
    with engine.connect() as conn:
        return conn.scalar(select(func.max(Change.at_ms)).where(Change.kind == MAINTENANCE))


def night_start(now_ms: int, tz: tzinfo | None) -> int:
    """The last `NIGHT_HOUR` o'clock at the depot at or before ``now_ms`` (ms, UTC); ``tz``: the depot's (None:
    this computer's)."""
    here = datetime.fromtimestamp(now_ms / 1000, UTC).astimezone(tz)
    zone = here.tzinfo
    start = datetime(here.year, here.month, here.day, NIGHT_HOUR, tzinfo=zone)
    if start > here:
        day = here.date() - timedelta(days=1)
        start = datetime(day.year, day.month, day.day, NIGHT_HOUR, tzinfo=zone)
    return int(start.timestamp() * 1000)


def night_due(now_ms: int, tz: tzinfo | None, last_ms: int | None) -> bool:
    """Whether the nightly run is due: none since the last `NIGHT_HOUR` o'clock at the depot, and either it is
    the night (within `NIGHT_WINDOW_H` of that hour) or the last run is more than a day old (a desk closed at
    night runs it when it starts)."""
    start = night_start(now_ms, tz)
    if last_ms is not None and last_ms >= start:
        return False
    return now_ms - start < NIGHT_WINDOW_H * 3_600_000 or last_ms is None or now_ms - last_ms > DAY_MS


def claim_night(engine: Engine, desk: str, now_ms: int, tz: tzinfo | None) -> bool:
    """Claim tonight's run for ``desk`` if it is due (`night_due`) and no desk has claimed it since the last
    `NIGHT_HOUR` o'clock: True when this desk is to run it. One conditional INSERT (on PostgreSQL under a
    transaction-scoped advisory lock on the depot's schema, waited for: a desk that only tried it could slip in
    beside another, and two desks ran the night in a trial of three)."""
    if not night_due(now_ms, tz, last_run_ms(engine)):
        return False
    start = night_start(now_ms, tz)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # desks claiming at once take turns; the next one sees the claim
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('fleet_desk.maintenance.' || current_schema()))"))
        taken = exists().where(Change.kind == MAINTENANCE, Change.at_ms >= start)
        conn.execute(insert(Change).from_select(
            ["kind", "ref_id", "at_ms", "desk"],
            select(literal(MAINTENANCE), literal(0), literal(now_ms), literal(desk)).where(~taken)))
    # The night is the first claim's, read back once committed (the INSERT's row count said yes to every desk
    # of three claiming at once on PostgreSQL, though one row was written).
    with engine.connect() as conn:
        first = conn.scalar(select(Change.desk).where(Change.kind == MAINTENANCE, Change.at_ms >= start)
                            .order_by(Change.id).limit(1))
    return first == desk
