"""The answer card: where one order is and what to tell the customer, in plain words.

Read in one connection with a handful of indexed queries: the stop and its
route, the route's stops (stops before this one, progress, a landmark near
the van), the van's latest position, the order's timeline and what was pushed
to the customer (the outbox).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import aliased

from fleet_desk import times
from fleet_desk.fleet.vehicles import STALE_AFTER_S
from fleet_desk.store.models import Driver, LatestPosition, OrderEvent, OutboxEvent, Position, Route, Stop, Vehicle
from fleet_desk.store.search_index import mask_email, mask_phone
from fleet_desk.times import iso_z
from fleet_desk.tracking.geo import distance_m
from fleet_desk.tracking.notices import CUSTOMER_FACING
from fleet_desk.tracking.rules import TrackingRules
from fleet_desk.tracking.state import OPEN
from fleet_desk.tracking.tracker import DEPOT_RADIUS_M

NEAR_M = 400.0  # a route stop closer than this names where the van is
EVENT_WORDS = {
    "confirmed": "Order confirmed",
    "out_for_delivery": "Out for delivery",
    "eta_updated": "ETA updated",
    "arriving_soon": "Arriving soon",
    "arrived": "Driver arrived",
    "delivered": "Delivered",
    "delayed": "Delay",
    "back_on_time": "Back on time",
    "delivery_exception": "Delivery failed",
    "resequenced": "Moved in the route",
    "reassigned": "Handed to another route",
}
FROM_LOGS = frozenset({"dock", "import", "replay"})  # events read after the fact, which tell no customer
_FLAGGED = re.compile(r"^about (\d+) min late")
NOTICE_STATUS = {"pending": "waiting to be sent", "sent": "sent", "dead": "refused by the endpoint",
                 "superseded": "replaced by a newer ETA before it went out"}


@dataclass(frozen=True)
class VehicleSeen:
    """Where the order's van was last seen, with a place a customer can picture ("near 12 Rue X");
    `stale` when that position is too old to pass for live."""

    label: str
    lat: float
    lon: float
    fix_ms: int
    fix_age_s: float
    near: str  # "at the depot", "near 12 Rue X, Lyon" or "at 45.75120, 4.84230"

    @property
    def stale(self) -> bool:
        """Whether the position is too old to pass for live (older than `STALE_AFTER_S`)."""
        return self.fix_age_s > STALE_AFTER_S


@dataclass(frozen=True)
class TimelineItem:
    """One entry of the order's timeline (confirmed, out for delivery, arrived...), for the card's history."""

    time_ms: int
    type: str
    detail: str | None
    desk: str | None = None  # the desk a dispatcher's action came from

    @property
    def said(self) -> str:
        """Its detail, with the dispatcher's desk when there was one: "customer not at home (desk-2)"."""
        desk = f"({self.desk})" if self.desk else ""
        return " ".join(part for part in (self.detail or "", desk) if part)


@dataclass(frozen=True)
class NoticeSent:
    """A notice pushed (or still waiting) to the customer and what it said, so the agent knows what the
    customer has already been told."""

    time_ms: int
    type: str
    status: str
    said: str  # what it told the customer


@dataclass
class OrderAnswer:
    """Everything the agent needs to answer a customer about one order: the stop and its window, the route's
    progress, the ETA and any delay, where the van is, the timeline and the notices sent.

    Phone and e-mail are masked; ``words`` is what to tell the customer.
    """

    stop_id: int
    order_id: str
    tracking_number: str
    customer_name: str
    phone: str  # masked
    email: str  # masked
    address: str
    lat: float
    lon: float
    service_date: str
    route_id: int
    route_key: str
    route_status: str
    vehicle_id: int
    vehicle_label: str
    driver: str | None
    sequence: int
    stops_total: int
    stops_done: int
    stops_before: int
    stop_status: str
    window: tuple[int, int]
    eta: tuple[int, int, int] | None  # expected, earliest, latest
    late: bool
    delay: tuple[int, str] | None
    delivered_ms: int | None
    arrived_ms: int | None
    failure_reason: str | None
    departed_depot_ms: int | None
    vehicle: VehicleSeen | None
    timeline: list[TimelineItem] = field(default_factory=list)
    notices: list[NoticeSent] = field(default_factory=list)
    untold: str = "nothing yet"  # with no notices: why the customer was told nothing
    words: str = ""  # what to tell the customer

    @property
    def status(self) -> str:
        """delivered, failed, driver_at_address, out_for_delivery or not_out_for_delivery."""
        if self.stop_status == "delivered":
            return "delivered"
        if self.stop_status == "failed":
            return "failed"
        if self.stop_status == "arrived":
            return "driver_at_address"
        return "out_for_delivery" if self.departed_depot_ms is not None else "not_out_for_delivery"


