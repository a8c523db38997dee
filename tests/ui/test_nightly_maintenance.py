"""The app's nightly maintenance: at 02:00 at the depot (a clock set to a night 40 days after a replayed day) the
window thins old positions off the GUI thread and says what it did in the message bar, once a night; a night
another desk (a process of its own) has claimed, it does nothing; the window starts its nightly look itself.
A real SQLite file; the depot's time zone is Europe/Paris.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

from fleet_desk.ingest.pipeline import import_log
from fleet_desk.settings import Settings
from fleet_desk.sim.day import DayTrouble
from fleet_desk.store.models import Change, Position
from fleet_desk.store.retention import MAINTENANCE
from fleet_desk.times import to_ms
from fleet_desk.tracking import RouteTracker, TrackingRules
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import store_manifest
from fleet_desk.ui.maintenance import NightlyMaintenance
from tests.helpers.days import START, day_with_trouble
from tests.helpers.desk import CLOSED_PORT_TILES, close_window, open_window
from tests.helpers.paths import ROOT

PARIS = ZoneInfo("Europe/Paris")


def _positions(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Position)) or 0


def _runs(engine) -> list[str | None]:
    with engine.connect() as conn:
        return list(conn.scalars(select(Change.desk).where(Change.kind == MAINTENANCE).order_by(Change.id)))


def _night(days_after: int, hour: int, minute: int) -> int:
    day = START.astimezone(PARIS).date()
    return to_ms(datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)) + days_after * 86_400_000


def _claim_as_another_desk(url: str, desk: str, at_ms: int) -> None:
    """Another desk's process claims the night (the claim script of tests/integration/test_cli_desks.py)."""
    proc = subprocess.run([sys.executable, "-m", "tests.integration.test_cli_desks", "claim", url, desk, str(at_ms)],
                          cwd=ROOT, input="go\n", capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.split() == ["ready", "won"], proc.stderr[-2000:]


def test_the_window_thins_old_positions_once_a_night_unless_another_desk_did(qtbot: QtBot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'depot.db'}"
    settings = Settings(tile_url=CLOSED_PORT_TILES, tile_attribution="test tiles", desk_name="desk-1",
                        depot_timezone="Europe/Paris", keep_full_days=30)
    window, engine = open_window(qtbot, url, settings)
    try:
        assert window.maintenance is not None and window.maintenance._timer.isActive()  # the window's own looks
        rules = TrackingRules(timezone=UTC)
        day, manifest, log = day_with_trouble(tmp_path, 0, DayTrouble(long_stops={2: 900}))
        tracker = RouteTracker(rules, clock=None)
        store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), rules)
        import_log(engine, tracker, log, "unit-1", day.vehicle)
        stored = _positions(engine)

        now = {"ms": _night(40, 1, 50)}  # 01:50, 40 days on: not yet the night, and a run a day old
        nightly = NightlyMaintenance(window.depot, window, clock=lambda: now["ms"], first_look_ms=0)
        ran: list = []
        nightly.ran.connect(ran.append)
        with engine.begin() as conn:  # yesterday's run, 23 h ago
            conn.execute(Change.__table__.insert().values(kind=MAINTENANCE, ref_id=0, at_ms=_night(39, 2, 50),
                                                          desk="desk-1"))
        nightly.look()
        qtbot.waitUntil(lambda: not nightly.running, timeout=10000)
        assert ran == [] and _positions(engine) == stored

        now["ms"] = _night(40, 2, 5)  # 02:05 at the depot: due
        nightly.look()
        assert nightly.running  # off the GUI thread
        qtbot.waitUntil(lambda: len(ran) == 1, timeout=60000)
        result = ran[0]
        assert result.thinned.removed > 0 and _positions(engine) == stored - result.thinned.removed
        said = [t for t in window.message_bar.texts() if t.startswith("Nightly maintenance: ")]
        assert len(said) == 1 and f"removed {result.thinned.removed:,} of {stored:,}" in said[0]
        assert "\n" not in said[0]
        assert _runs(engine) == ["desk-1", "desk-1"]

        now["ms"] = _night(40, 3, 0)  # later the same night: not again
        nightly.look()
        qtbot.waitUntil(lambda: not nightly.running, timeout=10000)
        assert len(ran) == 1 and _runs(engine) == ["desk-1", "desk-1"]

        _claim_as_another_desk(url, "desk-2", _night(41, 2, 1))  # the next night desk-2 is first
        now["ms"] = _night(41, 2, 6)
        nightly.look()
        qtbot.waitUntil(lambda: not nightly.running, timeout=10000)
        assert len(ran) == 1 and _runs(engine) == ["desk-1", "desk-1", "desk-2"]
        assert len([t for t in window.message_bar.texts() if t.startswith("Nightly maintenance: ")]) == 1
        nightly.stop()
    finally:
        close_window(window, engine)
