"""The depot database: units, vehicles, drivers and the positions they report.

Fix times are stored as integer milliseconds since the Unix epoch, UTC:
exact for deduplication, cheap to index and compare, and the same on SQLite
and PostgreSQL. `fleet_desk.times` converts at the edges.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _code_point_order(length: int) -> String:
    """A lookup key, read by prefix range (``>= 'mart' AND < 'mart' || U+10FFFF``): in code point order on
    PostgreSQL too, as SQLite's BINARY gives it (a linguistic collation such as glibc's en_US.UTF-8 sorts
    U+10FFFF as if it were absent, so the range would hold the prefix alone). Migration 0009."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Base(DeclarativeBase):
    """The base of every table, with one naming convention, so every constraint and index has a name a
    migration can predict and alter, alike on SQLite and PostgreSQL."""

    metadata = MetaData(naming_convention=NAMING)


class Vehicle(Base):
    """A delivery van or truck, named as the depot names it ("Van 7")."""

    __tablename__ = "vehicles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    drivers: Mapped[list[Driver]] = relationship(back_populates="vehicle")


class Driver(Base):
    """A driver, optionally assigned to the vehicle they drive today."""

    __tablename__ = "drivers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id", ondelete="SET NULL"))

    vehicle: Mapped[Vehicle | None] = relationship(back_populates="drivers")