def answer_for(engine: Engine, stop_id: int, rules: TrackingRules, now_ms: int) -> OrderAnswer | None:
    """The card for one order; None if it is gone."""
    driver = aliased(Driver)
    with engine.connect() as conn:
        row = conn.execute(
            select(Stop.__table__, Route.route_key, Route.service_date, Route.status.label("route_status"),
                   Route.departed_ms.label("route_departed_ms"), Route.vehicle_id, Vehicle.name.label("vehicle"),
                   driver.name.label("driver"))
            .join(Route, Route.id == Stop.route_id).join(Vehicle, Vehicle.id == Route.vehicle_id)
            .outerjoin(driver, driver.id == Route.driver_id).where(Stop.id == stop_id)
        ).first()
        if row is None:
            return None
        stop = row  # the stop's columns, with its route's
        siblings = conn.execute(select(Stop.sequence, Stop.status, Stop.lat, Stop.lon, Stop.address)
                                .where(Stop.route_id == stop.route_id).order_by(Stop.sequence)).all()
        seen = conn.execute(select(LatestPosition.fix_time_ms, LatestPosition.lat, LatestPosition.lon)
                            .where(LatestPosition.vehicle_id == row.vehicle_id)).first()
        events = conn.execute(select(OrderEvent.time_ms, OrderEvent.type, OrderEvent.detail, OrderEvent.source,
                                     OrderEvent.customer_facing, OrderEvent.desk)
                              .where(OrderEvent.stop_id == stop_id)
                              .order_by(OrderEvent.time_ms, OrderEvent.id)).all()
        pushed = conn.execute(select(OutboxEvent.created_ms, OutboxEvent.sent_ms, OutboxEvent.type,
                                     OutboxEvent.status, OutboxEvent.body)
                              .where(OutboxEvent.order_id == stop.order_id).order_by(OutboxEvent.sequence)).all()

        depot = rules.depot
        if seen is not None and depot is None:  # where the van's day started, as the tracker takes it
            first = conn.execute(select(Position.lat, Position.lon)
                                 .where(Position.vehicle_id == row.vehicle_id,
                                        Position.fix_time_ms >= _day_start_ms(row.service_date, rules))
                                 .order_by(Position.fix_time_ms).limit(1)).first()
            depot = (first.lat, first.lon) if first is not None else None

    vehicle = None
    if seen is not None:
        vehicle = VehicleSeen(row.vehicle, seen.lat, seen.lon, seen.fix_time_ms,
                              max(0.0, (now_ms - seen.fix_time_ms) / 1000),
                              _near(seen.lat, seen.lon, siblings, depot))
    delivered = next((e.time_ms for e in reversed(events) if e.type == "delivered"), None)
    answer = OrderAnswer(
        stop_id=stop.id, order_id=stop.order_id, tracking_number=stop.tracking_number,
        customer_name=stop.customer_name, phone=mask_phone(stop.phone), email=mask_email(stop.email),
        address=stop.address, lat=stop.lat, lon=stop.lon, service_date=row.service_date, route_id=stop.route_id,
        route_key=row.route_key, route_status=row.route_status, vehicle_id=row.vehicle_id,
        vehicle_label=row.vehicle, driver=row.driver, sequence=stop.sequence, stops_total=len(siblings),
        stops_done=sum(1 for s in siblings if s.status not in OPEN),
        stops_before=sum(1 for s in siblings if s.sequence < stop.sequence and s.status in OPEN),
        stop_status=stop.status, window=(stop.window_start_ms, stop.window_end_ms),
        eta=(stop.eta_ms, stop.eta_earliest_ms or stop.eta_ms, stop.eta_latest_ms or stop.eta_ms)
        if stop.eta_ms and stop.status in OPEN else None,
        late=bool(stop.late) and stop.status in OPEN,
        delay=(stop.delay_minutes, stop.delay_reason) if stop.late and stop.delay_minutes else None,
        delivered_ms=delivered or (stop.departed_ms if stop.status == "delivered" else None),
        arrived_ms=stop.arrived_ms, failure_reason=stop.failure_reason, departed_depot_ms=row.route_departed_ms,
        vehicle=vehicle,
        timeline=_timeline(events, stop.delay_minutes if stop.late and stop.status in OPEN else None),
        notices=[NoticeSent(p.sent_ms or p.created_ms, p.type, p.status, _said(p.body, rules)) for p in pushed],
        untold=_untold(events, row.vehicle, rules),
    )
    answer.words = words_for(answer, rules, now_ms)
    return answer


