"""A GPS unit is read live by one desk: another desk does not open it and says who reads it, takes it over when
that desk goes quiet (killed with SIGKILL) or when asked, and a desk stopping cleanly lets go of it.

Each desk is a process of its own (this module run as a script: ``desk URL NAME PORT``) reading a simulated
unit on a real pseudo-terminal, on the real PostgreSQL (a schema per test) and on a real SQLite file. The
desks' heartbeat and the quiet threshold are shortened (0.5 s, 3 s) so the take-over takes seconds.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update

from fleet_desk.clock import now_ms
from fleet_desk.depot import Depot
from fleet_desk.ingest.live import LiveIngest
from fleet_desk.settings import Settings
from fleet_desk.sim.vans import PtyUnit, SimulatedUnit
from fleet_desk.store import ensure_device
from fleet_desk.store.models import Change, Device, Position
from fleet_desk.store.server_clock import ServerClock
from fleet_desk.store.units import (
    claim_free_units,
    claim_of,
    claim_text,
    claim_unit,
    keep_claims,
    release_unit,
    unit_assignments,
)
from tests.helpers.paths import ROOT
from tests.helpers.ptys import Feeder
from tests.helpers.waiting import wait_until

STALE_S = 3.0
HEARTBEAT_S = 0.5


class Desk:
    """A desk in its own process reading one unit live; what it prints is collected line by line."""

    def __init__(self, url: str, name: str, port: str):
        self.name = name
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.integration.test_unit_claims", "desk", url, name,
                                      port], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def said(self, prefix: str, timeout: float = 20.0) -> str:
        """The first line starting with ``prefix`` it printed (waiting up to ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.seen if line.startswith(prefix)), None)
            if found is not None:
                return found
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None and self.lines.empty():
                raise AssertionError(f"{self.name} never said {prefix!r}; it said {self.seen}")
            try:
                self.seen.append(self.lines.get(timeout=min(left, 0.2)))
            except queue.Empty:
                pass

    def stop(self) -> int:
        """Stop it cleanly (its input closed); returns its exit code."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        code = self.proc.wait(30)
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(10) == -signal.SIGKILL
        self.stop()


def _desk(url: str, name: str, port: str) -> int:
    """A desk's process: reads the unit on ``port`` live until its input closes, printing what it does."""
    from fleet_desk.ingest import live as live_module
    from fleet_desk.store import open_database
    from fleet_desk.store import units as units_module
    from fleet_desk.tracking import RouteTracker, TrackingRules

    units_module.CLAIM_STALE_S = STALE_S
    live_module.HEARTBEAT_S = HEARTBEAT_S
    engine = open_database(url, migrate=False)
    tracker = RouteTracker.live(TrackingRules(timezone=UTC))
    live = live_module.LiveIngest(engine, tracker, on_error=lambda m: print(f"told: {m}", flush=True), desk=name)
    live.start()
    live.add_unit(port, "unit-a", "Van 1", baud=4800)
    print("reading" if live.units() else "waiting", flush=True)
    stopping = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stopping.set()), daemon=True).start()
    reading = bool(live.units())
    while not stopping.wait(0.1):
        if bool(live.units()) != reading:
            reading = not reading
            print("reading" if reading else "waiting", flush=True)
    live.stop()
    tracker.close()
    engine.dispose()
    print("stopped", flush=True)
    return 0


def _positions(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Position)) or 0


def test_a_unit_read_by_one_desk_is_not_opened_by_another_which_takes_it_over_when_the_first_is_killed(
        db_url, engine):
    ensure_device(engine, "unit-a", "Van 1")
    pty = PtyUnit(SimulatedUnit(0))
    a = b = None
    try:
        with Feeder(pty, datetime.now(UTC).replace(microsecond=0), rate_hz=5.0):
            a = Desk(db_url, "desk-1", pty.path)
            assert a.said("reading") == "reading"
            wait_until(lambda: _positions(engine) >= 5, timeout=30)
            b = Desk(db_url, "desk-2", pty.path)
            told = b.said("told:")
            assert "unit-a" in told and "read by desk-1 since " in told and "not opened here" in told
            assert b.said("waiting") == "waiting"
            claim = claim_of(engine, "unit-a")
            assert claim is not None and claim.desk == "desk-1"
            unit = next(u for u in unit_assignments(engine) if u.device == "unit-a")
            assert claim_text(unit, now_ms()).startswith("read by desk-1 since ")
            assert claim_text(unit, now_ms(), desk="desk-1").startswith("read here since ")
            # desk-1 keeps saying so: desk-2 does not take the unit while it does, well past the quiet threshold.
            time.sleep(STALE_S * 1.5)
            assert "reading" not in b.seen[1:] and b.lines.empty()
            seen_before = claim_of(engine, "unit-a")
            assert seen_before is not None and seen_before.desk == "desk-1"
            assert now_ms() - seen_before.seen_ms < STALE_S * 1000  # its heartbeat

            a.kill()  # desk-1 dies: no release, its heartbeat stops
            killed_at = time.monotonic()
            stored_at_kill = _positions(engine)
            b.seen.clear()
            assert b.said("reading", timeout=STALE_S + 15) == "reading"
            assert time.monotonic() - killed_at >= STALE_S - 1.0  # only once desk-1 had been quiet
            claim = claim_of(engine, "unit-a")
            assert claim is not None and claim.desk == "desk-2"
            wait_until(lambda: _positions(engine) >= stored_at_kill + 5, timeout=30)  # desk-2 stores its fixes
        assert b.stop() == 0
        assert claim_of(engine, "unit-a") is None  # a clean stop lets go
    finally:
        for desk in (a, b):
            if desk is not None and desk.proc.poll() is None:
                desk.kill()
        pty.close()


