"""Routes and stops in the database: a manifest stored (again: updated in place), and dispatchers' changes.

Every change is recorded on the order's timeline with its source, and a dispatcher's with the desk it came
from. A dispatcher's change is a compare-and-set on the stop's version (as the trackers' writes are, see
`fleet_desk.tracking.state_sql`): when a tracker or another desk changed the stop between reading and
writing it, the change is worked out again on the stop as it is now, never written over theirs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

from fleet_desk.clock import now_ms
from fleet_desk.push.payload import Notice, PayloadPolicy, enqueue
from fleet_desk.store.changes import DESK_INFO, desk_session, record
from fleet_desk.store.models import Driver, LatestPosition, OrderEvent, Route, Stop, Vehicle
from fleet_desk.store.registry import get_or_create
from fleet_desk.store.search_index import email_key, index_terms, locale_region, phone_key, region_of, usual_region
from fleet_desk.times import to_ms
from fleet_desk.tracking.eta import StopPlan, predict, straight_legs_s
from fleet_desk.tracking.manifest import Manifest, ManifestStop
from fleet_desk.tracking.rules import TrackingRules
from fleet_desk.tracking.tracker import RouteTracker


@dataclass
class ManifestResult:
    """What storing a manifest changed: routes and stops new or updated (a manifest loaded again updates in
    place); `report` words it for the user."""

    routes_new: int = 0
    routes_updated: int = 0
    stops_new: int = 0
    stops_updated: int = 0

    def report(self) -> str:
        """ "2 routes (2 new), 7 stops (7 new, 0 updated)"; one route, one stop."""
        routes, stops = self.routes_new + self.routes_updated, self.stops_new + self.stops_updated
        return (f"{routes} route{'' if routes == 1 else 's'} ({self.routes_new} new), "
                f"{stops} stop{'' if stops == 1 else 's'} ({self.stops_new} new, {self.stops_updated} updated)")


@contextmanager
def _editing(engine: Engine, tracker: RouteTracker, desk: str) -> Iterator[Session]:
    """One transaction changing routes, recorded as ``desk``'s; once committed, ``tracker`` (the live one)
    re-reads them with the next fix."""
    with desk_session(engine, desk) as session, session.begin():
        yield session
    tracker.invalidate()


def store_manifest(engine: Engine, tracker: RouteTracker, manifest: Manifest, rules: TrackingRules) -> ManifestResult:
    """Store the manifest's valid stops in one transaction; a stop already known by its order id is updated.
    ``tracker``: the live tracker, told to re-read the routes."""
    by_route: dict[str, list[ManifestStop]] = defaultdict(list)
    for stop in manifest.stops:
        by_route[stop.route_id].append(stop)
    result = ManifestResult()
    stamp = now_ms()
    with _editing(engine, tracker, tracker.desk) as session:
        region = rules.phone_region or _manifest_region(manifest) or usual_region(session.connection()) \
            or locale_region()
        for route_key, stops in by_route.items():
            stops.sort(key=lambda s: s.sequence)
            first = stops[0]
            start = next((s.planned_start for s in stops if s.planned_start), None)
            day = rules.local_day(to_ms(start or min(s.window_start for s in stops)))
            route = session.scalar(select(Route).where(Route.service_date == day, Route.route_key == route_key))
            vehicle = get_or_create(session, Vehicle, first.vehicle)
            driver_name = next((s.driver for s in stops if s.driver), None)
            driver = get_or_create(session, Driver, driver_name) if driver_name else None
            if route is None:
                route = Route(route_key=route_key, service_date=day, status="planned", vehicle=vehicle)
                session.add(route)
                result.routes_new += 1
            else:
                result.routes_updated += 1
                route.vehicle = vehicle
                route.version = (route.version or 0) + 1  # trackers holding it merge on their next write
            if driver is not None:
                route.driver = driver
                driver.vehicle = vehicle
            route.planned_start_ms = to_ms(start) if start else None
            session.flush()
            plans = _plan(stops, route.planned_start_ms, rules)
            for mstop, planned in zip(stops, plans, strict=True):
                row = session.scalar(select(Stop).where(Stop.order_id == mstop.order_id))
                if row is None:
                    row = Stop(order_id=mstop.order_id, status="pending")
                    session.add(row)
                    result.stops_new += 1
                    new = True
                else:
                    result.stops_updated += 1
                    new = False
                    row.version = (row.version or 0) + 1
                row.route_id = route.id
                row.sequence = mstop.sequence
                row.tracking_number = mstop.tracking_number
                row.customer_name = mstop.customer_name
                row.phone, row.email, row.notes = mstop.phone, mstop.email, mstop.notes
                row.phone_key, row.email_key = phone_key(mstop.phone, region), email_key(mstop.email)
                row.address, row.lat, row.lon = mstop.address, mstop.lat, mstop.lon
                row.window_start_ms, row.window_end_ms = to_ms(mstop.window_start), to_ms(mstop.window_end)
                row.service_s = round((mstop.service_minutes if mstop.service_minutes is not None
                                       else rules.service_s / 60) * 60)
                row.planned_ms = planned
                row.radius_m = mstop.radius_m
                session.flush()
                index_terms(session.connection(), row.id, row.customer_name, row.address)
                if new:
                    session.add(OrderEvent(stop_id=row.id, time_ms=stamp, type="confirmed", source="manifest",
                                           detail=f"route {route_key}, stop {mstop.sequence}"))
    return result


def _manifest_region(manifest: Manifest) -> str | None:
    """The region of the manifest's own international numbers, for reading its national ones."""
    keys = [k for k in (phone_key(s.phone, None) for s in manifest.stops[:200]) if k]
    return region_of(keys)