def _day_start_ms(service_date: str, rules: TrackingRules) -> int:
    """Midnight at the depot starting ``service_date``."""
    midnight = datetime.combine(date.fromisoformat(service_date), datetime.min.time())
    return times.to_ms(midnight.replace(tzinfo=rules.timezone) if rules.timezone else midnight.astimezone())


def _near(lat: float, lon: float, stops: Sequence[Any], depot: tuple[float, float] | None) -> str:
    """Where the van is in words: at the depot, near a stop of its route, or else its coordinates."""
    best = min(stops, key=lambda s: distance_m(lat, lon, s.lat, s.lon), default=None)
    to_best = distance_m(lat, lon, best.lat, best.lon) if best is not None else float("inf")
    if depot is not None and distance_m(lat, lon, *depot) <= min(DEPOT_RADIUS_M, to_best):
        return "at the depot"
    if best is not None and to_best <= NEAR_M:
        return f"near {best.address}"
    return f"at {lat:.5f}, {lon:.5f}"


def _timeline(events: Sequence[Any], late_now: int | None) -> list[TimelineItem]:
    """The order's events in time order; a delay still running says how late it is now beside how late it was
    when flagged, so the timeline agrees with the card's headline."""
    items = [TimelineItem(e.time_ms, e.type, e.detail, e.desk if e.source == "dispatcher" else None) for e in events]
    last_delay = next((i for i in range(len(items) - 1, -1, -1) if items[i].type == "delayed"), None)
    if late_now is not None and last_delay is not None:
        item = items[last_delay]
        flagged = _FLAGGED.match(item.detail or "")
        if flagged and int(flagged.group(1)) != late_now:
            detail = (item.detail or "").replace(flagged.group(0), f"about {flagged.group(1)} min late when flagged "
                                                                   f"(now about {late_now} min)", 1)
            items[last_delay] = TimelineItem(item.time_ms, item.type, detail, item.desk)
    return items


def _untold(events: Sequence[Any], vehicle: str, rules: TrackingRules) -> str:
    """Why no notice went to the customer (shown when none did)."""
    news = [e for e in events if e.type in CUSTOMER_FACING]
    if not news:
        return "nothing yet"
    if any(e.customer_facing for e in news):
        return "nothing: no notice was queued for this order"
    if all(e.source in FROM_LOGS for e in news):
        return (f"nothing: what happened was read from {vehicle}'s GPS log after the fact, and news more than "
                f"{age_words(rules.news_max_age_s)} old is not sent")
    return f"nothing: the news came in more than {age_words(rules.news_max_age_s)} late, too old to send"


def _said(body: str, rules: TrackingRules) -> str:
    """What a pushed event told the customer, in a few words."""
    doc = json.loads(body)
    parts = [EVENT_WORDS.get(doc["type"], doc["type"].replace("_", " ").capitalize())
             if doc["type"] != "delay_notice" else "Delay notice"]
    if "delay" in doc:
        parts.append(f"about {doc['delay']['minutes']} min late: {doc['delay']['reason']}")
    if "eta" in doc:
        eta = doc["eta"]
        parts.append(f"expected {_hhmm_iso(eta['earliest'], rules)} to {_hhmm_iso(eta['latest'], rules)}")
    if doc.get("stops_before") is not None and doc["type"] in ("arriving_soon", "out_for_delivery"):
        parts.append(_stops_before(doc["stops_before"]).lower())
    if "exception" in doc:
        parts.append(doc["exception"]["reason"])
    return "; ".join(parts)


def _hhmm_iso(text: str, rules: TrackingRules) -> str:
    return times.hhmm(times.to_ms(times.parse_utc(text)), rules.timezone)


def _stops_before(n: int) -> str:
    if n == 0:
        return "Yours is the next stop."
    return f"{n} stop{'s' if n != 1 else ''} before yours."