def test_claims_between_desks(engine):
    """One claim at a time, renewed by its desk, taken over when asked or when quiet, told in the depot's words."""
    ensure_device(engine, "unit-b")
    t = now_ms()
    assert claim_unit(engine, "unit-b", "desk-1", t) is None
    held = claim_unit(engine, "unit-b", "desk-2", t + 1000)
    assert held is not None and (held.desk, held.since_ms) == ("desk-1", t)
    assert claim_unit(engine, "unit-b", "desk-1", t + 2000) is None  # its own again: still since t
    assert claim_of(engine, "unit-b").since_ms == t
    assert keep_claims(engine, "desk-1", ["unit-b"], t + 20_000) == set()
    assert claim_unit(engine, "unit-b", "desk-2", t + 45_000) is not None  # renewed 25 s ago: not quiet yet
    assert claim_unit(engine, "unit-b", "desk-2", t + 51_000) is None  # quiet for 31 s: taken over
    assert keep_claims(engine, "desk-1", ["unit-b"], t + 52_000) == {"unit-b"}  # desk-1 learns it lost it
    assert claim_unit(engine, "unit-b", "desk-1", t + 53_000, take_over=True) is None  # asked: taken back
    release_unit(engine, "unit-b", "desk-2")  # not desk-2's any more: nothing happens
    assert claim_of(engine, "unit-b").desk == "desk-1"
    text = claim_text(claim_of(engine, "unit-b"), t + 53_000 + 95_000)
    assert text.startswith("read by desk-1 since ") and text.endswith("silent for 95 s (can be taken over)")
    release_unit(engine, "unit-b", "desk-1")
    assert claim_of(engine, "unit-b") is None and claim_text(None, t) == ""
    with engine.begin() as conn:
        assert conn.execute(select(Device.read_by, Device.read_since_ms, Device.read_seen_ms)
                            .where(Device.name == "unit-b")).one() == (None, None, None)
        conn.execute(update(Device).where(Device.name == "unit-b").values(read_by="desk-9"))  # no heartbeat ever
    assert claim_unit(engine, "unit-b", "desk-1", t) is None  # a claim that never said when: quiet


def test_the_units_a_desk_waits_for_are_claimed_in_one_go_when_free(engine):
    """A desk waits on every unit the others read; its heartbeat claims those that came free, not the others."""
    for name in ("free", "quiet", "busy", "mine"):
        ensure_device(engine, name)
    t = now_ms()
    assert claim_unit(engine, "quiet", "desk-2", t - 40_000) is None  # silent 40 s: quiet
    assert claim_unit(engine, "busy", "desk-2", t - 1_000) is None
    assert claim_unit(engine, "mine", "desk-1", t - 60_000) is None
    with engine.connect() as conn:
        before = conn.scalar(select(func.count()).select_from(Change))
    assert claim_free_units(engine, ["free", "quiet", "busy", "mine", "unknown"], "desk-1", t) == {
        "free", "quiet", "mine"}
    assert claim_of(engine, "busy").desk == "desk-2"
    claims = [claim_of(engine, name) for name in ("free", "quiet", "mine")]
    assert [(c.desk, c.since_ms) for c in claims if c] == [
        ("desk-1", t), ("desk-1", t), ("desk-1", t - 60_000)]  # its own stays its own since it claimed it
    with engine.connect() as conn:  # the other desks are told who reads the three now
        assert conn.scalar(select(func.count()).select_from(Change)) == before + 3
    assert claim_free_units(engine, [], "desk-1", t) == set()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_desk_whose_clock_is_behind_keeps_the_unit_it_reads(engine):
    """Desks on several machines: this desk's clock is five minutes slow. The unit it reads must not look quiet
    to a desk whose clock is right (claims are stamped with the database server's time, not the desk's)."""
    pty = PtyUnit(SimulatedUnit(5))
    live = LiveIngest(engine, Depot(engine, Settings(desk_name="desk-1")).tracker)
    live.claims_clock = ServerClock(engine, local=lambda: now_ms() - 300_000)
    live.start()
    try:
        live.add_unit(pty.path, "unit-s", "Van 5", baud=4800)
        assert [ref.name for ref, _unit, _rate in live.units()] == ["unit-s"]
        held = claim_unit(engine, "unit-s", "desk-2", now_ms())  # the other desk, its clock right
        assert held is not None and held.desk == "desk-1"
    finally:
        live.stop()
        pty.close()


if __name__ == "__main__":
    if sys.argv[1] == "desk":
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        sys.exit(_desk(sys.argv[2], sys.argv[3], sys.argv[4]))
