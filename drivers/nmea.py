"""Generic NMEA unit: any receiver that streams NMEA 0183 over a serial port.

Opens a device path or a pyserial URL, finds the baud rate by looking for
checksummed sentences, reads in a background thread, and survives the unit
being unplugged and plugged back in: it reopens the port and carries on.
Bytes go to ``on_bytes`` in the order received; a reconnect starts a fresh
line so a half sentence from before the unplug cannot merge with new data.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import serial

from drivers.base import BAUD_RATES, LINE_ERRORS, OnBytes, OnStatus, UnitState, UnitStatus, byte_reader, open_port
from drivers.framing import SentenceFramer
from drivers.hub import PortHub

log = logging.getLogger(__name__)

DETECT_SECONDS = 1.5
RETRY_SECONDS = 1.0
NO_DATA_SECONDS = 3.0
PLAYBACK_QUIET_SECONDS = 3.0  # a logger that says nothing for this long has finished playing back its log


def detect_baud(port: str, candidates: tuple[int, ...] = BAUD_RATES, seconds: float = DETECT_SECONDS) -> int | None:
    """The first baud rate at which the unit sends valid checksummed sentences."""
    try:
        ser, _seen = open_at_unit_baud(port, candidates, seconds, drop_stale=True)
    except LINE_ERRORS:
        return None
    if ser is None:
        return None
    ser.close()
    return ser.baudrate


def open_at_unit_baud(port: str, candidates: tuple[int, ...] = BAUD_RATES, seconds: float = DETECT_SECONDS,
                      drop_stale: bool = False) -> tuple[serial.SerialBase | None, bytes]:
    """The port open at the first baud rate giving checksummed sentences, and the bytes read while finding it
    (an NMEA logger plays its stored log back once, so they are kept); (None, b"") if no rate does.
    ``drop_stale``: first discard what the port held from before. Raises if the port cannot be opened."""
    for baud in candidates:
        ser = open_port(port, baud, timeout=0.1)
        try:
            if drop_stale:
                ser.reset_input_buffer()
            read, framer, seen = byte_reader(ser, 0.1), SentenceFramer(), bytearray()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                data = read()
                seen += data
                framer.feed(data)
                if framer.stats.sentences >= 2:
                    return ser, bytes(seen)
        except BaseException:
            ser.close()
            raise
        ser.close()
    return None, b""


def read_playback(ser: serial.SerialBase, first: bytes, on_bytes: OnBytes, cancelled: Callable[[], bool],
                  quiet_s: float = PLAYBACK_QUIET_SECONDS) -> bool:
    """Hand the playback's bytes to ``on_bytes`` until the unit falls quiet for ``quiet_s``; False if
    ``cancelled()`` stopped it first. An unplugged unit raises `serial.SerialException`."""
    read = byte_reader(ser, 0.2)
    data, last_data = first, time.monotonic()
    while True:
        if data:
            on_bytes(data)
            last_data = time.monotonic()
        if cancelled():
            return False
        if time.monotonic() - last_data > quiet_s:
            return True
        data = read()


class NmeaUnit:
    """Reads one NMEA unit in a background thread until `stop`."""

    family = "nmea"

    def __init__(
        self, port: str, on_bytes: OnBytes, on_status: OnStatus | None = None, baud: int | None = None,
        hub: PortHub | None = None,
    ) -> None:
        """``hub``: the one reading many units' ports (live ingestion's); None: this unit reads with its own."""
        self.port = port
        self._hub = hub
        self._own_hub: PortHub | None = None
        self.baud = baud
        self._on_bytes = on_bytes
        self._on_status = on_status or (lambda status: None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._serial: serial.SerialBase | None = None
        self._wake: threading.Event | None = None
        self.status = UnitStatus(UnitState.DISCONNECTED, port, baud)

    def start(self) -> None:
        """Start the reader thread: it finds the baud rate, opens the port and hands the unit's bytes to
        ``on_bytes``, reopening the port after an unplug."""
        self._thread = threading.Thread(target=self._run, name=f"nmea-unit {self.port}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the reader to stop without waiting (stopping many units at once)."""
        self._stop.set()
        wake = self._wake
        if wake is not None:
            wake.set()

    def stop(self, timeout: float = 3.0) -> None:
        """Stop reading and wait up to ``timeout`` seconds for the reader thread; a hub of the unit's own is closed."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._own_hub is not None and not self.running:
            self._own_hub.close()
            self._own_hub = None

    @property
    def running(self) -> bool:
        """Whether the reader thread is still going (`stop` may have timed out waiting for it)."""
        return self._thread is not None and self._thread.is_alive()

    def _report(self, state: UnitState, message: str = "") -> None:
        if state != self.status.state or message != self.status.message:
            self.status = UnitStatus(state, self.port, self.baud, self.status.fixes_per_s, message)
            self._on_status(self.status)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._report(UnitState.CONNECTING)
            try:
                baud = self.baud or detect_baud(self.port)
                if baud is None:
                    self._report(UnitState.NO_DATA, f"{self.port}: no NMEA at any baud rate")
                    self._stop.wait(RETRY_SECONDS)
                    continue
                self.baud = baud
                with open_port(self.port, baud) as ser:
                    self._read(ser)
            except LINE_ERRORS as exc:
                self._report(UnitState.DISCONNECTED, f"{self.port}: {exc}")
                self._stop.wait(RETRY_SECONDS)
            except Exception as exc:
                log.exception("reading %s failed", self.port)
                self._report(UnitState.DISCONNECTED, f"{self.port}: unexpected error {type(exc).__name__}: {exc}")
                self._stop.wait(RETRY_SECONDS)
        self._report(UnitState.DISCONNECTED, "stopped")

    def _read(self, ser: serial.SerialBase) -> None:
        self._report(UnitState.NO_DATA)
        self._on_bytes(b"\n")  # never glue a half sentence from before a reconnect
        fd = getattr(ser, "fd", None)
        if isinstance(fd, int):
            self._read_through_hub(fd)
        else:
            self._read_loop(ser)

    def _read_through_hub(self, fd: int) -> None:
        """A device port: the shared hub thread reads it; this thread sleeps until unplug or stop."""
        lost: list[str] = []
        wake = threading.Event()
        self._wake = wake

        def on_data(data: bytes) -> None:
            if self.status.state in (UnitState.NO_DATA, UnitState.CONNECTING):
                self._report(UnitState.NO_FIX)
            self._on_bytes(data)

        def on_lost(reason: str) -> None:
            lost.append(reason)
            wake.set()

        def on_idle(seconds: float) -> None:
            self._report(UnitState.NO_DATA, f"{self.port}: no data for {seconds:.0f} s")

        hub = self._hub
        if hub is None:
            hub = self._own_hub = self._own_hub or PortHub()
        watch = hub.watch(fd, on_data, on_lost, on_idle, NO_DATA_SECONDS)
        try:
            while not self._stop.is_set() and not lost:
                wake.wait()
        finally:
            hub.unwatch(watch)
            self._wake = None
        if lost and not self._stop.is_set():
            raise serial.SerialException(lost[0])

    def _read_loop(self, ser: serial.SerialBase) -> None:
        """A pyserial URL (socket://, rfc2217://): read it in this thread."""
        last_data = time.monotonic()
        read = byte_reader(ser, 1.0)
        while not self._stop.is_set():
            data = read()
            now = time.monotonic()
            if data:
                last_data = now
                if self.status.state in (UnitState.NO_DATA, UnitState.CONNECTING):
                    self._report(UnitState.NO_FIX)
                self._on_bytes(data)
            elif now - last_data > NO_DATA_SECONDS:
                self._report(UnitState.NO_DATA, f"{self.port}: no data for {now - last_data:.0f} s")

    def mark_fix(self, fixes_per_s: float) -> None:
        """Called by the consumer once fixes decode, so the status says so."""
        self.status.fixes_per_s = fixes_per_s
        self._report(UnitState.FIX if fixes_per_s > 0 else UnitState.NO_FIX)
