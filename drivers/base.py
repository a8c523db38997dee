"""What every unit family driver offers, and the status it reports."""

from __future__ import annotations

import enum
import os
import select
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import serial
import serial.tools.list_ports


def _line_errors() -> tuple[type[Exception], ...]:
    """What a serial line raises when the unit is unplugged or stops answering: a port that vanishes
    mid-flush raises termios.error on POSIX, which is not an OSError."""
    try:
        import termios
    except ImportError:  # Windows
        return serial.SerialException, OSError
    return serial.SerialException, OSError, termios.error


LINE_ERRORS = _line_errors()

#: Baud rates GPS units use, most common first.
BAUD_RATES = (4800, 9600, 38400, 115200, 19200, 57600, 230400, 460800, 921600)


class UnitState(enum.Enum):
    """The steps a unit goes through from unplugged to sending fixes, so the fleet board and ``listen`` can
    show which step a silent unit is stuck at (connected but no fix is not the same trouble as unplugged)."""

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
    """The serial ports on this computer, sorted by path, with the USB details that tell which unit is
    plugged in (the dock recognises units by them; the port watch notices one plugged in)."""
    ports = []
    for p in sorted(serial.tools.list_ports.comports(), key=lambda p: p.device):
        vid_pid = f"{p.vid:04X}:{p.pid:04X}" if p.vid is not None and p.pid is not None else None
        ports.append(PortInfo(p.device, p.description or "", vid_pid, p.serial_number, p.manufacturer))
    return ports


def open_port(port: str, baud: int, timeout: float = 0.2) -> serial.SerialBase:
    """A device path or any pyserial URL (``socket://``, ``rfc2217://``, ``loop://``)."""
    return serial.serial_for_url(port, baudrate=baud, timeout=timeout)


def byte_reader(ser: serial.SerialBase, timeout: float = 0.2) -> Callable[[], bytes]:
    """A function returning what the port has (b"" after ``timeout`` with nothing).

    On POSIX device ports it waits with poll(), not pyserial's select(), which
    fails once a process has more than 1024 open files (a busy depot app with
    hundreds of units does). A vanished device raises `serial.SerialException`.
    """
    fd = getattr(ser, "fd", None)
    if not isinstance(fd, int) or not hasattr(select, "poll"):
        return lambda: ser.read(max(1, min(ser.in_waiting, 65536))) if hasattr(ser, "in_waiting") else ser.read(4096)
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP | select.POLLNVAL)
    wait_ms = int(timeout * 1000)

    def read() -> bytes:
        events = poller.poll(wait_ms)
        if not events:
            return b""
        if events[0][1] & select.POLLIN:
            data = os.read(fd, 65536)
            if not data:
                raise serial.SerialException("device disconnected (end of file)")
            return data
        raise serial.SerialException("device disconnected or reports an error")

    return read


class UnitDriver(Protocol):
    """The interface of a unit family driver."""

    family: str

    def start(self) -> None:
        """Start reading the unit in the background; its bytes and status go to the callbacks it was given."""

    def stop(self) -> None:
        """Stop reading the unit and wait for its reader to end."""


OnBytes = Callable[[bytes], None]
OnStatus = Callable[[UnitStatus], None]
