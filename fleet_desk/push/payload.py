"""The wire payload of a customer-facing event (schema `resources/schemas/tracking-event.schema.json`).

Customer data leaves the machine only in the fields the schema names, and
name, phone and e-mail only when the setting says so.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select

from fleet_desk.settings import Settings
from fleet_desk.store import changes
from fleet_desk.store.models import OutboxEvent
from fleet_desk.times import iso_z

SCHEMA_VERSION = 1
#: Timeline milestone -> the event type on the wire.
WIRE_TYPES = {
    "out_for_delivery": "out_for_delivery",
    "eta_updated": "eta_updated",
    "delayed": "delay_notice",
    "arriving_soon": "arriving_soon",
    "delivered": "delivered",
    "delivery_exception": "delivery_exception",
}


@dataclass(frozen=True)
class PayloadPolicy:
    """What customer data may leave the machine in a payload, from the settings: the van's position (shared
    unless turned off) and the customer's name, phone and e-mail (kept back unless turned on)."""

    share_vehicle_position: bool = True
    share_customer_contact: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> PayloadPolicy:
        """The policy the user's settings ask for."""
        return cls(settings.share_vehicle_position, settings.share_customer_contact)


@dataclass(frozen=True)
class Notice:
    """What a customer-facing milestone says, gathered where it happened."""

    kind: str  # a timeline milestone (see WIRE_TYPES)
    occurred_ms: int
    stop_id: int
    order_id: str
    tracking_number: str
    window: tuple[int, int]
    eta: tuple[int, int, int] | None = None  # expected, earliest, latest
    delay: tuple[int, str] | None = None  # minutes, reason
    stops_before: int | None = None
    vehicle: tuple[int, str] | None = None  # id, label
    position: tuple[float, float, int] | None = None  # lat, lon, fix time
    exception_reason: str | None = None
    customer: tuple[str, str | None, str | None] | None = None  # name, phone, e-mail


def body(notice: Notice, event_id: str, sequence: int, policy: PayloadPolicy) -> str:
    """The exact JSON text sent (and signed) for this event."""
    doc: dict = {
        "schema_version": SCHEMA_VERSION,
        "event_id": event_id,
        "type": WIRE_TYPES[notice.kind],
        "occurred_at": iso_z(notice.occurred_ms),
        "sequence": sequence,
        "order": {"order_id": notice.order_id, "tracking_number": notice.tracking_number},
        "window": {"start": iso_z(notice.window[0]), "end": iso_z(notice.window[1])},
    }
    if notice.eta is not None:
        expected, earliest, latest = notice.eta
        doc["eta"] = {"expected": iso_z(expected), "earliest": iso_z(earliest), "latest": iso_z(latest)}
    if notice.delay is not None and notice.kind == "delayed":
        doc["delay"] = {"minutes": notice.delay[0], "reason": notice.delay[1]}
    if notice.stops_before is not None:
        doc["stops_before"] = notice.stops_before
    if notice.vehicle is not None:
        vehicle: dict = {"id": notice.vehicle[0], "label": notice.vehicle[1]}
        if policy.share_vehicle_position and notice.position is not None:
            lat, lon, at = notice.position
            vehicle["position"] = {"lat": round(lat, 6), "lon": round(lon, 6), "at": iso_z(at)}
        doc["vehicle"] = vehicle
    if notice.kind == "delivery_exception":
        doc["exception"] = {"reason": notice.exception_reason or "not given"}
    if policy.share_customer_contact and notice.customer is not None:
        name, phone, email = notice.customer
        doc["customer"] = {k: v for k, v in (("name", name), ("phone", phone), ("email", email)) if v}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def enqueue(conn: Connection, notices: list[Notice], policy: PayloadPolicy, now_ms: int,
            desk: str | None = None) -> int:
    """Queue ``notices`` in the caller's transaction, each with the next sequence number of its order;
    ``desk``: the desk queueing them, which the change log names (None: this computer's name)."""
    if not notices:
        return 0
    orders = sorted({n.order_id for n in notices})
    last = dict(conn.execute(
        select(OutboxEvent.order_id, func.max(OutboxEvent.sequence))
        .where(OutboxEvent.order_id.in_(orders)).group_by(OutboxEvent.order_id)
    ).all())
    rows = []
    for notice in notices:
        sequence = last.get(notice.order_id, 0) + 1
        last[notice.order_id] = sequence
        event_id = str(uuid.uuid4())
        rows.append({"event_id": event_id, "stop_id": notice.stop_id, "order_id": notice.order_id,
                     "sequence": sequence, "type": WIRE_TYPES[notice.kind], "created_ms": now_ms,
                     "body": body(notice, event_id, sequence, policy), "status": "pending", "attempts": 0,
                     "next_attempt_ms": now_ms})
    ids = conn.scalars(insert(OutboxEvent).returning(OutboxEvent.id, sort_by_parameter_order=True), rows).all()
    changes.record(conn, "outbox", ids, desk)  # other desks' outbox monitors and `fleet-desk watch` see it
    return len(rows)
