"""Several desks on one database from the command line, each desk a process of its own with its own settings
(its ``desk_name``), on the real PostgreSQL (a schema per test) and on a real SQLite file:

- ``fleet-desk listen`` on a unit another desk reads says who reads it and waits; ``--take-over`` takes it (the
  desk that read it stops within its heartbeat and says who took it), and when the taker stops, a waiting
  desk reads it;
- ``fleet-desk stop`` that loses the race on its stop every time says so in one line, changes nothing;
- of three desks asking at once, one claims tonight's maintenance run.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text

from fleet_desk.sim.day import DayTrouble
from fleet_desk.sim.vans import PtyUnit, SimulatedUnit
from fleet_desk.store import ensure_device
from fleet_desk.store.models import Change, Position, Stop
from fleet_desk.store.retention import MAINTENANCE
from fleet_desk.store.units import claim_of
from fleet_desk.tracking import RouteTracker, TrackingRules
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import store_manifest
from tests.helpers.days import day_with_trouble
from tests.helpers.paths import ROOT
from tests.helpers.ptys import Feeder
from tests.helpers.waiting import wait_until

HEARTBEAT_S = 5.0  # fleet_desk.store.units.HEARTBEAT_S: a desk learns within this that its unit was taken


def _desk_home(tmp_path: Path, name: str) -> dict[str, str]:
    """The environment of a desk called ``name``: its own settings file saying its name."""
    config = tmp_path / name
    config.mkdir()
    (config / "settings.json").write_text(json.dumps({"desk_name": name}), encoding="utf-8")
    return {**os.environ, "FLEET_DESK_CONFIG_DIR": str(config)}


class Listener:
    """``fleet-desk listen`` run by one desk; what it says on stderr collected line by line."""

    def __init__(self, tmp_path: Path, url: str, name: str, port: str, *extra: str) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fleet_desk.cli", "--db", url, "listen", port, "--device", "unit-a",
             "--vehicle", "Van 1", "--baud", "4800", "--duration", "120", *extra],
            cwd=ROOT, env=_desk_home(tmp_path, name), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def said(self, pattern: str, timeout: float = 30.0) -> str:
        """The first line it said matching ``pattern`` (a regular expression), waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((line for line in self.seen if re.search(pattern, line)), None)
            if found is not None:
                return found
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and self.lines.empty()):
                raise AssertionError(f"{self.name} never said {pattern!r}; it said {self.seen}")
            try:
                self.seen.append(self.lines.get(timeout=min(left, 0.2)))
            except queue.Empty:
                pass

    def interrupt(self) -> int:
        """Ctrl-C; returns its exit code once it stopped."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(30)
        self._reader.join(5)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code


def _positions(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Position)) or 0


def test_listen_waits_for_a_unit_another_desk_reads_and_take_over_takes_it(tmp_path, db_url, engine):
    ensure_device(engine, "unit-a", "Van 1")
    pty = PtyUnit(SimulatedUnit(0))
    desks: list[Listener] = []
    try:
        with Feeder(pty, datetime.now(UTC).replace(microsecond=0), rate_hz=5.0):
            desks.append(one := Listener(tmp_path, db_url, "desk-1", pty.path))
            one.said(r"^listening on .* as unit-a; Ctrl-C to stop$")
            wait_until(lambda: _positions(engine) >= 3, timeout=30)
            assert claim_of(engine, "unit-a").desk == "desk-1"

            desks.append(two := Listener(tmp_path, db_url, "desk-2", pty.path))
            waiting = two.said(r"^fleet-desk: unit-a is ")
            assert re.fullmatch(r"fleet-desk: unit-a is read by desk-1 since \d\d:\d\d; waiting until that desk "
                                r"goes quiet \(or run with --take-over\); Ctrl-C to stop", waiting), waiting
            assert claim_of(engine, "unit-a").desk == "desk-1"

            desks.append(three := Listener(tmp_path, db_url, "desk-3", pty.path, "--take-over"))
            three.said(r"^listening on .* as unit-a \(taken over\); Ctrl-C to stop$")
            assert claim_of(engine, "unit-a").desk == "desk-3"
            taken = one.said(r"taken over", timeout=HEARTBEAT_S + 10)
            assert "unit-a" in taken and "stopped reading it here" in taken
            assert re.search(r"unit-a: read by desk-3 since \d\d:\d\d; waiting", one.said(r"read by desk-3"))
            time.sleep(HEARTBEAT_S + 1)  # desk-3 keeps saying so: nobody takes it back
            assert claim_of(engine, "unit-a").desk == "desk-3"
            before = _positions(engine)
            wait_until(lambda: _positions(engine) >= before + 3, timeout=30)  # desk-3 stores the unit's fixes

            assert three.interrupt() == 0  # Ctrl-C: desk-3 lets go, and a waiting desk reads the unit
            wait_until(lambda: claim_of(engine, "unit-a") is not None
                       and claim_of(engine, "unit-a").desk in ("desk-1", "desk-2"), timeout=HEARTBEAT_S + 10)
            reader = one if claim_of(engine, "unit-a").desk == "desk-1" else two
            reader.said(r"unit-a: read here now \(the desk that read it let go or went quiet\)",
                        timeout=HEARTBEAT_S + 5)
        for desk in desks:
            assert desk.interrupt() == 0
            assert not any("Traceback" in line or "database is locked" in line for line in desk.seen), desk.seen
        assert claim_of(engine, "unit-a") is None  # every desk stopped cleanly: nobody reads it
    finally:
        for desk in desks:
            if desk.proc.poll() is None:
                desk.proc.kill()
                desk.proc.wait(10)
        pty.close()


def _skip_every_update_of_stops(engine) -> None:
    """Every update of a stop's row is skipped, as if another desk changed it first each time."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("CREATE FUNCTION lost_race() RETURNS trigger LANGUAGE plpgsql AS "
                              "$$ BEGIN RETURN NULL; END $$"))
            conn.execute(text("CREATE TRIGGER lost_race BEFORE UPDATE ON stops FOR EACH ROW "
                              "EXECUTE FUNCTION lost_race()"))
        else:
            conn.execute(text("CREATE TRIGGER lost_race BEFORE UPDATE ON stops BEGIN SELECT RAISE(IGNORE); END"))


