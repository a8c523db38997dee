"""Which unit is on which port for which vehicle, which units run live, and which desk reads each.

The GPS units dialog writes these; the app reads them at start-up and starts
live ingestion for every unit marked live, so assignments survive a restart.

Several desks share one database, and a unit is read live by one of them:
the desk that opens it claims it (`claim_unit`: its name, since when) and
says so every few seconds (`keep_claims`); another desk does not open it
and shows who reads it (`claim_text`: "read by desk-2 since 07:02"). A
claim that has not been renewed for `CLAIM_STALE_S` (that desk died or lost
the database) can be taken over; a desk stopping cleanly releases its claims.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import tzinfo

from sqlalchemy import ColumnElement, Connection, Engine, Update, case, or_, select, update
from sqlalchemy.orm import Session

from fleet_desk.store import changes
from fleet_desk.store.changes import desk_session
from fleet_desk.store.models import Device, Vehicle
from fleet_desk.store.registry import DeviceRef, ensure_device
from fleet_desk.times import hhmm

CLAIM_STALE_S = 30.0  # a claim not renewed for this long is the claim of a desk gone quiet: it can be taken over
HEARTBEAT_S = 5.0  # a desk renews its claims this often


@dataclass(frozen=True, slots=True)
class UnitAssignment:
    """A unit as the GPS units dialog shows it."""

    device: str
    family: str
    vehicle: str | None
    port: str | None
    baud: int | None
    live: bool
    usb_serial: str | None
    usb_vid_pid: str | None
    last_fix_ms: int | None
    identity: str | None = None
    last_docked_ms: int | None = None
    read_by: str | None = None  # the desk reading it live, since when, and when that desk last said so
    read_since_ms: int | None = None
    read_seen_ms: int | None = None


def unit_assignments(engine: Engine) -> list[UnitAssignment]:
    """Every known unit, by name."""
    stmt = (
        select(Device, Vehicle.name)
        .outerjoin(Vehicle, Vehicle.id == Device.vehicle_id)
        .order_by(Device.name)
    )
    with Session(engine) as session:
        return [
            UnitAssignment(d.name, d.family, vehicle, d.port, d.baud, d.live, d.usb_serial, d.usb_vid_pid,
                           d.last_fix_ms, d.identity, d.last_docked_ms, d.read_by, d.read_since_ms, d.read_seen_ms)
            for d, vehicle in session.execute(stmt)
        ]


def live_units(engine: Engine) -> list[UnitAssignment]:
    """The units to read live: marked live and attached to a port."""
    return [u for u in unit_assignments(engine) if u.live and u.port]


def assign_unit(
    engine: Engine,
    device: str,
    port: str,
    vehicle: str | None = None,
    baud: int | None = None,
    live: bool = True,
    usb_serial: str | None = None,
    usb_vid_pid: str | None = None,
    desk: str | None = None,
) -> DeviceRef:
    """Attach ``device`` to ``port`` (and ``vehicle``); ``live`` starts it now and at every start-up. ``desk``:
    the desk changing it, which the change log names (here and below; None: this computer's name)."""
    ref = ensure_device(engine, device, vehicle, port=port, desk=desk)
    with desk_session(engine, desk) as session, session.begin():
        row = session.get_one(Device, ref.id)
        row.baud = baud
        row.live = live
        if usb_serial:
            row.usb_serial = usb_serial
        if usb_vid_pid:
            row.usb_vid_pid = usb_vid_pid
    return ref


def set_live(engine: Engine, device: str, live: bool, desk: str | None = None) -> None:
    """Start (True) or stop (False) reading a unit at start-up; the assignment stays."""
    with desk_session(engine, desk) as session, session.begin():
        row = session.scalar(select(Device).where(Device.name == device))
        if row is None:
            raise ValueError(f"no unit called {device!r}")
        row.live = live


def register_dock_unit(engine: Engine, device: str, family: str, vehicle: str | None = None,
                       usb_serial: str | None = None, usb_vid_pid: str | None = None,
                       identity: str | None = None, desk: str | None = None) -> DeviceRef:
    """A unit docked at the depot (not read live): its family and what identifies it when it is plugged in."""
    ref = ensure_device(engine, device, vehicle, family=family, desk=desk)
    with desk_session(engine, desk) as session, session.begin():
        row = session.get_one(Device, ref.id)
        row.family = family
        row.usb_serial = usb_serial or row.usb_serial
        row.usb_vid_pid = usb_vid_pid or row.usb_vid_pid
        row.identity = identity or row.identity
    return ref


def mark_docked(engine: Engine, device_id: int, when_ms: int, family: str, identity: str | None = None,
                desk: str | None = None) -> None:
    """The unit was docked now: its family as found, and what it said it is."""
    with desk_session(engine, desk) as session, session.begin():
        row = session.get_one(Device, device_id)
        row.last_docked_ms = when_ms
        row.family = family
        if identity:
            row.identity = identity


# -- which desk reads a unit live ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Claim:
    """Who reads a unit live: the desk, since when and when it last said so (ms, UTC)."""

    device: str
    desk: str
    since_ms: int
    seen_ms: int

    def stale(self, now_ms: int, stale_s: float | None = None) -> bool:
        """The desk has not renewed it for ``stale_s`` (default `CLAIM_STALE_S`): it may be taken over."""
        return now_ms - self.seen_ms > (CLAIM_STALE_S if stale_s is None else stale_s) * 1000


def claim_of(engine: Engine, device: str) -> Claim | None:
    """Who reads ``device`` live now (None: nobody, or an unknown unit)."""
    with engine.connect() as conn:
        row = conn.execute(select(Device.name, Device.read_by, Device.read_since_ms, Device.read_seen_ms)
                           .where(Device.name == device)).first()
    if row is None or row.read_by is None:
        return None
    return Claim(row.name, row.read_by, row.read_since_ms or 0, row.read_seen_ms or row.read_since_ms or 0)


def claim_unit(engine: Engine, device: str, desk: str, now_ms: int, take_over: bool = False,
               stale_s: float | None = None) -> Claim | None:
    """Claim ``device`` for ``desk`` (it will open its port) unless another desk reads it and said so within
    ``stale_s``; ``take_over``: whatever the other desk says (the user asked). Returns None when claimed (or
    already this desk's), else the other desk's claim. One statement, so two desks claiming at once cannot
    both win. ``stale_s``: default `CLAIM_STALE_S`."""
    stmt = _claiming(desk, now_ms).where(Device.name == device)
    if not take_over:
        stmt = stmt.where(_free_for(desk, now_ms, stale_s))
    for _ in range(3):
        with engine.begin() as conn:
            if conn.execute(stmt).rowcount == 1:
                _announce(conn, device, desk)  # other desks show who reads it now
                return None
        claim = claim_of(engine, device)
        if claim is not None:
            return claim
        if not _exists(engine, device):
            raise ValueError(f"no unit called {device!r}")
        # released between the two statements: claim it again
    return claim_of(engine, device)


def claim_free_units(engine: Engine, devices: Iterable[str], desk: str, now_ms: int,
                     stale_s: float | None = None) -> set[str]:
    """Claim for ``desk`` those of ``devices`` no other desk reads now (or whose desk went quiet): the ones
    claimed, in one statement however many wait (a desk waits on every unit the other desks read)."""
    names = set(devices)
    if not names:
        return set()
    with engine.begin() as conn:
        claimed = set(conn.scalars(_claiming(desk, now_ms).where(Device.name.in_(names),
                                                                 _free_for(desk, now_ms, stale_s))
                                   .returning(Device.name)))
        for device in sorted(claimed):
            _announce(conn, device, desk)  # other desks show who reads it now
    return claimed


def _claiming(desk: str, now_ms: int) -> Update:
    """The statement that makes units ``desk``'s (since now, unless they were already)."""
    return update(Device).values(read_by=desk, read_seen_ms=now_ms,
                                 read_since_ms=case((Device.read_by == desk, Device.read_since_ms), else_=now_ms))


def _free_for(desk: str, now_ms: int, stale_s: float | None) -> ColumnElement[bool]:
    """Units ``desk`` may claim: nobody's, its own, or those of a desk silent for ``stale_s`` (default
    `CLAIM_STALE_S`)."""
    stale_s = CLAIM_STALE_S if stale_s is None else stale_s
    return or_(Device.read_by.is_(None), Device.read_by == desk, Device.read_seen_ms.is_(None),
               Device.read_seen_ms < now_ms - int(stale_s * 1000))


def _exists(engine: Engine, device: str) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(Device.id).where(Device.name == device)).first() is not None


