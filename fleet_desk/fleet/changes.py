"""What each change on the database is, as `fleet-desk watch` prints it: the change log's ids made into the
vehicle's position, the stop's status and ETA, the outbox event's state (one query per kind and batch).

A change row names what changed, not how: what is described is the row as it
stands when read. Several changes of one thing in one batch are one line (the
newest): a vehicle's two batches read together show its latest position once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from fleet_desk.store.changes import ChangeRow
from fleet_desk.store.models import Device, LatestPosition, OutboxEvent, Route, Stop, Vehicle
from fleet_desk.times import iso_z

Described = dict[str, Any]


def _iso(ms: int | None) -> str | None:
    return iso_z(ms) if ms is not None else None


def _round(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def newest_each(rows: Sequence[ChangeRow]) -> list[ChangeRow]:
    """One change per thing changed (its newest), in the order of those newest changes."""
    last: dict[tuple[str, int], ChangeRow] = {}
    for row in rows:
        last.pop((row.kind, row.ref_id), None)
        last[(row.kind, row.ref_id)] = row
    return list(last.values())


def describe(conn: Connection, rows: Sequence[ChangeRow]) -> list[Described]:
    """Each change (one per thing changed) with what it changed, as it is now; something deleted since is
    ``{"kind", "id", "gone": true}``. Every line also says its change id, when and by which desk."""
    rows = newest_each(rows)
    refs: dict[str, set[int]] = {}
    for row in rows:
        refs.setdefault(row.kind, set()).add(row.ref_id)
    found: dict[str, dict[int, Described]] = {
        "position": _positions(conn, refs.get("position", set())),
        "stop": _stops(conn, refs.get("stop", set())),
        "route": _routes(conn, refs.get("route", set())),
        "outbox": _outbox(conn, refs.get("outbox", set())),
        "unit": _units(conn, refs.get("unit", set())),
        "maintenance": {0: {"run": "database maintenance"}},  # a desk's nightly run (or db maintain) began
    }
    described = []
    for row in rows:
        what = found.get(row.kind, {}).get(row.ref_id)
        line: Described = {"kind": row.kind, **(what if what is not None else {"id": row.ref_id, "gone": True})}
        line.update(change=row.id, at_utc=iso_z(row.at_ms), desk=row.desk)
        described.append(line)
    return described


def _positions(conn: Connection, vehicle_ids: set[int]) -> dict[int, Described]:
    if not vehicle_ids:
        return {}
    rows = conn.execute(
        select(LatestPosition.vehicle_id, Vehicle.name, Device.name.label("unit"), LatestPosition.fix_time_ms,
               LatestPosition.lat, LatestPosition.lon, LatestPosition.speed_mps, LatestPosition.course_deg,
               LatestPosition.source)
        .join(Vehicle, Vehicle.id == LatestPosition.vehicle_id)
        .join(Device, Device.id == LatestPosition.device_id)
        .where(LatestPosition.vehicle_id.in_(sorted(vehicle_ids)))
    ).all()
    return {r.vehicle_id: {"vehicle": r.name, "vehicle_id": r.vehicle_id, "unit": r.unit,
                           "time_utc": iso_z(r.fix_time_ms), "lat": round(r.lat, 6), "lon": round(r.lon, 6),
                           "speed_mps": _round(r.speed_mps, 2), "course_deg": _round(r.course_deg, 1),
                           "source": r.source}
            for r in rows}


def _stops(conn: Connection, stop_ids: set[int]) -> dict[int, Described]:
    if not stop_ids:
        return {}
    rows = conn.execute(
        select(Stop.id, Stop.order_id, Stop.tracking_number, Stop.sequence, Stop.status, Stop.eta_ms,
               Stop.eta_earliest_ms, Stop.eta_latest_ms, Stop.late, Stop.delay_minutes, Stop.delay_reason,
               Stop.arrived_ms, Stop.departed_ms, Stop.failure_reason, Route.route_key, Route.service_date,
               Vehicle.name.label("vehicle"))
        .join(Route, Route.id == Stop.route_id).join(Vehicle, Vehicle.id == Route.vehicle_id)
        .where(Stop.id.in_(sorted(stop_ids)))
    ).all()
    return {r.id: {"order_id": r.order_id, "tracking_number": r.tracking_number, "stop_id": r.id,
                   "status": r.status, "eta": _iso(r.eta_ms), "eta_earliest": _iso(r.eta_earliest_ms),
                   "eta_latest": _iso(r.eta_latest_ms), "late": bool(r.late), "delay_minutes": r.delay_minutes,
                   "delay_reason": r.delay_reason, "arrived": _iso(r.arrived_ms), "departed": _iso(r.departed_ms),
                   "failure_reason": r.failure_reason, "route": r.route_key, "service_date": r.service_date,
                   "sequence": r.sequence, "vehicle": r.vehicle}
            for r in rows}


def _routes(conn: Connection, route_ids: set[int]) -> dict[int, Described]:
    if not route_ids:
        return {}
    rows = conn.execute(
        select(Route.id, Route.route_key, Route.service_date, Route.status, Route.departed_ms,
               Route.silent_since_ms, Route.eta_basis, Vehicle.name.label("vehicle"))
        .join(Vehicle, Vehicle.id == Route.vehicle_id).where(Route.id.in_(sorted(route_ids)))
    ).all()
    return {r.id: {"route": r.route_key, "route_id": r.id, "service_date": r.service_date, "status": r.status,
                   "vehicle": r.vehicle, "departed": _iso(r.departed_ms), "silent_since": _iso(r.silent_since_ms),
                   "eta_basis": r.eta_basis}
            for r in rows}


def _outbox(conn: Connection, event_ids: set[int]) -> dict[int, Described]:
    if not event_ids:
        return {}
    rows = conn.execute(
        select(OutboxEvent.id, OutboxEvent.event_id, OutboxEvent.order_id, OutboxEvent.sequence,
               OutboxEvent.type, OutboxEvent.status, OutboxEvent.attempts, OutboxEvent.created_ms,
               OutboxEvent.sent_ms, OutboxEvent.claimed_by, OutboxEvent.sent_by)
        .where(OutboxEvent.id.in_(sorted(event_ids)))
    ).all()
    return {r.id: {"id": r.id, "event_id": r.event_id, "order_id": r.order_id, "sequence": r.sequence,
                   "type": r.type, "status": r.status, "attempts": r.attempts, "created": _iso(r.created_ms),
                   "sent": _iso(r.sent_ms), "claimed_by": r.claimed_by, "sent_by": r.sent_by}
            for r in rows}


def _units(conn: Connection, device_ids: set[int]) -> dict[int, Described]:
    if not device_ids:
        return {}
    rows = conn.execute(
        select(Device.id, Device.name, Device.port, Device.live, Device.last_fix_ms, Device.read_by,
               Device.read_since_ms, Device.read_seen_ms, Vehicle.name.label("vehicle"))
        .outerjoin(Vehicle, Vehicle.id == Device.vehicle_id).where(Device.id.in_(sorted(device_ids)))
    ).all()
    return {r.id: {"unit": r.name, "unit_id": r.id, "vehicle": r.vehicle, "port": r.port, "live": bool(r.live),
                   "last_fix": _iso(r.last_fix_ms), "read_by": r.read_by, "read_since": _iso(r.read_since_ms),
                   "read_seen": _iso(r.read_seen_ms)}
            for r in rows}


def as_text(line: Described) -> str:
    """One change on one terminal line: when, what, and the gist of it."""
    kind, at = line["kind"], line["at_utc"][11:19]
    if line.get("gone"):
        return f"{at}  {kind:<8} {line['id']} deleted  [{line.get('desk') or '?'}]"
    if kind == "position":
        speed = f"{line['speed_mps']:.1f} m/s" if line["speed_mps"] is not None else "- m/s"
        what = f"{line['vehicle']} ({line['unit']})  {line['lat']:.6f},{line['lon']:.6f}  {speed}  " \
               f"fix {line['time_utc']}"
    elif kind == "stop":
        eta = f"  eta {line['eta'][11:16]}Z" if line["eta"] and line["status"] in ("pending", "arrived") else ""
        late = f"  late {line['delay_minutes']} min" if line["late"] else ""
        what = f"order {line['order_id']}  {line['status']}{eta}{late}  ({line['vehicle']}, route {line['route']})"
    elif kind == "route":
        what = f"route {line['route']} {line['service_date']}  {line['status']}  ({line['vehicle']})"
    elif kind == "outbox":
        by = f"  by {line['sent_by']}" if line["sent_by"] else ""
        what = (f"event {line['id']}  {line['type']} for order {line['order_id']} #{line['sequence']}  "
                f"{line['status']}  attempts {line['attempts']}{by}")
    elif kind == "maintenance":
        what = "database maintenance began (old positions thinned, old changes pruned)"
    else:
        reader = f"  read by {line['read_by']}" if line["read_by"] else ""
        what = f"unit {line['unit']}  vehicle {line['vehicle'] or '-'}{reader}"
    return f"{at}  {kind:<8} {what}  [{line.get('desk') or '?'}]"
