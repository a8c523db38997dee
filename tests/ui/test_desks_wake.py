"""A desk wakes on what other desks write: another process's positions reach the fleet board; its manifest
and its dispatcher's mark reach the routes panel, the open lookup card and the outbox's count; each sooner
than the panels' slow safety reads would bring them (on a SQLite file, where the desk polls the newest change
id, and on the real PostgreSQL, where it LISTENs)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pytestqt.qtbot import QtBot

from fleet_desk.sim.day import simulate_day
from tests.helpers.desk import close_window, open_window
from tests.helpers.paths import ROOT

MAIN = str(ROOT / "main.py")
WRITER = """
import sys
from datetime import UTC, datetime
from fleet_desk.gps.fix import Fix
from fleet_desk.store import PositionWriter, ensure_device, open_database

engine = open_database(sys.argv[1])
ref = ensure_device(engine, "unit 42", "Van 42")
PositionWriter(engine, ref, "live").write([Fix(datetime.now(UTC), 60.1699, 24.9384, 8.0)])
engine.dispose()
"""
#: Seconds within which another desk's change must show: well under the panels' safety reads.
WAKE_S = 3.0


def _run(*args: str) -> None:
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_another_desks_writes_wake_the_board_and_the_routes(qtbot: QtBot, tmp_path: Path, db_url: str) -> None:
    window, engine = open_window(qtbot, db_url)
    try:
        assert window.feed is not None and window.feed.watch.interval_s >= 10  # the safety read is slow
        from fleet_desk.ui.panels.routes import REFRESH_MS

        assert REFRESH_MS >= 10_000
        # The first reads are in: the change listener listens (on PostgreSQL its LISTEN is in place, so nothing
        # written from here on waits for the slow safety read) and the outbox's count has been read.
        listener = window.changes.listener
        qtbot.waitUntil(lambda: listener.wait_listening(0) and bool(window.outbox.status), timeout=10000)

        started = time.monotonic()
        _run("-c", WRITER, db_url)
        written = time.monotonic()
        qtbot.waitUntil(lambda: any(v.vehicle == "Van 42" and v.lat is not None
                                    for v in window.board_model.vehicles()), timeout=int(WAKE_S * 1000))
        assert time.monotonic() - written < WAKE_S, time.monotonic() - started
        van = next(v for v in window.board_model.vehicles() if v.vehicle == "Van 42")
        assert (round(van.lat, 4), round(van.lon, 4), van.unit) == (60.1699, 24.9384, "unit 42")

        day = simulate_day(5, datetime.now(UTC) - timedelta(minutes=5), stops=3, seed=1, window_minutes=60)
        manifest = tmp_path / "manifest.csv"
        manifest.write_text(day.manifest_csv(), encoding="utf-8")
        _run(MAIN, "--db", db_url, "manifest", "import", str(manifest))
        qtbot.waitUntil(lambda: len(window.routes.current_routes) == 1, timeout=int(WAKE_S * 1000))
        first = window.routes.current_routes[0].stops[0]
        assert first.status == "pending"

        lookup = window.show_lookup(first.order_id)
        qtbot.waitUntil(lambda: lookup.answer is not None, timeout=10000)
        assert lookup.answer.stop_status == "pending"
        waiting = window.outbox.status.get("pending", 0)

        _run(MAIN, "--db", db_url, "stop", first.order_id, "failed", "--reason", "gate locked")
        qtbot.waitUntil(lambda: window.routes.current_routes[0].stops[0].status == "failed",
                        timeout=int(WAKE_S * 1000))
        qtbot.waitUntil(lambda: lookup.answer.stop_status == "failed", timeout=int(WAKE_S * 1000))  # the card
        qtbot.waitUntil(lambda: window.outbox.status.get("pending", 0) == waiting + 1,  # its notice, queued
                        timeout=int(WAKE_S * 1000))
    finally:
        close_window(window, engine)