def _plan(stops: list[ManifestStop], planned_start_ms: int | None, rules: TrackingRules) -> list[int | None]:
    """Planned arrival at each stop: from the depot (or the first stop) at the planned start, at default speed."""
    if planned_start_ms is None:
        return [None] * len(stops)
    plans = [StopPlan(i, s.lat, s.lon, to_ms(s.window_start), to_ms(s.window_end),
                      (s.service_minutes if s.service_minutes is not None else rules.service_s / 60) * 60)
             for i, s in enumerate(stops)]
    origin = rules.depot or (stops[0].lat, stops[0].lon)
    legs_s = straight_legs_s(plans, origin[0], origin[1], rules.default_speed_mps, rules.circuity)
    etas = predict(plans, legs_s, planned_start_ms)
    return [e.expected_ms for e in etas]


# -- dispatchers' changes ------------------------------------------------------------------------------------

#: A dispatcher's change is worked out again on the stop as it is now this many times when other writers keep
#: changing it in between (a tracker writes a moving van's stops every few seconds at most).
CAS_TRIES = 10


class StopNotFoundError(LookupError):
    """The dispatcher named an order, or a route, the database does not have; the message says which."""


class ChangedElsewhereError(RuntimeError):
    """A stop kept changing under a dispatcher's change (other desks, trackers); nothing was changed."""


class _MissedError(Exception):
    """A compare-and-set found the row changed since it was read: start the change again."""


def _stop(session: Session, order_id: str) -> Stop:
    stop = session.scalar(select(Stop).where(Stop.order_id == order_id))
    if stop is None:
        raise StopNotFoundError(f"no order {order_id!r}")
    return stop


