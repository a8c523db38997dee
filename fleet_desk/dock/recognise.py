"""Whose unit is on this port: by USB serial number, by USB VID:PID, or by what the unit says it is."""

from __future__ import annotations

from drivers.base import PortInfo
from fleet_desk.store.units import UnitAssignment


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
