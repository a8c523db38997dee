"""What every unit family driver offers, and the status it reports."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import serial
import serial.tools.list_ports

#: Baud rates GPS units use, most common first.
BAUD_RATES = (4800, 9600, 38400, 115200, 19200, 57600, 230400, 460800, 921600)


class UnitState(enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    NO_DATA = "no data"
    NO_FIX = "no fix"
    FIX = "fix"


@dataclass(slots=True)
class UnitStatus:
    """A unit's connection state as a dispatcher would want to see it."""

    state: UnitState
    port: str
    baud: int | None = None
    fixes_per_s: float = 0.0
    message: str = ""


@dataclass(frozen=True, slots=True)
class PortInfo:
    """A serial port with the USB details that identify the unit on it."""

    device: str
    description: str
    vid_pid: str | None
    serial_number: str | None
    manufacturer: str | None


def list_ports() -> list[PortInfo]:
    ports = []
    for p in sorted(serial.tools.list_ports.comports(), key=lambda p: p.device):
        vid_pid = f"{p.vid:04X}:{p.pid:04X}" if p.vid is not None and p.pid is not None else None
        ports.append(PortInfo(p.device, p.description or "", vid_pid, p.serial_number, p.manufacturer))
    return ports


def open_port(port: str, baud: int, timeout: float = 0.2) -> serial.SerialBase:
    """A device path or any pyserial URL (``socket://``, ``rfc2217://``, ``loop://``)."""
    return serial.serial_for_url(port, baudrate=baud, timeout=timeout)


class UnitDriver(Protocol):
    """The interface of a unit family driver."""

    family: str

    def start(self) -> None: ...

    def stop(self) -> None: ...


OnBytes = Callable[[bytes], None]
OnStatus = Callable[[UnitStatus], None]