def _set(session: Session, stop: Stop, **values: object) -> None:
    """Change the stop's row if it is still at the version it was read at (and bump it), else `_MissedError`."""
    result = session.execute(
        update(Stop).where(Stop.id == stop.id, Stop.version == stop.version)
        .values(**values, version=stop.version + 1).execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _MissedError
    record(session.connection(), "stop", [stop.id], session.info.get(DESK_INFO))  # every desk wakes on it when
    # this commits


def _again(what: str) -> ChangedElsewhereError:
    return ChangedElsewhereError(f"{what} kept changing on other desks while this change was made; nothing was "
                                 "changed: try again")


def mark_stop(engine: Engine, tracker: RouteTracker, policy: PayloadPolicy, order_id: str, outcome: str,
              reason: str | None = None, desk: str | None = None) -> None:
    """A dispatcher's word on a stop: delivered, or failed with a reason (a delivery exception), told to the
    customer with ``policy``; ``desk``: the desk it comes from (default: the tracker's, this desk)."""
    if outcome not in ("delivered", "failed"):
        raise ValueError(f"a stop is marked delivered or failed, not {outcome!r}")
    if outcome == "failed" and not (reason or "").strip():
        raise ValueError("a failed delivery needs a reason")
    desk = desk or tracker.desk
    for _ in range(CAS_TRIES):
        try:
            _mark(engine, tracker, policy, order_id, outcome, (reason or "").strip(), desk)
            return
        except _MissedError:
            continue
    raise _again(f"order {order_id}")


def _mark(engine: Engine, tracker: RouteTracker, policy: PayloadPolicy, order_id: str, outcome: str, reason: str,
          desk: str) -> None:
    stamp = now_ms()
    with _editing(engine, tracker, desk) as session:
        stop = _stop(session, order_id)
        if stop.status == outcome and (outcome == "delivered" or stop.failure_reason == reason):
            return  # said already: the customer is not told twice
        values: dict[str, object] = {"status": outcome, "late": False}
        failure = stop.failure_reason
        if outcome == "failed":
            values["failure_reason"] = failure = reason  # (not empty: checked by mark_stop)
        if stop.departed_ms is None and stop.arrived_ms is not None:
            values["departed_ms"] = stamp
        _set(session, stop, **values)
        kind = "delivered" if outcome == "delivered" else "delivery_exception"
        session.add(OrderEvent(stop_id=stop.id, time_ms=stamp, type=kind, detail=reason or None, source="dispatcher",
                               customer_facing=True, desk=desk))
        route = stop.route
        latest = session.get(LatestPosition, route.vehicle_id)
        notice = Notice(
            kind=kind, occurred_ms=stamp, stop_id=stop.id, order_id=stop.order_id,
            tracking_number=stop.tracking_number, window=(stop.window_start_ms, stop.window_end_ms),
            vehicle=(route.vehicle_id, route.vehicle.name),
            position=(latest.lat, latest.lon, latest.fix_time_ms) if latest else None,
            exception_reason=failure, customer=(stop.customer_name, stop.phone, stop.email),
        )
        enqueue(session.connection(), [notice], policy, stamp, desk)


def reorder_route(engine: Engine, tracker: RouteTracker, route_id: int, order_ids: list[str],
                  desk: str | None = None) -> None:
    """New stop sequence for a route: ``order_ids`` in the order they will now be served (``desk``: where the
    change comes from, default the tracker's, this desk)."""
    desk = desk or tracker.desk
    for _ in range(CAS_TRIES):
        try:
            _reorder(engine, tracker, route_id, order_ids, desk)
            return
        except _MissedError:
            continue
    raise _again(f"route {route_id}")


def _reorder(engine: Engine, tracker: RouteTracker, route_id: int, order_ids: list[str], desk: str) -> None:
    stamp = now_ms()
    with _editing(engine, tracker, desk) as session:
        stops = {s.order_id: s for s in session.scalars(select(Stop).where(Stop.route_id == route_id))}
        if set(order_ids) != set(stops):
            raise ValueError("the new order must list every stop of the route exactly once")
        for sequence, order_id in enumerate(order_ids, start=1):
            stop = stops[order_id]
            if stop.sequence != sequence:
                _set(session, stop, sequence=sequence)
                session.execute(insert(OrderEvent).values(
                    stop_id=stop.id, time_ms=stamp, type="resequenced", source="dispatcher", desk=desk,
                    detail=f"stop {stop.sequence} -> {sequence}"))


def reassign_stop(engine: Engine, tracker: RouteTracker, order_id: str, route_id: int,
                  desk: str | None = None) -> None:
    """Move a stop to another route (another vehicle), at the end of its sequence (``desk``: where the change
    comes from, default the tracker's, this desk)."""
    desk = desk or tracker.desk
    for _ in range(CAS_TRIES):
        try:
            _reassign(engine, tracker, order_id, route_id, desk)
            return
        except _MissedError:
            continue
    raise _again(f"order {order_id}")


def _reassign(engine: Engine, tracker: RouteTracker, order_id: str, route_id: int, desk: str) -> None:
    stamp = now_ms()
    with _editing(engine, tracker, desk) as session:
        stop = _stop(session, order_id)
        route = session.get(Route, route_id)
        if route is None:
            raise StopNotFoundError(f"no route {route_id}")
        last = session.scalar(select(func.max(Stop.sequence)).where(Stop.route_id == route_id)) or 0
        before = stop.route.route_key
        _set(session, stop, route_id=route_id, sequence=last + 1)
        session.add(OrderEvent(stop_id=stop.id, time_ms=stamp, type="reassigned", source="dispatcher", desk=desk,
                               detail=f"route {before} -> {route.route_key} ({route.vehicle.name})"))
