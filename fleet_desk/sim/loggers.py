"""Simulated GPS data loggers on pseudo-terminals, for tests, the benchmark and trying the dock by hand.

`SimulatedMtkLogger` holds a memory image (a dump saved from a real
logger) and answers the PMTK182 download commands as a MediaTek logger
does, between its own live NMEA; `SimulatedNmeaLogger` streams a stored
NMEA log once it is opened, then falls quiet. Both send no faster than
their serial line would carry (10 bits a byte at their baud rate), and a
reader at the wrong baud rate gets garbage, as on a real line.
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time

from drivers.framing import SentenceFramer, sentence
from fleet_desk.sim.vans import PtyPort, garble

ANSWER_LINE = 0x800  # bytes of memory per $PMTK182,8 line, as MTK firmware sends them
LIVE_EVERY_S = 1.0


class _LineRate:
    """Paces writes to what a serial line at ``baud`` carries (None: as fast as the reader takes them)."""

    def __init__(self, baud: int | None):
        self.bytes_per_s = baud / 10 if baud else None
        self._free_at = time.monotonic()

    def wait_for(self, n: int) -> None:
        if self.bytes_per_s is None:
            return
        now = time.monotonic()
        self._free_at = max(self._free_at, now) + n / self.bytes_per_s
        ahead = self._free_at - now - 0.005
        if ahead > 0:
            time.sleep(ahead)


class _SimulatedPort(PtyPort):
    """A pty with a thread that reads what the app writes and writes back at line rate."""

    def __init__(self, baud: int, line_rate: bool = True):
        super().__init__()
        self.baud = baud
        self._rate = _LineRate(baud if line_rate else None)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"simulated logger {self.path}", daemon=True)

    def start(self) -> _SimulatedPort:
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop answering and pull the plug (the reader sees the port go away)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(2)
        super().close()

    def _right_baud(self) -> bool:
        return self.reader_baud() == self.baud

    def send(self, data: bytes) -> None:
        """Write everything (waiting while the reader's buffer is full), at line rate."""
        if not self._right_baud():
            data = garble(data)
        view = memoryview(data)
        while view and not self._stop.is_set():
            piece = view[:1024]
            self._rate.wait_for(len(piece))
            try:
                n = os.write(self.master, piece)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EIO):
                    raise
                select.select([], [self.master], [], 0.05)
                continue
            view = view[n:]

    def _received(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            return os.read(self.master, 4096)
        except OSError:  # nobody has the port open
            time.sleep(timeout)
            return b""

    def _serve(self) -> None:
        raise NotImplementedError


class SimulatedMtkLogger(_SimulatedPort):
    """A MediaTek data logger whose flash holds ``memory`` (the bytes of a dump).

    ``damage_every``: corrupt every n-th memory line (to see reads retried);
    ``unplug_after``: pull the plug once this many memory bytes were sent.
    """

    def __init__(self, memory: bytes, baud: int = 115200, model: str = "MTK-LOGGER", line_rate: bool = True,
                 live_nmea: bool = True, damage_every: int = 0, unplug_after: int | None = None):
        super().__init__(baud, line_rate)
        self.memory = bytearray(memory)
        self.model = model
        self.live_nmea = live_nmea
        self.damage_every = damage_every
        self.unplug_after = unplug_after
        self.logging = True
        self.erased = False
        self.commands: list[str] = []
        self.memory_bytes_sent = 0
        self._lines_sent = 0

    @property
    def used(self) -> int:
        """The next address the logger would write: the end of its data."""
        return len(bytes(self.memory).rstrip(b"\xff"))

    def _serve(self) -> None:
        framer = SentenceFramer()
        last_live = 0.0
        while not self._stop.is_set():
            data = self._received(0.05)
            if data and self._right_baud():
                for body in framer.feed(data):
                    self._answer(body.decode("ascii", "replace"))
            if self.live_nmea and time.monotonic() - last_live >= LIVE_EVERY_S:
                last_live = time.monotonic()
                self.send(sentence("GPRMC,,V,,,,,,,,,,N"))  # indoors at the depot: no fix

    def _answer(self, command: str) -> None:
        self.commands.append(command)
        fields = command.split(",")
        if command == "PMTK605":
            self.send(sentence(f"PMTK705,AXN_1.0-B_1.3_C01,0001,{self.model},1.0"))
        elif fields[:2] == ["PMTK182", "2"] and len(fields) == 3:
            if fields[2] != "8":  # only the bytes in use are asked for
                self._ack("182,2", 1)
            else:
                self.send(sentence(f"PMTK182,3,8,{self.used:08X}"))
                self._ack("182,2", 3)
        elif fields[:2] == ["PMTK182", "7"] and len(fields) == 4:
            self._read_memory(int(fields[2], 16), int(fields[3], 16))
        elif command == "PMTK182,5":
            self.logging = False
            self._ack("182,5", 3)
        elif command == "PMTK182,4":
            self.logging = True
            self._ack("182,4", 3)
        elif command == "PMTK182,6,1":
            self.memory[:] = b"\xff" * len(self.memory)
            self.erased = True
            self._ack("182,6", 3)
        else:
            self._ack(",".join(fields[0][4:] if i == 0 else f for i, f in enumerate(fields[:2])), 1)

    def _read_memory(self, start: int, size: int) -> None:
        for offset in range(start, start + size, ANSWER_LINE):
            n = min(ANSWER_LINE, start + size - offset)
            chunk = bytes(self.memory[offset:offset + n]).ljust(n, b"\xff")
            line = sentence(f"PMTK182,8,{offset:08X},{chunk.hex().upper()}")
            self._lines_sent += 1
            if self.damage_every and self._lines_sent % self.damage_every == 0:
                line = line[:40] + (b"0" if line[40:41] != b"0" else b"1") + line[41:]
            if self.unplug_after is not None and self.memory_bytes_sent + n > self.unplug_after:
                self.send(line[: len(line) // 2])
                self._stop.set()
                PtyPort.close(self)
                return
            self.send(line)
            self.memory_bytes_sent += n
        self._ack("182,7", 3)

    def _ack(self, command: str, flag: int) -> None:
        self.send(sentence(f"PMTK001,{command},{flag}"))


class SimulatedNmeaLogger(_SimulatedPort):
    """An NMEA logger that plays back its stored log once the app opens the port, then falls quiet."""

    def __init__(self, log: bytes, baud: int = 4800, line_rate: bool = True):
        super().__init__(baud, line_rate)
        self.log = log

    def _serve(self) -> None:
        while not self._stop.is_set():  # wait for the reader to open the port at our baud rate
            if self._right_baud():
                break
            self._stop.wait(0.05)
        self._stop.wait(0.2)
        for i in range(0, len(self.log), 4096):
            if self._stop.is_set():
                return
            self.send(self.log[i:i + 4096])
