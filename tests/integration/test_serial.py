"""Live serial ingestion through real pseudo-terminals, not mocks."""

from __future__ import annotations

import math
import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from drivers.base import UnitState
from drivers.framing import sentence
from drivers.nmea import NmeaUnit, detect_baud
from fleet_desk.cli.live import rejected
from fleet_desk.depot import Depot
from fleet_desk.gps import DecodeStats, NmeaDecoder
from fleet_desk.ingest.live import LiveIngest
from fleet_desk.settings import Settings
from fleet_desk.sim.vans import PtyUnit, SimulatedUnit
from fleet_desk.store.models import Position, Vehicle
from tests.helpers.nmea_faults import POISON
from tests.helpers.ptys import Feeder
from tests.helpers.waiting import wait_until


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Position))


def _live(engine: Engine, **callbacks: Any) -> LiveIngest:
    """Live ingestion as a command builds it: on a `Depot` (the default settings), through its live tracker."""
    return LiveIngest(engine, Depot(engine, Settings()).tracker, **callbacks)


def test_listen_stores_fixes_from_a_pty(engine):
    pty = PtyUnit(SimulatedUnit(0))
    seen: list = []
    live = _live(engine, on_fixes=lambda d, f: seen.extend(f))
    live.start()
    try:
        with Feeder(pty, datetime.now(UTC).replace(microsecond=0)):
            ref = live.add_unit(pty.path, "unit-a", "Van 1", baud=4800)
            wait_until(lambda: _count(engine) >= 20)
            wait_until(lambda: live.units()[0][1].status.state == UnitState.FIX)
    finally:
        live.stop()
        pty.close()
    assert ref.vehicle_name == "Van 1"
    assert _count(engine) == len({f.time for f in seen})


def test_unplug_and_replug_loses_and_doubles_nothing(engine, tmp_path):
    """The unit's stable path (like /dev/serial/by-id) points to a new pty after replugging."""
    link = tmp_path / "gps-by-id"
    unit = SimulatedUnit(1)
    start = datetime.now(UTC).replace(microsecond=0)
    first = PtyUnit(unit)
    os.symlink(first.path, link)
    states: list[UnitState] = []
    live = _live(engine, on_status=lambda d, s: states.append(s.state))
    live.start()
    try:
        with Feeder(first, start) as feed:
            live.add_unit(str(link), "unit-b", baud=4800)
            wait_until(lambda: _count(engine) >= 10)
        sent_before = feed.sent
        first.close()  # unplugged
        wait_until(lambda: UnitState.DISCONNECTED in states)
        second = PtyUnit(unit)
        os.unlink(link)
        os.symlink(second.path, link)
        with Feeder(second, start + timedelta(seconds=sent_before)) as feed2:
            feed2.sent = sent_before
            wait_until(lambda: _count(engine) >= sent_before + 10)
    finally:
        live.stop()
        second.close()
    with engine.connect() as conn:
        times = conn.scalars(select(Position.fix_time_ms).order_by(Position.fix_time_ms)).all()
    assert len(times) == len(set(times))
    assert states.count(UnitState.DISCONNECTED) >= 1


def test_baud_rate_is_detected_and_a_wrong_rate_gets_nothing(tmp_path):
    pty = PtyUnit(SimulatedUnit(2), baud=38400)
    try:
        with Feeder(pty, datetime.now(UTC)):
            assert detect_baud(pty.path, (4800, 9600), seconds=0.6) is None
            assert detect_baud(pty.path, (4800, 9600, 38400), seconds=0.6) == 38400
    finally:
        pty.close()


def test_unit_status_reports_no_data_for_a_silent_port():
    pty = PtyUnit(SimulatedUnit(3))
    states: list = []
    unit = NmeaUnit(pty.path, lambda b: None, lambda s: states.append(s), baud=4800)
    import drivers.nmea as nmea

    old = nmea.NO_DATA_SECONDS
    nmea.NO_DATA_SECONDS = 0.3
    try:
        unit.start()
        wait_until(lambda: any(s.state == UnitState.NO_DATA and "no data" in s.message for s in states), 5)
    finally:
        unit.stop()
        nmea.NO_DATA_SECONDS = old
        pty.close()
    assert not unit.running


