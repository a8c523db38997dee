"""Which unit is on which port for which vehicle, and which units run live.

The GPS units dialog writes these; the app reads them at start-up and starts
live ingestion for every unit marked live, so assignments survive a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fleet_desk.store.models import Device, Vehicle
from fleet_desk.store.registry import DeviceRef, ensure_device


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
                           d.last_fix_ms, d.identity, d.last_docked_ms)
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
) -> DeviceRef:
    """Attach ``device`` to ``port`` (and ``vehicle``); ``live`` starts it now and at every start-up."""
    ref = ensure_device(engine, device, vehicle, port=port)
    with Session(engine) as session, session.begin():
        row = session.get_one(Device, ref.id)
        row.baud = baud
        row.live = live
        if usb_serial:
            row.usb_serial = usb_serial
        if usb_vid_pid:
            row.usb_vid_pid = usb_vid_pid
    return ref


def set_live(engine: Engine, device: str, live: bool) -> None:
    """Start (True) or stop (False) reading a unit at start-up; the assignment stays."""
    with Session(engine) as session, session.begin():
        row = session.scalar(select(Device).where(Device.name == device))
        if row is None:
            raise ValueError(f"no unit called {device!r}")
        row.live = live


def register_dock_unit(engine: Engine, device: str, family: str, vehicle: str | None = None,
                       usb_serial: str | None = None, usb_vid_pid: str | None = None,
                       identity: str | None = None) -> DeviceRef:
    """A unit docked at the depot (not read live): its family and what identifies it when it is plugged in."""
    ref = ensure_device(engine, device, vehicle, family=family)
    with Session(engine) as session, session.begin():
        row = session.get_one(Device, ref.id)
        row.family = family
        row.usb_serial = usb_serial or row.usb_serial
        row.usb_vid_pid = usb_vid_pid or row.usb_vid_pid
        row.identity = identity or row.identity
    return ref


def mark_docked(engine: Engine, device_id: int, when_ms: int, family: str, identity: str | None = None) -> None:
    """The unit was docked now: its family as found, and what it said it is."""
    with Session(engine) as session, session.begin():
        row = session.get_one(Device, device_id)
        row.last_docked_ms = when_ms
        row.family = family
        if identity:
            row.identity = identity
