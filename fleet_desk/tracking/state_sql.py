"""The tracking state in the database: a vehicle's route in play read with its stops, what changed written back.

All of it runs on the connection of the transaction that stores the batch of
fixes, so the state commits or rolls back with them. Statements run on every
batch are built once: building one costs more than running it.

Several desks (and a dispatcher on any of them) write the same rows, so the
route read here keeps each row's ``version`` and the values it was read with.
A write is a compare-and-set (``WHERE id = :id AND version = :read``, bumping
the version); a row another writer changed since is merged, field by field:
what the other writer changed wins (a dispatcher's "delivered" stays
delivered), what only the tracker changed is kept, and the cached route takes
the merged values. Nothing is ever written back over another writer's change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, RowMapping, and_, bindparam, insert, or_, select, update

from fleet_desk.store.changes import record_many
from fleet_desk.store.models import DrivenLeg, EtaPrediction, OrderEvent, Route, Stop, Vehicle
from fleet_desk.tracking.eta import StopPlan
from fleet_desk.tracking.notices import CUSTOMER_FACING
from fleet_desk.tracking.state import RouteState, StopOrder, StopState

log = logging.getLogger(__name__)

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
_CAS_STOP = (update(Stop).where(Stop.id == bindparam("sid"), Stop.version == bindparam("read_version"))
             .values({**{k: bindparam(k) for k in STOP_COLUMNS}, "version": Stop.version + 1}))
_CAS_ROUTE = (update(Route).where(Route.id == bindparam("rid"), Route.version == bindparam("read_version"))
              .values({**{k: bindparam(k) for k in ROUTE_COLUMNS}, "version": Route.version + 1}))
MERGE_TRIES = 5  # a row changed again while merging: read and merge again, this many times at most

Values = tuple[Any, ...]


@dataclass(slots=True)
class Merged:
    """What `write_route` found another writer (a dispatcher, another desk) had changed meanwhile: kept, and
    merged into the cached route, which should be read again. ``overruled``: stops whose status the other
    writer set, so the tracker's own news of them in this batch (arrived, delivered, ETAs told) is void."""

    overruled: set[int] = field(default_factory=set)


@dataclass(slots=True, eq=False)
class StoredRoute(RouteState):
    """A route as read from the database: each row's version and the values tracking's columns had then (the
    base of a three-way merge when another writer changed the row meanwhile)."""

    version: int = 0
    base: Values = ()
    stop_versions: dict[int, int] = field(default_factory=dict)
    stop_bases: dict[int, Values] = field(default_factory=dict)
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
               Route.silent_since_ms, Route.eta_basis, Route.straight_legs, Route.learned_speed_mps, Route.version,
               Vehicle.name)
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
    versions: dict[int, int] = {}
    bases: dict[int, Values] = {}
    for s in conn.execute(select(Stop).where(Stop.route_id == row.id).order_by(Stop.sequence)).mappings():
        versions[s["id"]] = s["version"] or 0
        bases[s["id"]] = tuple(s[k] for k in STOP_COLUMNS)
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
    route = StoredRoute(row.id, row.service_date, row.planned_start_ms, row.departed_ms, row.status, stops,
                        row.silent_since_ms, row.name, row.eta_basis, row.straight_legs, version=row.version or 0,
                        base=(row.departed_ms, row.status, row.learned_speed_mps, row.silent_since_ms, row.eta_basis,
                              row.straight_legs),
                        stop_versions=versions, stop_bases=bases)
    for stop in stops:
        stop.route = route
    return route


def write_route(conn: Connection, route: RouteState, learned_speed_mps: float,
                desk: str | None = None) -> Merged | None:
    """What changed of the route and its stops since it was read or last written, each row compare-and-set on
    the version it was read at (``desk``: the desk writing it, which the change log names). Returns None, or
    what another writer had changed meanwhile: its changes were kept and merged into ``route`` (re-read the
    route before relying on the rest of it).

    A route made by hand (not read by `load_route`) has no versions: its rows are written by id."""
    changed = [s for s in route.stops if s.dirty]
    record_many(conn, {"stop": [s.id for s in changed], "route": [route.id] if route.dirty else []},  # desks wake
                desk)
    stored = route if isinstance(route, StoredRoute) else None
    merged: Merged | None = None
    if changed:
        if stored is None:
            conn.execute(_UPDATE_STOP, [_stop_row(s) for s in changed])
        else:
            merged = _write_stops(conn, stored, changed)
        for s in changed:
            s.dirty = False
    if route.dirty:
        row = _route_row(route, learned_speed_mps)
        if stored is None:
            conn.execute(_UPDATE_ROUTE, row)
        elif conn.execute(_CAS_ROUTE, {**row, "read_version": stored.version}).rowcount == 1:
            stored.version += 1
            stored.base = tuple(row[k] for k in ROUTE_COLUMNS)
        else:
            _merge_route(conn, stored, row)
            merged = merged or Merged()
        route.dirty = False
    if merged is not None:
        log.info("route %s: changed by another writer meanwhile (stops overruled: %s); merged, theirs kept",
                 route.id, sorted(merged.overruled) or "none")
    return merged


