"""The tracking state in the database: a vehicle's route in play read with its stops, what changed written back.

All of it runs on the connection of the transaction that stores the batch of
fixes, so the state commits or rolls back with them. Statements run on every
batch are built once: building one costs more than running it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, and_, bindparam, insert, or_, select, update

from fleet_desk.store.models import DrivenLeg, EtaPrediction, OrderEvent, Route, Stop, Vehicle
from fleet_desk.tracking.eta import StopPlan
from fleet_desk.tracking.notices import CUSTOMER_FACING
from fleet_desk.tracking.state import RouteState, StopOrder, StopState

ROUTE_MAX_H = 14  # no route is still under way this long after its planned start

#: A stop's columns tracking writes (the progress part of `StopState`).
STOP_COLUMNS = ("status", "arrived_ms", "departed_ms", "eta_ms", "eta_earliest_ms", "eta_latest_ms", "eta_at_ms",
                "late", "delay_minutes", "delay_reason", "told_eta_ms", "told_at_ms", "expected_service_s",
                "service_basis")
#: A route's columns tracking writes.
ROUTE_COLUMNS = ("departed_ms", "status", "learned_speed_mps", "silent_since_ms", "eta_basis", "straight_legs")

#: A stop's expected service time and where it comes from, from its database row.
ServiceRule = Callable[[RowMapping], tuple[float, str]]

_INSERT_EVENT = insert(OrderEvent)
_INSERT_ETA = insert(EtaPrediction)
_UPDATE_STOP = update(Stop).where(Stop.id == bindparam("sid")).values({k: bindparam(k) for k in STOP_COLUMNS})
_UPDATE_ROUTE = update(Route).where(Route.id == bindparam("rid")).values({k: bindparam(k) for k in ROUTE_COLUMNS})
_INSERT_LEG = insert(DrivenLeg)


def in_play(day: str, now_ms: int) -> ColumnElement[bool]:
    """Routes that count on ``day``: its own, and the day before's not yet done within ROUTE_MAX_H of their
    planned start (a late shift running past midnight; not one left unfinished for good)."""
    yesterday = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    recent = or_(Route.planned_start_ms.is_(None), Route.planned_start_ms > now_ms - ROUTE_MAX_H * 3_600_000)
    return or_(Route.service_date == day, and_(Route.service_date == yesterday, Route.status != "done", recent))


def load_route(conn: Connection, vehicle_id: int, day: str, now_ms: int, stop_radius_m: float,
               service: ServiceRule | None = None) -> RouteState | None:
    """The vehicle's route in play: today's, or yesterday's still under way past midnight; the one already on
    the road first. ``stop_radius_m``: for stops the manifest gave no radius; ``service``: each stop's
    expected service time (None: the manifest's)."""
    row = conn.execute(
        select(Route.id, Route.service_date, Route.planned_start_ms, Route.departed_ms, Route.status,
               Route.silent_since_ms, Route.eta_basis, Route.straight_legs, Vehicle.name)
        .join(Vehicle, Vehicle.id == Route.vehicle_id)
        .where(Route.vehicle_id == vehicle_id, in_play(day, now_ms))
        .order_by((Route.status == "done"), Route.departed_ms.is_(None), Route.planned_start_ms, Route.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    told: dict[int, set[str]] = {}
    for stop_id, kind in conn.execute(
        select(OrderEvent.stop_id, OrderEvent.type).join(Stop, Stop.id == OrderEvent.stop_id)
        .where(Stop.route_id == row.id, OrderEvent.type.in_(CUSTOMER_FACING | {"arrived"})).distinct()
    ):
        told.setdefault(stop_id, set()).add(kind)
    stops = []
    for s in conn.execute(select(Stop).where(Stop.route_id == row.id).order_by(Stop.sequence)).mappings():
        service_s, basis = service(s) if service is not None else (float(s["service_s"]), s["service_basis"])
        stop = StopState(
            s["id"], s["sequence"],
            StopPlan(s["id"], s["lat"], s["lon"], s["window_start_ms"], s["window_end_ms"], service_s),
            s["radius_m"] or stop_radius_m, s["planned_ms"],
            StopOrder(s["order_id"], s["tracking_number"], s["customer_name"], s["phone"], s["email"]),
            s["status"], s["arrived_ms"], s["departed_ms"], s["eta_ms"], s["eta_earliest_ms"], s["eta_latest_ms"],
            s["eta_at_ms"], s["late"], s["delay_minutes"], s["delay_reason"], s["told_eta_ms"], s["told_at_ms"],
            told.get(s["id"], set()), basis,
        )
        stop.dirty = basis != s["service_basis"] or s["expected_service_s"] is None or (
            abs(service_s - s["expected_service_s"]) >= 1)
        stops.append(stop)
    route = RouteState(row.id, row.service_date, row.planned_start_ms, row.departed_ms, row.status, stops,
                       row.silent_since_ms, row.name, row.eta_basis, row.straight_legs)
    for stop in stops:
        stop.route = route
    return route


def write_route(conn: Connection, route: RouteState, learned_speed_mps: float) -> None:
    """What changed of the route and its stops since it was read or last written."""
    changed = [s for s in route.stops if s.dirty]
    if changed:
        conn.execute(_UPDATE_STOP, [_stop_row(s) for s in changed])
        for s in changed:
            s.dirty = False
    if route.dirty:
        conn.execute(_UPDATE_ROUTE, {"rid": route.id, "departed_ms": route.departed_ms, "status": route.status,
                                     "learned_speed_mps": round(learned_speed_mps, 2),
                                     "silent_since_ms": route.silent_since_ms, "eta_basis": route.eta_basis,
                                     "straight_legs": route.straight_legs})
        route.dirty = False


def insert_events(conn: Connection, events: list[dict[str, Any]]) -> None:
    """Order timeline rows (`OrderEvent` columns)."""
    conn.execute(_INSERT_EVENT, events)


def insert_predictions(conn: Connection, history: list[dict[str, Any]]) -> None:
    """ETA history rows (`EtaPrediction` columns)."""
    conn.execute(_INSERT_ETA, history)


def insert_driven_legs(conn: Connection, legs: list[dict[str, Any]]) -> None:
    """Driven leg rows (`DrivenLeg` columns): what the depot learns from."""
    conn.execute(_INSERT_LEG, legs)


def _stop_row(s: StopState) -> dict[str, Any]:
    return {"sid": s.id, "status": s.status, "arrived_ms": s.arrived_ms, "departed_ms": s.departed_ms,
            "eta_ms": s.eta_ms, "eta_earliest_ms": s.eta_earliest_ms, "eta_latest_ms": s.eta_latest_ms,
            "eta_at_ms": s.eta_at_ms, "late": s.late, "delay_minutes": s.delay_minutes,
            "delay_reason": s.delay_reason, "told_eta_ms": s.told_eta_ms, "told_at_ms": s.told_at_ms,
            "expected_service_s": round(s.plan.service_s, 1), "service_basis": s.service_basis}