@pytest.mark.parametrize("url", ["loop://"])
def test_pyserial_urls_are_accepted(url):
    got: list[bytes] = []
    unit = NmeaUnit(url, got.append, baud=4800)
    unit.start()
    try:
        wait_until(lambda: unit.status.state in (UnitState.NO_DATA, UnitState.NO_FIX), 5)
    finally:
        unit.stop()
    assert got and got[0] == b"\n"


def test_removing_a_unit_stores_what_it_already_sent(engine):
    pty = PtyUnit(SimulatedUnit(4))
    live = _live(engine)
    live.start()
    try:
        with Feeder(pty, datetime.now(UTC).replace(microsecond=0)):
            live.add_unit(pty.path, "unit-r", baud=4800)
            wait_until(lambda: _count(engine) >= 5)
        live.remove_unit(pty.path)
        assert live.units() == []
        wait_until(lambda: _count(engine) >= 5)
    finally:
        live.stop()
        pty.close()


def test_units_read_when_the_process_has_over_1024_open_files():
    """select() cannot watch descriptors above 1024; a depot app with hundreds of units has them."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1400:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    filler = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        pty = PtyUnit(SimulatedUnit(0))
        assert pty.master > 1024
        received: list[bytes] = []
        unit = NmeaUnit(pty.path, received.append, baud=4800)
        unit.start()
        with Feeder(pty, datetime(2026, 11, 20, 8, tzinfo=UTC)):
            wait_until(lambda: b"$GPRMC" in b"".join(received))
        assert unit.status.state is not UnitState.DISCONNECTED, unit.status.message
        unit.stop()
        pty.close()
    finally:
        for fd in filler:
            os.close(fd)


# -- one unit's poison (issue 19) must not stop the others --------------------------------------------------


def _positions_by_unit(engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(select(Vehicle.name, func.count()).join(Position, Position.vehicle_id == Vehicle.id)
                            .group_by(Vehicle.name)).all()
    return dict(rows)


def test_a_unit_sending_the_poison_sentence_stops_no_unit(engine):
    """Three live units on real pseudo-terminals; one of them sends the sentence that used to kill the one
    ingest thread. Every fix of the other two and the poisoned unit's later fixes are stored."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    units = [SimulatedUnit(i) for i in range(3)]
    ptys = [PtyUnit(u) for u in units]
    errors: list[str] = []
    live = _live(engine, on_error=errors.append)
    live.start()
    epochs = 40
    sent = threading.Event()
    try:
        for i, pty in enumerate(ptys):
            live.add_unit(pty.path, f"unit-{i}", f"Van {i}", baud=4800)
        for s in range(epochs):
            for i, (unit, pty) in enumerate(zip(units, ptys, strict=True)):
                data = unit.sentences(start + timedelta(seconds=s), float(s))
                if i == 1 and s in (10, 20):
                    data = sentence(POISON.decode()) + data
                pty.write(data)
            threading.Event().wait(0.02)
        sent.set()
        wait_until(lambda: sum(_positions_by_unit(engine).values()) >= 3 * (epochs - 1), timeout=20,
                   state=lambda: _positions_by_unit(engine))
    finally:
        live.stop()
        for pty in ptys:
            pty.close()
    stored = _positions_by_unit(engine)
    # The last epoch of each unit may wait for the next to close its cycle; every other one is stored.
    assert all(stored.get(f"Van {i}", 0) >= epochs - 1 for i in range(3)), stored
    assert live._worker.is_alive() is False  # stopped by us, not by the poison
    with engine.connect() as conn:
        lat = conn.scalars(select(Position.lat)).all()
    assert all(math.isfinite(v) and -90 <= v <= 90 for v in lat)