def test_stop_that_keeps_losing_the_race_says_so_in_one_line_and_changes_nothing(tmp_path, db_url, engine):
    rules = TrackingRules(timezone=UTC)
    _day, manifest, _log = day_with_trouble(tmp_path, 0, DayTrouble())
    store_manifest(engine, RouteTracker(rules, clock=None), read_manifest(manifest, tz=UTC), rules)
    with engine.connect() as conn:
        order, status = conn.execute(select(Stop.order_id, Stop.status).order_by(Stop.id)).first()
    _skip_every_update_of_stops(engine)
    done = subprocess.run([sys.executable, "-m", "fleet_desk.cli", "--db", db_url, "stop", order, "delivered"],
                          cwd=ROOT, env=_desk_home(tmp_path, "desk-2"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (f"fleet-desk: order {order} kept changing on other desks while this change was made; "
                           "nothing was changed: try again\n")
    with engine.connect() as conn:
        assert conn.scalar(select(Stop.status).where(Stop.order_id == order)) == status == "pending"


def _claim(url: str, desk: str, at_ms: int) -> int:
    """A desk's process (this module run as a script: ``claim URL DESK AT_MS``): opens the database, says
    "ready", claims tonight's run when told "go" and says whether it got it."""
    from zoneinfo import ZoneInfo

    from fleet_desk.store import open_database
    from fleet_desk.store.retention import claim_night

    engine = open_database(url, migrate=False)
    print("ready", flush=True)
    sys.stdin.readline()
    won = claim_night(engine, desk, at_ms, ZoneInfo("Europe/Paris"))
    print("won" if won else "not mine", flush=True)
    engine.dispose()
    return 0


def test_of_three_desks_asking_at_once_one_runs_tonight_s_maintenance(db_url, engine):
    at = int(datetime(2026, 12, 3, 1, 5, tzinfo=UTC).timestamp() * 1000)  # 02:05 in Paris
    desks = {f"desk-{i}": subprocess.Popen([sys.executable, "-m", "tests.integration.test_cli_desks", "claim", db_url,
                                            f"desk-{i}", str(at + i)], cwd=ROOT, stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, text=True) for i in (1, 2, 3)}
    for proc in desks.values():
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in desks.values():  # all at once
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    won = {}
    for desk, proc in desks.items():
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        won[desk] = out.strip() == "won"
    assert sum(won.values()) == 1, won
    with engine.connect() as conn:
        runs = conn.execute(select(Change.desk).where(Change.kind == MAINTENANCE)).scalars().all()
    assert runs == [next(desk for desk, ok in won.items() if ok)]


if __name__ == "__main__":
    if sys.argv[1] == "claim":
        sys.exit(_claim(sys.argv[2], sys.argv[3], int(sys.argv[4])))
