"""Simulated delivery days as the tests replay them: a manifest file and the track a van drove.

The product's simulator (`fleet_desk.sim.day`) makes the day; these shape it for a test: tighter
windows, a route that started minutes ago, a day written into a logger's memory.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from fleet_desk.gps import Fix, NmeaDecoder
from fleet_desk.ingest.pipeline import import_log
from fleet_desk.sim.day import DayTrouble, SimulatedDay, render_day, simulate_day
from fleet_desk.store.models import Route, Stop
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import store_manifest
from fleet_desk.tracking.rules import TrackingRules
from fleet_desk.tracking.tracker import RouteTracker
from tests.helpers.mtk_image import memory_image

#: A fixed morning, so days replayed from it are the same on every run.
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
#: This computer's timezone, as the window uses.
LOCAL_RULES = TrackingRules()


def day_with_trouble(tmp_path: Path, index: int, trouble: DayTrouble, stops: int = 8,
                     window_h: float = 2.0) -> tuple[SimulatedDay, Path, Path]:
    """A day from START with windows ``window_h`` long (tighter windows make trouble visible): day, manifest, log."""
    day = simulate_day(index, START, stops=stops, seed=3, trouble=trouble)
    for row in day.rows:
        ws = datetime.fromisoformat(row["window_start"])
        row["window_end"] = (ws + timedelta(hours=window_h)).isoformat()
    manifest = tmp_path / f"manifest{index}.csv"
    manifest.write_text(day.manifest_csv(), encoding="utf-8")
    log = tmp_path / f"van{index}.nmea"
    log.write_bytes(render_day(day, 5 * 3600))
    return day, manifest, log


def day_so_far(engine: Engine, tracker: RouteTracker, tmp_path: Path, index: int, trouble: DayTrouble,
               minutes: int) -> None:
    """A route that started ``minutes`` ago, its van's fixes up to now stored through the pipeline; ``tracker``
    (the desk's live one) carries on from them."""
    start = datetime.now(UTC) - timedelta(minutes=minutes)
    day = simulate_day(index, start, stops=8, seed=2, trouble=trouble, window_minutes=60)
    manifest = tmp_path / f"m{index}.csv"
    manifest.write_text(day.manifest_csv(), encoding="utf-8")
    store_manifest(engine, tracker, read_manifest(manifest, tz=LOCAL_RULES.timezone), LOCAL_RULES)
    log = tmp_path / f"van{index}.nmea"
    log.write_bytes(render_day(day, minutes * 60))
    import_log(engine, tracker, log, f"unit-{index}", day.vehicle)


def day_in_a_logger(tmp_path: Path, index: int = 1) -> tuple[SimulatedDay, Path, list[Fix], bytes]:
    """A simulated delivery day: its manifest file and the logger memory holding its track."""
    day = simulate_day(index, START, stops=6, seed=5)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(day.manifest_csv(), encoding="utf-8")
    fixes = NmeaDecoder().feed(render_day(day, 4 * 3600))
    return day, manifest, fixes, memory_image(fixes, size=len(memory_image(fixes)) + 0x10000)


def first_open_stop(engine: Engine, route_key: str) -> Stop:
    """The first stop of ``route_key`` not yet delivered, as a row."""
    with engine.connect() as conn:
        return conn.execute(select(Stop).join(Route).where(Route.route_key == route_key,
                                                          Stop.status == "pending").order_by(Stop.sequence)).first()
