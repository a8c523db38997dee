"""MediaTek-chipset GPS data loggers (Holux M-241, Qstarz BT-Q1000, i-Blue 747, GP-245 and kin).

Their stored track is read out of the logger's flash over serial with the
PMTK182 commands: ``$PMTK605`` asks the firmware to identify itself
(``$PMTK705``), ``$PMTK182,2,<what>`` queries a log setting
(``$PMTK182,3,<what>,<value>``; 8 is how many bytes of flash are in use),
``$PMTK182,5`` / ``$PMTK182,4`` stop and restart logging (so the memory does
not move under the download), ``$PMTK182,7,<offset>,<size>`` reads memory,
answered by ``$PMTK182,8,<offset>,<hex data>`` lines, and ``$PMTK182,6,1``
erases the log. Every command is acknowledged by ``$PMTK001,<command>,<flag>``
(3: done). The logger keeps streaming its live NMEA in between; only the
answers are taken.

Bytes only: decoding the binary log is `fleet_desk.gps.mtk`, storing it is
the dock's job. No Qt, no database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import serial

from drivers.base import LINE_ERRORS, byte_reader, open_port
from drivers.framing import SentenceFramer, sentence

#: Generic MTK loggers talk at 115200 baud, the Holux M-241 at 38400; the rest are rarer.
BAUD_RATES = (115200, 38400, 57600, 9600, 19200, 4800)
READ_SIZE = 0x1000  # bytes asked for per read command: a little under a second at 38400 baud
ANSWER_S = 3.0  # how long an answer may take (after the line has carried it)
ERASE_S = 60.0  # erasing a full flash takes a while
IDENTIFY_S = 0.6  # per baud rate tried
RETRIES = 3
ACK_DONE = 3
_ACK_MEANING = {0: "invalid command", 1: "unsupported command", 2: "command failed"}


class LoggerError(Exception):
    """The logger did not answer, or refused; the message says what and where."""


@dataclass(frozen=True, slots=True)
class LoggerIdentity:
    """What the logger says about itself."""

    port: str
    baud: int
    firmware: str
    model: str

    @property
    def text(self) -> str:
        """One line for people and for the unit register ("MTK logger M-241, firmware ...")."""
        model = self.model or "model not given"
        return f"MTK logger {model}, firmware {self.firmware}"


class MtkLogger:
    """One PMTK182 conversation with a logger on ``port`` (a device path or pyserial URL)."""

    family = "mtk"

    def __init__(self, port: str, baud: int | None = None) -> None:
        self.port = port
        self.baud = baud
        self._serial: serial.SerialBase | None = None
        self._read: Callable[[], bytes] | None = None
        self._framer = SentenceFramer(max_line=2 * READ_SIZE + 64)
        self._answers: list[bytes] = []
        self.line_bytes = 0  # bytes received on the line during this conversation

    # -- connection -------------------------------------------------------------------------------------

    def open(self) -> LoggerIdentity:
        """Open the port (finding the baud rate if not given) and ask the logger who it is."""
        for baud in (self.baud,) if self.baud else BAUD_RATES:
            try:
                self._connect(baud)
                answer = self._ask("PMTK605", b"PMTK705,", IDENTIFY_S if not self.baud else ANSWER_S)
            except LoggerError:
                self.close()
                continue
            except LINE_ERRORS as exc:
                self.close()
                raise LoggerError(f"{self.port}: cannot open the port: {exc}") from exc
            self.baud = baud
            fields = answer.decode("ascii", "replace").split(",")
            return LoggerIdentity(self.port, baud, fields[1] if len(fields) > 1 else "",
                                  fields[3] if len(fields) > 3 else "")
        tried = ", ".join(str(b) for b in ((self.baud,) if self.baud else BAUD_RATES))
        raise LoggerError(f"{self.port}: no MTK logger answered (tried {tried} baud); is it switched on and in "
                          "data mode?")

    def close(self) -> None:
        """Close the port (quietly if the unit is already unplugged); `open` starts a new conversation."""
        if self._serial is not None:
            try:
                self._serial.close()
            except LINE_ERRORS:
                pass
        self._serial = self._read = None

    def __enter__(self) -> MtkLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self, baud: int) -> None:
        self.close()
        self._serial = open_port(self.port, baud, timeout=0.05)
        self._serial.reset_input_buffer()
        self._read = byte_reader(self._serial, 0.05)
        self._framer = SentenceFramer(max_line=2 * READ_SIZE + 64)
        self._answers = []

    # -- commands ---------------------------------------------------------------------------------------

    def used_bytes(self) -> int:
        """How much of the flash holds log data (the next address the logger would write)."""
        answer = self._query(8).decode("ascii", "replace")
        try:
            return int(answer, 16)
        except ValueError:
            raise LoggerError(f"{self.port}: the logger said '{answer[:40]}' for the bytes in use, not a number; "
                              "switch it off and on and dock it again") from None

    def stop_logging(self) -> None:
        """Tell the logger to stop logging, so its memory does not move while it is read."""
        self._command("PMTK182,5", b"182,5")

    def start_logging(self) -> None:
        """Tell the logger to log again (after a download, whether or not it was erased)."""
        self._command("PMTK182,4", b"182,4")

    def erase(self) -> None:
        """Erase the whole log. Only call this once what was read is safely stored."""
        self._command("PMTK182,6,1", b"182,6", ERASE_S)

    def read(self, start: int, end: int, cancelled: Callable[[], bool] | None = None) -> Iterator[tuple[int, bytes]]:
        """Memory from ``start`` to ``end`` as (offset, bytes) pieces in order; a piece that comes back damaged
        or not at all is asked for again (a few times, then `LoggerError`)."""
        offset = start
        while offset < end:
            if cancelled is not None and cancelled():
                return
            size = min(READ_SIZE, end - offset)
            for attempt in range(RETRIES):
                try:
                    data = self._read_block(offset, size)
                    break
                except LoggerError:
                    if attempt == RETRIES - 1:
                        raise
            yield offset, data
            offset += size

    def _read_block(self, offset: int, size: int) -> bytes:
        self._send(f"PMTK182,7,{offset:08X},{size:08X}")
        pieces: dict[int, bytes] = {}
        deadline = self._deadline(size)
        while True:
            body = self._next(deadline, (b"PMTK182,8,", b"PMTK001,182,7,"))
            if body.startswith(b"PMTK001"):
                self._check_ack(body, "read memory")
                break
            try:  # checksum-valid is not well-formed: a damaged answer is asked for again, never a crash
                _, _, addr, hexdata = body.split(b",", 3)
                pieces[int(addr, 16)] = bytes.fromhex(hexdata.decode("ascii"))
            except ValueError as exc:
                raise LoggerError(f"{self.port}: damaged memory data ({body[:30].decode(errors='replace')}...) "
                                  f"reading {offset:#x}") from exc
        starts = sorted(pieces)
        ends = [k + len(pieces[k]) for k in starts]
        if not starts or starts[0] != offset or ends[-1] != offset + size or starts[1:] != ends[:-1]:
            raise LoggerError(f"{self.port}: asked for {size} bytes at {offset:#x}, got pieces that do not add up "
                              "to them (gaps or overlaps)")
        return b"".join(pieces[k] for k in starts)

    def _query(self, what: int) -> bytes:
        prefix = f"PMTK182,3,{what},".encode()
        answer = self._ask(f"PMTK182,2,{what}", prefix, ANSWER_S)
        return answer[len(prefix):]

    def _ask(self, command: str, answer_prefix: bytes, timeout: float) -> bytes:
        self._send(command)
        return self._next(time.monotonic() + timeout, (answer_prefix,))

    def _command(self, command: str, ack_of: bytes, timeout: float = ANSWER_S) -> None:
        self._send(command)
        self._check_ack(self._next(time.monotonic() + timeout, (b"PMTK001," + ack_of + b",",)), command)

    def _check_ack(self, body: bytes, what: str) -> None:
        said = body.rsplit(b",", 1)[1]
        flag = int(said) if said.isdigit() else -1
        if flag != ACK_DONE:
            raise LoggerError(f"{self.port}: the logger answered {what!r} with "
                              f"{_ACK_MEANING.get(flag, f'flag {flag}')}")

    def _deadline(self, size: int) -> float:
        """Time for ``size`` bytes as hex on this line (10 bits a character), plus the answer time."""
        return time.monotonic() + ANSWER_S + (2 * size + 64) * 10 / (self.baud or 4800)

    def _send(self, command: str) -> None:
        if self._serial is None:
            raise LoggerError(f"{self.port}: not connected")
        try:
            self._serial.write(sentence(command))
            self._serial.flush()
        except LINE_ERRORS as exc:
            raise LoggerError(f"{self.port}: unit unplugged or not answering ({exc})") from exc

    def _next(self, deadline: float, prefixes: tuple[bytes, ...]) -> bytes:
        """The next sentence starting with one of ``prefixes`` (the logger's live NMEA in between is skipped)."""
        read = self._read
        if read is None:
            raise LoggerError(f"{self.port}: not connected")
        while True:
            while self._answers:
                body = self._answers.pop(0)
                if body.startswith(prefixes):
                    return body
            if time.monotonic() > deadline:
                raise LoggerError(f"{self.port}: no answer from the logger (waited for "
                                  f"{prefixes[0].decode().rstrip(',')})")
            try:
                data = read()
            except LINE_ERRORS as exc:
                raise LoggerError(f"{self.port}: unit unplugged during the download ({exc})") from exc
            if data:
                self.line_bytes += len(data)
                self._answers.extend(b for b in self._framer.feed(data) if b.startswith(b"PMTK"))
