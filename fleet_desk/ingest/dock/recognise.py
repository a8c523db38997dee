"""Whose unit is on this port: by USB serial number, by USB VID:PID, or by what the unit says it is."""

from __future__ import annotations

from sqlalchemy import Engine

from drivers.base import PortInfo, list_ports
from drivers.mtk import LoggerError, LoggerIdentity, MtkLogger
from fleet_desk.store.units import UnitAssignment, unit_assignments


def recognise(units: list[UnitAssignment], port: PortInfo, identity: str | None = None) -> UnitAssignment | None:
    """The known unit plugged into ``port``; None when it is unknown or could be one of several.

    A USB serial number names one unit. A VID:PID or an identity ("MTK logger
    M-241, firmware ...") names a model, so it counts only when exactly one
    known unit has it.
    """
    if port.serial_number:
        hit = [u for u in units if u.usb_serial == port.serial_number]
        if hit:
            return hit[0]
    for key, value in (("usb_vid_pid", port.vid_pid), ("identity", identity)):
        if value:
            hit = [u for u in units if getattr(u, key) == value and not (port.serial_number and u.usb_serial)]
            if len(hit) == 1:
                return hit[0]
    return None


def port_info(port: str) -> PortInfo:
    """The port's USB details (a pty or a URL has none)."""
    return next((p for p in list_ports() if p.device == port), PortInfo(port, "", None, None, None))


def ask_identity(port: str, baud: int | None = None) -> LoggerIdentity | None:
    """What an MTK logger on ``port`` says it is; None if no MTK logger answers (an NMEA unit, or nothing)."""
    try:
        with MtkLogger(port, baud) as logger:
            return logger.open()
    except LoggerError:
        return None


def which_unit(engine: Engine, port: str | PortInfo, ask: bool = True) -> tuple[UnitAssignment | None,
                                                                                LoggerIdentity | None]:
    """The known unit on ``port`` (a path, or the port as listed with its USB details) by its USB details,
    else (``ask``) by asking it; and what it said."""
    units = unit_assignments(engine)
    info = port if isinstance(port, PortInfo) else port_info(port)
    unit = recognise(units, info)
    if unit is not None or not ask:
        return unit, None
    identity = ask_identity(info.device)
    return (recognise(units, info, identity.text) if identity else None), identity
