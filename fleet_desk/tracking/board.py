"""The day's routes as a dispatcher reads them: progress, on time or late and why, the next stop.

Plain data for the Routes panel and the map (and anything else that wants
the day at a glance); two queries for the whole day.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased

from fleet_desk.store.models import Driver, Route, Stop, Vehicle
from fleet_desk.tracking.state import OPEN
from fleet_desk.tracking.state_sql import in_play


@dataclass(frozen=True)
class StopView:
    """One stop as the Routes panel and the map show it: the order, its window, where it stands, its ETA
    window and, when late, by how much and why."""

    id: int
    sequence: int
    order_id: str
    tracking_number: str
    customer_name: str
    address: str
    lat: float
    lon: float
    window_start_ms: int
    window_end_ms: int
    planned_ms: int | None
    status: str
    arrived_ms: int | None
    departed_ms: int | None
    eta_ms: int | None
    eta_earliest_ms: int | None
    eta_latest_ms: int | None
    late: bool
    delay_minutes: int | None
    delay_reason: str | None
    failure_reason: str | None
    expected_service_s: float | None = None  # the service time ETAs count on at this stop
    service_basis: str | None = None  # where it comes from: "this address", "this customer", "depot median", ...

    @property
    def open(self) -> bool:
        """Whether the van can still arrive at or leave the stop (pending or arrived)."""
        return self.status in OPEN


@dataclass(frozen=True)
class RouteView:
    """One route of the day as a dispatcher reads it: vehicle and driver, status, when it set off or went
    silent, and its stops in sequence; `badge` says in a word or two how it is going."""

    id: int
    key: str
    service_date: str
    vehicle_id: int
    vehicle: str
    driver: str | None
    status: str  # planned, active, done
    planned_start_ms: int | None
    departed_ms: int | None
    silent_since_ms: int | None
    stops: tuple[StopView, ...]
    eta_basis: str | None = None  # what its ETAs rest on: "roads (Helsinki)", "straight line"
    straight_legs: int | None = None  # legs the road map could not route (None: no road map)

    @property
    def done_count(self) -> int:
        """Stops done with: delivered or failed."""
        return sum(1 for s in self.stops if not s.open)

    @property
    def late_stops(self) -> list[StopView]:
        """Open stops running late."""
        return [s for s in self.stops if s.open and s.late]

    @property
    def next_stop(self) -> StopView | None:
        """The first open stop in sequence: where the van goes next (None once all are done)."""
        return next((s for s in self.stops if s.open), None)

    def planned_share(self, now_ms: int) -> float | None:
        """How much of the planned working time has gone by (0..1), from the planned start to the last stop."""
        ends = [s.planned_ms for s in self.stops if s.planned_ms is not None]
        if self.planned_start_ms is None or not ends:
            return None
        span = max(ends) - self.planned_start_ms
        return min(1.0, max(0.0, (now_ms - self.planned_start_ms) / span)) if span > 0 else None

    def badge(self) -> str:
        """One word or two for the board: Done, GPS silent, Late, On time, Not started."""
        if self.status == "done" or all(not s.open for s in self.stops):
            return "Done"
        if self.silent_since_ms is not None:
            return "GPS silent"
        if self.late_stops:
            return "Late"
        return "On time" if self.departed_ms is not None else "Not started"


def load_routes(engine: Engine, service_date: str, now_ms: int) -> list[RouteView]:
    """The routes in play on ``service_date`` (YYYY-MM-DD; see `in_play`) with their stops."""
    wanted = in_play(service_date, now_ms)
    driver = aliased(Driver)
    with engine.connect() as conn:
        routes = conn.execute(
            select(Route.id, Route.route_key, Route.service_date, Route.vehicle_id, Vehicle.name, driver.name,
                   Route.status, Route.planned_start_ms, Route.departed_ms, Route.silent_since_ms,
                   Route.eta_basis, Route.straight_legs)
            .join(Vehicle, Vehicle.id == Route.vehicle_id)
            .outerjoin(driver, driver.id == Route.driver_id)
            .where(wanted)
            .order_by(Route.service_date, Route.route_key)
        ).all()
        stops: dict[int, list[StopView]] = {}
        if routes:
            columns = [getattr(Stop, f) for f in StopView.__dataclass_fields__]
            for row in conn.execute(
                select(Stop.route_id, *columns).join(Route, Route.id == Stop.route_id)
                .where(wanted).order_by(Stop.route_id, Stop.sequence)
            ):
                stops.setdefault(row[0], []).append(StopView(*row[1:]))
    return [RouteView(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], tuple(stops.get(r[0], ())),
                      r[10], r[11])
            for r in routes]