def _write_stops(conn: Connection, route: StoredRoute, changed: list[StopState]) -> Merged | None:
    """Compare-and-set the changed stops in one statement; when one of them missed, merge them all (a row
    this statement did write merges to itself). Returns None when none missed."""
    rows = [_stop_row(s) for s in changed]
    for row in rows:
        row["read_version"] = route.stop_versions.get(row["sid"], 0)
    if conn.execute(_CAS_STOP, rows).rowcount == len(rows):
        for row in rows:
            route.stop_versions[row["sid"]] += 1
            route.stop_bases[row["sid"]] = tuple(row[k] for k in STOP_COLUMNS)
        return None
    merged = Merged()
    for _ in range(MERGE_TRIES):
        if _merge_stops(conn, route, changed, merged):
            break
    return merged


def _merge_stops(conn: Connection, route: StoredRoute, changed: Sequence[StopState], merged: Merged) -> bool:
    """Three-way merge of ``changed`` with their rows as they are now (locked on PostgreSQL until the
    transaction ends): a column another writer changed since the route was read keeps its value, one only
    the tracker changed takes the tracker's. Returns False when a row changed yet again under the merge."""
    by_id = {s.id: s for s in changed}
    now = {r["id"]: r for r in conn.execute(
        select(Stop.id, Stop.route_id, Stop.version, *(getattr(Stop, k) for k in STOP_COLUMNS))
        .where(Stop.id.in_(by_id)).with_for_update()).mappings()}
    for sid, stop in by_id.items():
        current = now.get(sid)
        if current is None or current["route_id"] != route.id:  # deleted, or moved to another route
            route.stop_versions.pop(sid, None)
            merged.overruled.add(sid)
            continue
        theirs = tuple(current[k] for k in STOP_COLUMNS)
        base = route.stop_bases.get(sid, theirs)
        values = _merge(base, tuple(_stop_row(stop)[k] for k in STOP_COLUMNS), theirs)
        version = current["version"] or 0
        if values != theirs:
            row = {"sid": sid, "read_version": version, **dict(zip(STOP_COLUMNS, values, strict=True))}
            if conn.execute(_CAS_STOP, row).rowcount != 1:
                return False
            version += 1
        if current["status"] != base[0] and current["status"] != stop.status:
            merged.overruled.add(sid)
        route.stop_versions[sid], route.stop_bases[sid] = version, values
        _take_stop(stop, values)
    route.visited()
    return True


def _merge_route(conn: Connection, route: StoredRoute, ours: dict[str, Any]) -> bool:
    """The route's own row merged as its stops are (`_merge_stops`); True once written or found gone."""
    for _ in range(MERGE_TRIES):
        current = conn.execute(
            select(Route.version, *(getattr(Route, k) for k in ROUTE_COLUMNS))
            .where(Route.id == route.id).with_for_update()).mappings().first()
        if current is None:
            return True
        theirs = tuple(current[k] for k in ROUTE_COLUMNS)
        merged = _merge(route.base or theirs, tuple(ours[k] for k in ROUTE_COLUMNS), theirs)
        version = current["version"] or 0
        if merged != theirs:
            row = {"rid": route.id, "read_version": version, **dict(zip(ROUTE_COLUMNS, merged, strict=True))}
            if conn.execute(_CAS_ROUTE, row).rowcount != 1:
                continue
            version += 1
        route.version, route.base = version, merged
        values = dict(zip(ROUTE_COLUMNS, merged, strict=True))
        route.departed_ms, route.status = values["departed_ms"], values["status"]
        route.silent_since_ms, route.eta_basis = values["silent_since_ms"], values["eta_basis"]
        route.straight_legs = values["straight_legs"]
        return True
    return False


def _merge(base: Values, ours: Values, theirs: Values) -> Values:
    """Column by column: theirs where they changed it since ``base``, ours otherwise."""
    return tuple(o if t == b else t for b, o, t in zip(base, ours, theirs, strict=True))


def _take_stop(stop: StopState, values: Values) -> None:
    """The cached stop takes the merged row (its expected service time and basis stay the tracker's own)."""
    v = dict(zip(STOP_COLUMNS, values, strict=True))
    stop.status, stop.arrived_ms, stop.departed_ms = v["status"], v["arrived_ms"], v["departed_ms"]
    stop.eta_ms, stop.eta_earliest_ms, stop.eta_latest_ms = v["eta_ms"], v["eta_earliest_ms"], v["eta_latest_ms"]
    stop.eta_at_ms, stop.late, stop.delay_minutes = v["eta_at_ms"], bool(v["late"]), v["delay_minutes"]
    stop.delay_reason, stop.told_eta_ms, stop.told_at_ms = v["delay_reason"], v["told_eta_ms"], v["told_at_ms"]


def _route_row(route: RouteState, learned_speed_mps: float) -> dict[str, Any]:
    return {"rid": route.id, "departed_ms": route.departed_ms, "status": route.status,
            "learned_speed_mps": round(learned_speed_mps, 2), "silent_since_ms": route.silent_since_ms,
            "eta_basis": route.eta_basis, "straight_legs": route.straight_legs}


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
