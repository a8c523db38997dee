"""Reading the fleet from the store, and watching it change.

Read from the latest position per vehicle (never a scan of history), so it
shows what any source wrote: live units on this workstation or another,
docked units and imported logs alike. No Qt here: the board and the map
observe it through the UI layer.

Given the database's `ChangeListener`, the watch reads when a vehicle moved or
a unit or route changed (on any desk), and otherwise only every ``interval_s``
as a safety net; without one it polls every second as before.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fleet_desk.fleet.vehicles import FleetVehicle
from fleet_desk.messages import Troubles
from fleet_desk.store.changes import ChangeListener, ChangeRow
from fleet_desk.store.models import Device, Driver, LatestPosition, Position, Vehicle

log = logging.getLogger(__name__)

#: At most one read a second: units report once a second, and each read repaints the board and sends the map every
#: van that moved (three desks of 200 units each on one 2-core machine kept their event loops within 50 ms only
#: at one read a second; at two, p99 was 22-87 ms).
MIN_GAP_S = 1.0
#: With a change listener: read anyway this often (a change missed by every other path shows within it).
SAFETY_S = 15.0
#: The changes the board and the map show: vehicles that moved, units (assigned, read by a desk), routes (a
#: manifest brings vehicles).
WAKES_ON = frozenset({"position", "unit", "route"})


def load_fleet(engine: Engine) -> list[FleetVehicle]:
    """Every vehicle with its driver, unit and latest position (four small queries)."""
    with Session(engine) as session:
        vehicles = session.execute(select(Vehicle.id, Vehicle.name).order_by(Vehicle.name)).all()
        drivers: dict[int | None, list[str]] = defaultdict(list)  # (no None: only vehicles' drivers asked)
        for vehicle_id, name in session.execute(
            select(Driver.vehicle_id, Driver.name).where(Driver.vehicle_id.is_not(None)).order_by(Driver.name)
        ):
            drivers[vehicle_id].append(name)
        units: dict[int | None, list[str]] = defaultdict(list)
        for vehicle_id, name in session.execute(
            select(Device.vehicle_id, Device.name).where(Device.vehicle_id.is_not(None)).order_by(Device.name)
        ):
            units[vehicle_id].append(name)
        latest = {row.vehicle_id: row for row in session.execute(
            select(LatestPosition.vehicle_id, LatestPosition.device_id, LatestPosition.fix_time_ms, LatestPosition.lat,
                   LatestPosition.lon, LatestPosition.speed_mps, LatestPosition.course_deg))}
        latest_unit = dict(session.execute(select(Device.id, Device.name)).all()) if latest else {}
    rows = []
    for vehicle_id, name in vehicles:
        lp = latest.get(vehicle_id)
        unit = latest_unit.get(lp.device_id) if lp else None
        unit = unit or ", ".join(units.get(vehicle_id, [])) or None
        rows.append(FleetVehicle(
            vehicle_id, name, ", ".join(drivers.get(vehicle_id, [])) or None, unit,
            lp.fix_time_ms if lp else None, lp.lat if lp else None, lp.lon if lp else None,
            lp.speed_mps if lp else None, lp.course_deg if lp else None,
        ))
    return rows


def recent_trails(engine: Engine, since_ms: int, max_points: int = 300) -> dict[int, list[tuple[float, float, int]]]:
    """Each vehicle's positions since ``since_ms`` as (lat, lon, time ms), thinned to ``max_points``."""
    stmt = (
        select(Position.vehicle_id, Position.lat, Position.lon, Position.fix_time_ms)
        .where(Position.fix_time_ms >= since_ms, Position.vehicle_id.is_not(None))
        .order_by(Position.vehicle_id, Position.fix_time_ms)
    )
    trails: dict[int | None, list[tuple[float, float, int]]] = defaultdict(list)
    with Session(engine) as session:
        for vehicle_id, lat, lon, t in session.execute(stmt):
            trails[vehicle_id].append((lat, lon, t))
    return {vehicle_id: thin(points, max_points) for vehicle_id, points in trails.items() if vehicle_id is not None}


