"""Units and vehicles by name: created on first use, assigned on request."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fleet_desk.store.changes import desk_session
from fleet_desk.store.models import Device, Driver, Vehicle


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """What the position writer needs to know about a unit."""

    id: int
    name: str
    vehicle_id: int | None
    vehicle_name: str | None


#: The rows known by a unique name.


def get_or_create[Named: (Device, Vehicle, Driver)](session: Session, model: type[Named], name: str,
                                                    **defaults: object) -> Named:
    """The ``model`` row called ``name``, created (with ``defaults``) if there is none."""
    row = session.scalar(select(model).where(model.name == name))
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = model(name=name, **defaults)
            session.add(row)
    except IntegrityError:  # another workstation created it just now (the name is unique): it is there
        row = session.scalars(select(model).where(model.name == name)).one()
    return row


def ensure_device(
    engine: Engine,
    name: str,
    vehicle: str | None = None,
    family: str = "nmea",
    port: str | None = None,
    desk: str | None = None,
) -> DeviceRef:
    """The unit called ``name``, created if new; ``vehicle`` assigns it from now on. ``desk``: the desk
    changing it, which the change log names (None: this computer's name)."""
    name = name.strip()
    if not name:
        raise ValueError("a unit needs a name (--device NAME)")
    with desk_session(engine, desk) as session, session.begin():
        device = get_or_create(session, Device, name, family=family)
        if vehicle:
            device.vehicle = get_or_create(session, Vehicle, vehicle.strip())
        if port:
            device.port = port
        session.flush()
        return DeviceRef(
            device.id, device.name, device.vehicle_id, device.vehicle.name if device.vehicle else None
        )


def ensure_driver(engine: Engine, name: str, vehicle: str | None = None, phone: str | None = None,
                  desk: str | None = None) -> int:
    """The driver called ``name``, created if new; ``vehicle`` is the one they drive today."""
    name = name.strip()
    if not name:
        raise ValueError("a driver needs a name")
    with desk_session(engine, desk) as session, session.begin():
        driver = get_or_create(session, Driver, name)
        if vehicle:
            driver.vehicle = get_or_create(session, Vehicle, vehicle.strip())
        if phone:
            driver.phone = phone
        session.flush()
        return driver.id