class Device(Base):
    """A GPS unit: a live receiver or a data logger docked at the depot."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    family: Mapped[str] = mapped_column(String(20), default="nmea")
    usb_serial: Mapped[str | None] = mapped_column(String(100))
    usb_vid_pid: Mapped[str | None] = mapped_column(String(20))
    port: Mapped[str | None] = mapped_column(String(300))
    identity: Mapped[str | None] = mapped_column(String(200))  # what the unit says it is, asked at the dock
    last_docked_ms: Mapped[int | None] = mapped_column(BigInteger)
    baud: Mapped[int | None] = mapped_column(Integer)  # None: detect
    live: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # read at start-up
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id", ondelete="SET NULL"))
    last_fix_ms: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_by: Mapped[str | None] = mapped_column(String(100))  # the desk reading it live, if any
    read_since_ms: Mapped[int | None] = mapped_column(BigInteger)  # since when
    read_seen_ms: Mapped[int | None] = mapped_column(BigInteger)  # that desk's last word (a quiet desk: take over)

    vehicle: Mapped[Vehicle | None] = relationship()


class Position(Base):
    """One stored fix. The same fix from the same unit is stored once."""

    __tablename__ = "positions"
    __table_args__ = (
        UniqueConstraint("device_id", "fix_time_ms"),
        Index("ix_positions_vehicle_time", "vehicle_id", "fix_time_ms"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    vehicle_id: Mapped[int | None] = mapped_column(ForeignKey("vehicles.id", ondelete="SET NULL"))
    fix_time_ms: Mapped[int] = mapped_column(BigInteger)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    course_deg: Mapped[float | None] = mapped_column(Float)
    alt_m: Mapped[float | None] = mapped_column(Float)
    hdop: Mapped[float | None] = mapped_column(Float)
    sats: Mapped[int | None] = mapped_column(SmallInteger)
    fix_quality: Mapped[int] = mapped_column(SmallInteger)
    source: Mapped[str] = mapped_column(String(10))


class LatestPosition(Base):
    """Where each vehicle is now: kept current on every batch, never a scan."""

    __tablename__ = "latest_positions"

    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id", ondelete="CASCADE"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    fix_time_ms: Mapped[int] = mapped_column(BigInteger)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    course_deg: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(10))


class Route(Base):
    """One vehicle's deliveries of one service day, as the manifest gives them."""

    __tablename__ = "routes"
    __table_args__ = (UniqueConstraint("service_date", "route_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    route_key: Mapped[str] = mapped_column(String(100))  # the manifest's route_id
    service_date: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, the depot's local date
    vehicle_id: Mapped[int] = mapped_column(ForeignKey("vehicles.id", ondelete="CASCADE"), index=True)
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id", ondelete="SET NULL"))
    planned_start_ms: Mapped[int | None] = mapped_column(BigInteger)
    departed_ms: Mapped[int | None] = mapped_column(BigInteger)  # left the depot
    status: Mapped[str] = mapped_column(String(12), default="planned")  # planned, active, done
    learned_speed_mps: Mapped[float | None] = mapped_column(Float)
    silent_since_ms: Mapped[int | None] = mapped_column(BigInteger)  # the unit's last fix, when it went silent
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # compare-and-set by writers
    eta_basis: Mapped[str | None] = mapped_column(String(40))  # "roads (Helsinki)", "straight line", ...
    straight_legs: Mapped[int | None] = mapped_column(Integer)  # legs the road map could not route (None: no map)

    vehicle: Mapped[Vehicle] = relationship()
    driver: Mapped[Driver | None] = relationship()
    stops: Mapped[list[Stop]] = relationship(back_populates="route", order_by="Stop.sequence")


class Stop(Base):
    """One delivery: an order, its customer and address, its promised window and how it is going.

    Two orders at one address are two stops at the same place.
    """

    __tablename__ = "stops"
    __table_args__ = (Index("ix_stops_route_sequence", "route_id", "sequence"),
                      Index("ix_stops_phone_key", "phone_key"), Index("ix_stops_email_key", "email_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[str] = mapped_column(String(100), unique=True)
    tracking_number: Mapped[str] = mapped_column(String(100), unique=True)
    customer_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    phone_key: Mapped[str | None] = mapped_column(_code_point_order(20))  # E.164, for lookup (store.search_index)
    email_key: Mapped[str | None] = mapped_column(_code_point_order(200))  # lower case, for lookup
    address: Mapped[str] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[float | None] = mapped_column(Float)  # None: the setting's default
    window_start_ms: Mapped[int] = mapped_column(BigInteger)
    window_end_ms: Mapped[int] = mapped_column(BigInteger)
    service_s: Mapped[int] = mapped_column(Integer)
    planned_ms: Mapped[int | None] = mapped_column(BigInteger)  # planned arrival, from the planned start
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # compare-and-set by writers
    expected_service_s: Mapped[float | None] = mapped_column(Float)  # the service time ETAs count on
    service_basis: Mapped[str | None] = mapped_column(String(20))  # where it comes from: "this address", ...

    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, arrived, delivered, failed
    arrived_ms: Mapped[int | None] = mapped_column(BigInteger)
    departed_ms: Mapped[int | None] = mapped_column(BigInteger)
    failure_reason: Mapped[str | None] = mapped_column(String(200))

    eta_ms: Mapped[int | None] = mapped_column(BigInteger)
    eta_earliest_ms: Mapped[int | None] = mapped_column(BigInteger)
    eta_latest_ms: Mapped[int | None] = mapped_column(BigInteger)
    eta_at_ms: Mapped[int | None] = mapped_column(BigInteger)  # when the ETA was predicted
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    delay_minutes: Mapped[int | None] = mapped_column(Integer)
    delay_reason: Mapped[str | None] = mapped_column(String(200))
    told_eta_ms: Mapped[int | None] = mapped_column(BigInteger)  # the ETA the customer was last told
    told_at_ms: Mapped[int | None] = mapped_column(BigInteger)

    route: Mapped[Route] = relationship(back_populates="stops")


class DrivenLeg(Base):
    """How a van really drove from one stop (or the depot) to the next: what the depot learns from (circuity,
    traffic against the road map's free-flow time by hour of day)."""

    __tablename__ = "driven_legs"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("routes.id", ondelete="CASCADE"), index=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("stops.id", ondelete="CASCADE"))  # the stop arrived at
    departed_ms: Mapped[int] = mapped_column(BigInteger)
    arrived_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    driven_m: Mapped[float] = mapped_column(Float)  # along the track
    straight_m: Mapped[float] = mapped_column(Float)  # as the crow flies
    road_s: Mapped[float | None] = mapped_column(Float)  # the road map's free-flow time (None: no map, or no route)


class Change(Base):
    """One change on the database, ids only, written in the transaction that made it: what desks wake on
    (PostgreSQL announces each with NOTIFY; SQLite desks poll the newest id) and what `fleet-desk watch` prints.
    A desk that was away reads on from the last id it saw."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # position, stop, route, outbox, unit
    ref_id: Mapped[int] = mapped_column(BigInteger)  # the vehicle, stop, route, outbox event or unit
    at_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    desk: Mapped[str | None] = mapped_column(String(100))  # who wrote it


class LookupTerm(Base):
    """A folded word of an order's customer name or street, so a lookup by any word's prefix is an index probe."""

    __tablename__ = "lookup_terms"
    # (field, term, stop_id): a lookup's whole query answered from the index (migration 0009)
    __table_args__ = (Index("ix_lookup_terms_field_term", "field", "term", "stop_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    term: Mapped[str] = mapped_column(_code_point_order(60))
    stop_id: Mapped[int] = mapped_column(ForeignKey("stops.id", ondelete="CASCADE"), index=True)
    field: Mapped[int] = mapped_column(SmallInteger)  # 1 name, 2 street


class OrderEvent(Base):
    """A milestone on an order's timeline; customer-facing ones are what customers are told."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_stop_time", "stop_id", "time_ms"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("stops.id", ondelete="CASCADE"))
    time_ms: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(30))
    detail: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(12))  # manifest, tracking, dispatcher, dock, replay
    customer_facing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    desk: Mapped[str | None] = mapped_column(String(100))  # the desk a dispatcher's action came from


class EtaPrediction(Base):
    """Every change of a stop's predicted arrival, so accuracy can be measured afterwards."""

    __tablename__ = "eta_history"
    __table_args__ = (Index("ix_eta_history_stop_time", "stop_id", "predicted_at_ms"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("stops.id", ondelete="CASCADE"))
    predicted_at_ms: Mapped[int] = mapped_column(BigInteger)
    eta_ms: Mapped[int] = mapped_column(BigInteger)
    earliest_ms: Mapped[int] = mapped_column(BigInteger)
    latest_ms: Mapped[int] = mapped_column(BigInteger)


class OutboxEvent(Base):
    """A customer-facing event waiting to reach the tracking endpoint, or what became of it.

    Written in the transaction of the change it describes; the body is kept as
    the exact bytes that are sent (and signed) on every attempt.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("order_id", "sequence"),
        Index("ix_outbox_status_due", "status", "next_attempt_ms"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)  # also the Idempotency-Key
    stop_id: Mapped[int | None] = mapped_column(ForeignKey("stops.id", ondelete="SET NULL"))
    order_id: Mapped[str] = mapped_column(String(100))
    sequence: Mapped[int] = mapped_column(Integer)  # per order, so a receiver can drop stale arrivals
    type: Mapped[str] = mapped_column(String(30))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, sent, dead, superseded
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_ms: Mapped[int] = mapped_column(BigInteger)
    sent_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(500))
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    response_body: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))  # the desk sending it now
    claimed_until_ms: Mapped[int | None] = mapped_column(BigInteger)  # its lease (a desk that died: runs out)
    sent_by: Mapped[str | None] = mapped_column(String(100))  # the desk whose attempt ended it