def thin[P](points: Sequence[P], max_points: int) -> list[P]:
    """At most ``max_points`` evenly spread, the newest always kept (a map needs the shape, not every fix)."""
    if len(points) <= max_points:
        return list(points)
    step = len(points) / max_points
    thinned = [points[int(i * step)] for i in range(max_points)]
    thinned[-1] = points[-1]
    return thinned


class FleetWatch:
    """Reads the fleet in a background thread and reports vehicles that changed.

    ``on_change(changed, removed)`` gets the rows that differ from the last
    read (all of them the first time) and the ids of vehicles that are gone.
    With ``changes`` it reads when they say a vehicle, unit or route changed
    (and every ``interval_s``, `SAFETY_S` by default); without, every second.
    Errors (a database that went away, an ``on_change`` that raises) go to ``on_error``, once until reading
    and reporting work again, and reading goes on, soon (within a second).
    """

    def __init__(self, engine: Engine, on_change: Callable[[list[FleetVehicle], list[int]], None],
                 on_error: Callable[[str], None] | None = None, interval_s: float | None = None,
                 changes: ChangeListener | None = None):
        self.engine = engine
        self.on_change = on_change
        self.on_error = on_error or (lambda message: None)
        self.interval_s = interval_s if interval_s is not None else (SAFETY_S if changes is not None else 1.0)
        self.changes = changes
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fleet-watch", daemon=True)
        self._known: dict[int, FleetVehicle] = {}
        self._troubles = Troubles(log, self.on_error)  # "read", "report"
        if changes is not None:
            changes.subscribe(self._on_changes)

    def start(self) -> None:
        """Start the background thread that reads the fleet and reports changed vehicles to ``on_change``."""
        self._thread.start()

    def poll_now(self) -> None:
        """Poll at once (after an import or an assignment) instead of waiting."""
        self._wake.set()

    def stop(self) -> None:
        """Stop reading: no more change batches wake it, and the thread is given five seconds to end."""
        if self.changes is not None:
            self.changes.unsubscribe(self._on_changes)
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _on_changes(self, rows: list[ChangeRow]) -> None:
        """The change listener's batch: read now if it touches what the fleet shows."""
        if any(row.kind in WAKES_ON for row in rows):
            self._wake.set()

    def poll(self) -> tuple[list[FleetVehicle], list[int]]:
        """Read the fleet once: the vehicles whose row differs from the last read (all of them the first
        time) and the ids of vehicles gone since."""
        rows = {r.vehicle_id: r for r in load_fleet(self.engine)}
        changed = [r for vid, r in rows.items() if self._known.get(vid) != r]
        removed = [vid for vid in self._known if vid not in rows]
        self._known = rows
        return changed, removed

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self._wake.clear()  # before reading: a change that lands while reading wakes the next read
            try:
                changed, removed = self.poll()
            except Exception as exc:
                self._troubles.failed("read", exc, "Reading the fleet from the database failed")
            else:
                self._troubles.recovered("read")
                try:
                    if changed or removed:
                        self.on_change(changed, removed)
                except Exception as exc:
                    self._known = {}  # every vehicle reported again on the next read: no change stays unshown
                    self._troubles.failed("report", exc, "Showing the fleet's changes failed")
                else:
                    self._troubles.recovered("report")
            # Woken early by `poll_now` (new fixes, an import) or a change on the database (any desk's), but never
            # more often than MIN_GAP_S:
            # hundreds of units storing fixes must not turn the watch into a busy loop.
            self._stop.wait(max(0.0, MIN_GAP_S - (time.monotonic() - started)))
            interval = min(self.interval_s, 1.0) if self._troubles else self.interval_s  # failing: retry soon
            self._wake.wait(max(0.0, interval - (time.monotonic() - started)))


def vehicle_track(engine: Engine, vehicle_id: int, since_ms: int, max_points: int = 3000) -> list[tuple[float, float]]:
    """Where a vehicle has been since ``since_ms``, thinned to at most ``max_points`` for the map."""
    with engine.connect() as conn:
        points = conn.execute(
            select(Position.lat, Position.lon)
            .where(Position.vehicle_id == vehicle_id, Position.fix_time_ms >= since_ms)
            .order_by(Position.fix_time_ms)
        ).all()
    return [(lat, lon) for lat, lon in thin(points, max_points)]
