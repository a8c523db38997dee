"""`fleet-desk listen` on a real pseudo-terminal: its status line says what decoding rejected, and why."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.framing import sentence
from fleet_desk.cli import main
from fleet_desk.cli.live import rejected
from fleet_desk.gps import DecodeStats
from fleet_desk.sim.vans import PtyUnit, SimulatedUnit
from tests.helpers.nmea_faults import POISON
from tests.helpers.terminal import terminal

BAUD = 4800


def _too_high(when: datetime) -> bytes:
    """A GGA checksum-valid and in order, but 99,999 m up: implausible."""
    return sentence(f"GPGGA,{when:%H%M%S},4544.910,N,00450.800,E,1,08,0.9,99999.0,M,47.3,M,,")


def _with_a_bad_checksum(data: bytes) -> bytes:
    return data[:9] + bytes([data[9] ^ 0x01]) + data[10:]


class Unit:
    """A van's unit on a pty that, once the reader has opened it, sends an epoch every 50 ms and, among its first
    ones, one malformed sentence, one implausible and one with a bad checksum."""

    def __init__(self) -> None:
        self.pty = PtyUnit(SimulatedUnit(0), BAUD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, name="listen test unit", daemon=True)

    def _send(self) -> None:
        while self.pty.reader_baud() != BAUD:  # bytes sent before the port is opened are thrown away
            if self._stop.wait(0.02):
                return
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
        second = 0
        while not self._stop.wait(0.05):
            when = start + timedelta(seconds=second)
            data = self.pty.unit.sentences(when, float(second))
            if second == 5:
                data += (sentence(POISON.decode()) + _too_high(when)
                         + _with_a_bad_checksum(self.pty.unit.sentences(when, float(second))))
            self.pty.write(data)
            second += 1

    def __enter__(self) -> Unit:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
        self.pty.close()


def test_the_status_line_counts_malformed_implausible_and_bad_checksum(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with Unit() as unit:
        code = main(["--db", f"sqlite:///{tmp_path / 'd.db'}", "listen", unit.pty.path, "--device", "van-1",
                     "--baud", str(BAUD), "--duration", "2.5"])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) >= 2  # piped: a line a second
    assert "rejected 1 malformed, 1 implausible, 1 bad checksum" in lines[-1], lines[-1]
    assert lines[-1].startswith("fix ")


def test_on_a_terminal_the_status_is_one_line_redrawn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Unit() as unit, terminal() as term:
        monkeypatch.setattr("sys.stdout", term.stream)
        code = main(["--db", f"sqlite:///{tmp_path / 'd.db'}", "listen", unit.pty.path, "--device", "van-1",
                     "--baud", str(BAUD), "--duration", "2.5"])
        drawn = term.close()
    assert code == 0
    assert drawn.count("\r") >= 2 and drawn.endswith("\n") and drawn.count("\n") == 1
    assert "rejected 1 malformed, 1 implausible, 1 bad checksum" in drawn.split("\r")[-1]


def test_the_status_line_says_unexpected_errors_when_there_were_any() -> None:
    """What raised an error nobody expected on a unit (counted on it by the live ingest) shows among the
    malformed, pointing to the log; nothing is added while there is none."""
    assert rejected(DecodeStats(malformed=4, unexpected=3)).startswith(
        "rejected 4 malformed (3 unexpected errors, details in the log), 0 implausible")
    assert "(1 unexpected error," in rejected(DecodeStats(malformed=1, unexpected=1))
    assert "unexpected" not in rejected(DecodeStats(malformed=2))