def age_words(seconds: float) -> str:
    """An age as the agent would say it: seconds up to a minute and a half, minutes up to an hour and a
    half, then hours."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def words_for(a: OrderAnswer, rules: TrackingRules, now_ms: int) -> str:
    """What the agent says, e.g. "Out for delivery with Van 7 (driver Anna). 3 stops before yours. Expected
    14:20 to 14:40, within your 14:00 to 16:00 window." """

    def hhmm(ms: int | None) -> str:
        return times.hhmm(ms, rules.timezone)

    van = a.vehicle_label + (f" (driver {a.driver})" if a.driver else "")
    window = f"your {hhmm(a.window[0])} to {hhmm(a.window[1])} window"
    key_time = a.delivered_ms or (a.eta[0] if a.eta else None) or a.window[0]
    day = ""
    if rules.local_day(key_time) != rules.local_day(now_ms):
        day = f"On {times.weekday(key_time, rules.timezone)}: "
    sentences: list[str] = []
    if a.status == "delivered":
        sentences.append(f"Delivered at {hhmm(a.delivered_ms or a.arrived_ms)} by {a.vehicle_label}.")
    elif a.status == "failed":
        sentences.append(f"Delivery was attempted but not made: {a.failure_reason or 'no reason given'}. "
                         "The depot will arrange another delivery.")
    elif a.status == "driver_at_address":
        who = f"The driver ({a.driver}, {a.vehicle_label})" if a.driver else f"The driver of {a.vehicle_label}"
        sentences.append(f"{who} is at the address now, since {hhmm(a.arrived_ms)}.")
    else:
        if a.status == "out_for_delivery":
            sentences.append(f"Out for delivery with {van}. {_stops_before(a.stops_before)}")
        else:
            sentences.append(f"Not yet out for delivery. Planned with {van}, stop {a.sequence} of "
                             f"{a.stops_total}.")
        if a.eta is not None:
            _, earliest, latest = a.eta
            if earliest >= a.window[0] and latest <= a.window[1]:
                fit = f"within {window}"
            elif earliest > a.window[1] or (latest > a.window[1] and a.late):
                fit = f"later than {window}"
            elif latest < a.window[0]:
                fit = f"a little before {window}"
            else:
                fit = f"around {window}"
            sentences.append(f"Expected {hhmm(earliest)} to {hhmm(latest)}, {fit}.")
        else:
            sentences.append(f"Promised in {window}.")
        if a.delay is not None:
            minutes, reason = a.delay
            sentences.append(f"Running about {minutes} min late: {reason}.")
        if a.vehicle is not None and a.vehicle.stale and a.status == "out_for_delivery":
            sentences.append(f"{a.vehicle_label} was last seen {age_words(a.vehicle.fix_age_s)} ago {a.vehicle.near}; "
                             "its position is not live.")
    return day + " ".join(sentences)


def as_json(a: OrderAnswer) -> dict:
    """The CLI's JSON shape of a match."""
    eta = None
    if a.eta is not None:
        eta = {"expected": iso_z(a.eta[0]), "earliest": iso_z(a.eta[1]), "latest": iso_z(a.eta[2])}
    vehicle = None
    if a.vehicle is not None:
        vehicle = {"label": a.vehicle.label, "lat": a.vehicle.lat, "lon": a.vehicle.lon,
                   "fix_age_s": round(a.vehicle.fix_age_s, 1)}
    return {
        "order_id": a.order_id, "tracking_number": a.tracking_number, "customer_name": a.customer_name,
        "status": a.status, "stops_before": a.stops_before, "eta": eta,
        "window": {"start": iso_z(a.window[0]), "end": iso_z(a.window[1])},
        "delay": {"minutes": a.delay[0], "reason": a.delay[1]} if a.delay else None,
        "vehicle": vehicle,
        "timeline": [{"time": iso_z(t.time_ms), "type": t.type, "detail": t.detail, "desk": t.desk}
                     for t in a.timeline],
        "notices": [{"time": iso_z(n.time_ms), "type": n.type, "status": n.status, "said": n.said}
                    for n in a.notices],
        "answer": a.words,
    }


def as_text(a: OrderAnswer, rules: TrackingRules) -> str:
    """The answer card for a terminal."""

    def clock(ms: int) -> str:
        return times.day_hhmm(ms, rules.timezone)

    lines = [f"{a.tracking_number} · order {a.order_id} · {a.customer_name}",
             f"{a.address} · phone {a.phone or '-'} · e-mail {a.email or '-'}", "", a.words, ""]
    lines.append(f"Route {a.route_key} ({a.service_date}), {a.vehicle_label}"
                 + (f", driver {a.driver}" if a.driver else "")
                 + f": {a.stops_done} of {a.stops_total} stops done; this is stop {a.sequence}.")
    if a.vehicle is not None:
        live = "not live" if a.vehicle.stale else "live"
        lines.append(f"Last position {a.vehicle.near}, {age_words(a.vehicle.fix_age_s)} old ({live}).")
    else:
        lines.append("No position known for the van yet.")
    lines += ["", "Timeline:"]
    lines += [f"  {clock(t.time_ms)}  {EVENT_WORDS.get(t.type, t.type)}" + (f" — {t.said}" if t.said else "")
              for t in a.timeline] or ["  (nothing yet)"]
    lines += ["", "Told the customer:"]
    lines += [f"  {clock(n.time_ms)}  {n.said} ({NOTICE_STATUS.get(n.status, n.status)})" for n in a.notices] or [
        f"  {a.untold}"]
    return "\n".join(lines)
