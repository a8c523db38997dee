"""``fleet-desk watch`` as a process of its own, seeing what other processes write, on a real SQLite file and on
the real PostgreSQL: positions, a manifest's stops and routes, a dispatcher's mark; Ctrl-C and a closed pipe end
it quietly; its LISTEN connection killed on the server, it misses nothing."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from fleet_desk.store.models import Stop
from tests.helpers.days import day_with_trouble
from tests.helpers.paths import ROOT
from tests.helpers.waiting import wait_until

MAIN = str(ROOT / "main.py")
#: Another process storing fixes: one batch per vehicle named on the command line, one fix each, now.
WRITER = """
import sys, time
from datetime import UTC, datetime
from fleet_desk.gps.fix import Fix
from fleet_desk.store import PositionWriter, ensure_device, open_database

engine = open_database(sys.argv[1])
for i, vehicle in enumerate(sys.argv[2:]):
    ref = ensure_device(engine, "unit " + vehicle, vehicle)
    fix = Fix(datetime.now(UTC), 60.17 + i / 1000, 24.94, 7.5 + i)
    PositionWriter(engine, ref, "live").write([fix])
    print(vehicle, fix.time.strftime("%Y-%m-%dT%H:%M:%S"), flush=True)
engine.dispose()
"""


class Watch:
    """`fleet-desk watch` running, its lines gathered by a thread as they come."""

    def __init__(self, db_url: str, fmt: str = "jsonl") -> None:
        self.proc = subprocess.Popen([sys.executable, MAIN, "--db", db_url, "watch", "--format", fmt],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        banner = self.proc.stderr.readline()
        assert banner.startswith("watching changes"), banner + self.proc.stderr.read()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def until(self, wanted, timeout: float = 10.0) -> dict:
        """The first JSON line ``wanted(line)`` accepts within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            doc = json.loads(line)
            if wanted(doc):
                return doc
        raise AssertionError(f"no such line within {timeout} s; seen: {self.seen}")

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C: its exit code and what it said on stderr."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        finally:
            self.close()
        return self.proc.returncode, self.errors

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(5)
        self.errors = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()


def _run(*args: str) -> str:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _write_positions(db_url: str, *vehicles: str) -> dict[str, str]:
    out = _run("-c", WRITER, db_url, *vehicles)
    return dict(line.rsplit(" ", 1) for line in out.splitlines())


def test_watch_prints_what_other_processes_write(db_url, engine, tmp_path: Path):
    _day, manifest, _log = day_with_trouble(tmp_path, 1, None, stops=3)
    watch = Watch(db_url)
    try:
        _run(MAIN, "--db", db_url, "manifest", "import", str(manifest))
        with engine.connect() as conn:
            order_ids = list(conn.scalars(select(Stop.order_id).order_by(Stop.sequence)))
        stop = watch.until(lambda d: d["kind"] == "stop")
        assert stop["order_id"] in order_ids and stop["status"] == "pending" and "eta" in stop
        if not any(json.loads(line)["kind"] == "route" for line in watch.seen):
            watch.until(lambda d: d["kind"] == "route")

        written = _write_positions(db_url, "Van 8")
        position = watch.until(lambda d: d["kind"] == "position")
        assert position["vehicle"] == "Van 8" and position["unit"] == "unit Van 8"
        assert position["time_utc"][:19] == written["Van 8"][:19]
        assert (position["lat"], position["lon"], position["speed_mps"]) == (60.17, 24.94, 7.5)

        _run(MAIN, "--db", db_url, "stop", order_ids[0], "failed", "--reason", "gate locked")
        marked = watch.until(lambda d: d["kind"] == "stop" and d["status"] == "failed")
        assert marked["order_id"] == order_ids[0] and marked["failure_reason"] == "gate locked"
        assert {"change", "at_utc", "desk"} <= set(marked)
    finally:
        code, errors = watch.interrupt()
    assert code == 0 and "Traceback" not in errors, errors


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_watch_in_text_ends_quietly_when_its_reader_goes(db_url, engine):
    """``fleet-desk watch | head -1``: the first line, then the reader is gone; the next write ends it, exit 0."""
    proc = subprocess.Popen([sys.executable, MAIN, "--db", db_url, "watch"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr.readline().startswith("watching changes")
        _write_positions(db_url, "Van 1")
        line = proc.stdout.readline()
        if " unit " in line:  # the unit is new: made, then its position
            line = proc.stdout.readline()
        assert " position " in line and "Van 1 (unit Van 1)" in line and "7.5 m/s" in line
        proc.stdout.close()
        _write_positions(db_url, "Van 2", "Van 3")
        proc.wait(timeout=15)
        errors = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0
    assert "Traceback" not in errors and "BrokenPipe" not in errors, errors


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_watch_misses_nothing_when_its_listen_connection_is_killed(db_url, engine):
    watch = Watch(db_url)
    try:
        _write_positions(db_url, "Van 0")
        watch.until(lambda d: d["kind"] == "position" and d["vehicle"] == "Van 0")
        name = f"fleet-desk changes {watch.proc.pid}"
        with engine.begin() as conn:
            killed = conn.scalar(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE application_name = :name"), {"name": name})
        assert killed == 1
        vans = [f"Van {n}" for n in range(1, 6)]
        _write_positions(db_url, *vans)  # while it is away, and as it comes back
        seen = {watch.until(lambda d: d["kind"] == "position", timeout=20)["vehicle"] for _ in vans}
        assert seen == set(vans)
        wait_until(lambda: _listening(engine, name), timeout=15)  # it LISTENs again
        _write_positions(db_url, "Van 6")
        watch.until(lambda d: d["kind"] == "position" and d["vehicle"] == "Van 6")
    finally:
        code, errors = watch.interrupt()
    assert code == 0 and "Traceback" not in errors, errors


def _listening(engine, name: str) -> bool:
    with engine.connect() as conn:
        return bool(conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                                {"name": name}))