def keep_claims(engine: Engine, desk: str, devices: Iterable[str], now_ms: int) -> set[str]:
    """Renew ``desk``'s claims on ``devices`` (its heartbeat); returns those no longer its own (another desk
    took them over: stop reading them)."""
    names = set(devices)
    if not names:
        return set()
    with engine.begin() as conn:
        conn.execute(update(Device).where(Device.name.in_(names), Device.read_by == desk)
                     .values(read_seen_ms=now_ms))
        mine = set(conn.scalars(select(Device.name).where(Device.name.in_(names), Device.read_by == desk)))
    return names - mine


def release_unit(engine: Engine, device: str, desk: str) -> None:
    """``desk`` stopped reading ``device``: its claim goes (another desk's claim stays)."""
    with engine.begin() as conn:
        if conn.execute(update(Device).where(Device.name == device, Device.read_by == desk)
                        .values(read_by=None, read_since_ms=None, read_seen_ms=None)).rowcount:
            _announce(conn, device, desk)


def _announce(conn: Connection, device: str, desk: str) -> None:
    """A unit's claim changed (by ``desk``): recorded in the change log, in the claiming transaction."""
    changes.record(conn, "unit", conn.scalars(select(Device.id).where(Device.name == device)).all(), desk)


def claim_text(unit: UnitAssignment | Claim | None, now_ms: int, tz: tzinfo | None = None,
               desk: str | None = None) -> str:
    """Who reads the unit live, in the depot's words: "read by desk-2 since 07:02", "read by desk-2 since 07:02,
    silent for 2 min (can be taken over)", "read here since 07:02" (``desk``: this desk's name); empty when no
    desk reads it. ``tz``: the depot's timezone (None: this computer's)."""
    if unit is None:
        return ""
    if isinstance(unit, Claim):
        by, since, seen = unit.desk, unit.since_ms, unit.seen_ms
    else:
        if unit.read_by is None:
            return ""
        by, since = unit.read_by, unit.read_since_ms or 0
        seen = unit.read_seen_ms or since
    who = "read here" if desk is not None and by == desk else f"read by {by}"
    text = f"{who} since {hhmm(since, tz)}"
    quiet_s = (now_ms - seen) / 1000
    if quiet_s > CLAIM_STALE_S:
        quiet = f"{round(quiet_s)} s" if quiet_s < 120 else f"{round(quiet_s / 60)} min"
        text += f", silent for {quiet} (can be taken over)"
    return text