def _fix_times_by_unit(engine) -> dict[str, set[int]]:
    with engine.connect() as conn:
        rows = conn.execute(select(Vehicle.name, Position.fix_time_ms)
                            .join(Position, Position.vehicle_id == Vehicle.id)).all()
    out: dict[str, set[int]] = {}
    for name, ms in rows:
        out.setdefault(name, set()).add(ms)
    return out


def test_an_unexpected_error_in_one_units_data_is_told_once_counted_on_it_and_stops_no_unit(engine, monkeypatch):
    """Fault injection: one unit's decoder raises an error nobody expected (RuntimeError) on its next three
    chunks, among three live units on real pseudo-terminals. The other two store every fix, the failing unit
    stores every fix it sends once the fault is over, the user is told once (naming the unit and its port),
    and the unit's decode counts hold the errors (what `listen`'s status line shows)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    units = [SimulatedUnit(i) for i in range(3)]
    ptys = [PtyUnit(u) for u in units]
    errors: list[str] = []
    live = _live(engine, on_error=errors.append)
    faults = 3
    armed, healed = threading.Event(), threading.Event()
    raised = 0
    failing: DecodeStats | None = None  # the failing unit's decode counts, once it is added
    real_feed = NmeaDecoder.feed

    def feed(decoder: NmeaDecoder, chunk: bytes) -> list:
        nonlocal raised
        if decoder.stats is failing and armed.is_set() and not healed.is_set():
            raised += 1
            if raised == faults:
                healed.set()
            raise RuntimeError("injected fault")
        return real_feed(decoder, chunk)

    monkeypatch.setattr(NmeaDecoder, "feed", feed)
    sent = 0

    def send_epoch() -> None:
        nonlocal sent
        for unit, pty in zip(units, ptys, strict=True):
            pty.write(unit.sentences(start + timedelta(seconds=sent), float(sent)))
        sent += 1

    def epoch_ms(s: int) -> int:
        return int((start + timedelta(seconds=s)).timestamp() * 1000)

    live.start()
    try:
        for i, pty in enumerate(ptys):
            live.add_unit(pty.path, f"unit-{i}", f"Van {i}", baud=4800)
        stats = [live.decode_stats(pty.path) for pty in ptys]
        failing = stats[1]
        while not all(len(_fix_times_by_unit(engine).get(f"Van {i}", ())) >= 3 for i in range(3)):
            assert sent < 200, f"the units are not read: {_positions_by_unit(engine)}"  # (a port opens after
            send_epoch()  # its first bytes were sent: those are not read)
            threading.Event().wait(0.05)
        armed_at = sent  # every unit read and stored before the fault
        armed.set()
        while not healed.is_set():  # the failing unit's chunks raise until the fault is over
            assert sent < 200, f"the fault never fired: {raised} raised"
            send_epoch()
            threading.Event().wait(0.05)
        resumed = sent
        for _ in range(20):
            send_epoch()
            threading.Event().wait(0.02)
        # The last epoch of each unit may wait for the next to close its cycle; every other one is stored.
        every = {epoch_ms(s) for s in range(armed_at, sent - 1)}
        after = {epoch_ms(s) for s in range(resumed, sent - 1)}

        def stored_all() -> bool:
            times = _fix_times_by_unit(engine)
            return (every <= times.get("Van 0", set()) and every <= times.get("Van 2", set())
                    and after <= times.get("Van 1", set()))

        def missing() -> dict[str, list[int]]:
            times = _fix_times_by_unit(engine)
            want = {"Van 0": every, "Van 1": after, "Van 2": every}
            return {name: sorted((ms - epoch_ms(0)) // 1000 for ms in want[name] - times.get(name, set()))
                    for name in want}

        wait_until(stored_all, timeout=20, state=missing)
    finally:
        live.stop()
        for pty in ptys:
            pty.close()
    assert raised == faults
    assert len(errors) == 1, errors
    assert "unit-1" in errors[0] and ptys[1].path in errors[0] and "RuntimeError" in errors[0], errors[0]
    assert failing is not None and failing.unexpected == faults and failing.malformed >= faults
    assert stats[0].unexpected == stats[2].unexpected == 0
    assert "3 unexpected errors" in rejected(failing)
