"""An installation with a road map: `replay` and the live tracker of the depot ride on it, and a depot whose
road map cannot be opened keeps the straight line and says why."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from fleet_desk.cli import main
from fleet_desk.depot import Depot
from fleet_desk.gps.fix import Fix
from fleet_desk.roads.library import ENV_DIR, MapInfo, roads_dir, use_map
from fleet_desk.roads.osrm_map import OsrmRoadMap
from fleet_desk.settings import Settings
from fleet_desk.sim.day import render_day, simulate_day
from fleet_desk.sim.demo import demo_road_map
from fleet_desk.store import PositionWriter, ensure_device
from fleet_desk.store.models import DrivenLeg, Route
from fleet_desk.store.positions import write_batches
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import store_manifest
from tests.helpers.days import START
from tests.helpers.roadmaps import install_map, manifest_across_the_town


@pytest.fixture
def town(tmp_path, monkeypatch) -> MapInfo:
    """The demo town's road map, imported as this installation's (a road maps folder of the test's own)."""
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "data"))
    built = demo_road_map()
    target = roads_dir() / built.directory.name
    shutil.copytree(built.directory, target)
    info = MapInfo(**{**vars(built), "directory": target})
    use_map(info)
    return info


def test_replay_on_an_installation_with_a_road_map_rides_on_it(tmp_path, town, capsys):
    day = simulate_day(0, START.replace(tzinfo=UTC), stops=6, seed=2, road_map=OsrmRoadMap.open(town),
                       traffic=1.3, window_minutes=60)
    manifest, log = tmp_path / "m.csv", tmp_path / "van.nmea"
    manifest.write_text(day.manifest_csv(), encoding="utf-8")
    log.write_bytes(render_day(day, 4 * 3600))
    db = f"sqlite:///{tmp_path / 'depot.db'}"
    assert main(["--db", db, "manifest", "import", str(manifest)]) == 0
    assert main(["--db", db, "replay", str(log), "--device", "unit-1", "--vehicle", day.vehicle]) == 0
    depot = Depot.open(db, Settings())
    try:
        with depot.engine.connect() as conn:
            assert conn.execute(select(Route.eta_basis, Route.straight_legs)).one() == (f"roads ({town.name})", 0)
            legs = conn.execute(select(DrivenLeg.road_s)).scalars().all()
        assert len(legs) == 6 and all(s is not None and s > 0 for s in legs)
    finally:
        depot.close()
    capsys.readouterr()


def test_the_live_tracker_asks_the_road_map_on_its_own_thread_and_stops_it_when_the_depot_closes(tmp_path, town):
    start = datetime.now(UTC) - timedelta(minutes=15)
    day = simulate_day(1, start, stops=14, seed=2, road_map=OsrmRoadMap.open(town), window_minutes=60)
    depot = Depot.open(f"sqlite:///{tmp_path / 'depot.db'}", Settings())
    try:
        assert depot.road_info == town and depot.road_map is not None and depot.road_problem is None
        manifest = tmp_path / "m.csv"
        manifest.write_text(day.manifest_csv(), encoding="utf-8")
        store_manifest(depot.engine, depot.tracker, read_manifest(manifest, tz=depot.rules.timezone), depot.rules)
        ref = ensure_device(depot.engine, "unit-1", day.vehicle)
        # As live ingestion stores them: one fix a second, each batch through the depot's live tracker.
        for second in range(0, 15 * 60, 5):
            lat, lon, speed, course = day.unit.state_at(second)
            fix = Fix(time=start + timedelta(seconds=second), lat=lat, lon=lon, speed_mps=speed, course_deg=course,
                      hdop=1.0, sats=9, mode=3)
            with depot.engine.begin() as conn:
                write_batches(conn, [(PositionWriter(depot.engine, ref, "live", [depot.tracker]), [fix])])
        asking = [t for t in threading.enumerate() if t.name == "road-map"]
        assert len(asking) == 1
        deadline = time.monotonic() + 10
        while not depot.tracker.roads._legs and time.monotonic() < deadline:
            time.sleep(0.05)
        assert depot.tracker.roads._legs  # the legs between the remaining stops came back from the map
        with depot.engine.connect() as conn:
            assert conn.execute(select(Route.eta_basis)).scalar_one() == f"roads ({town.name})"
        # The van was followed along its street paths, against the clock: its own traffic is being learned.
        (track,) = depot.tracker._vehicles.values()
        assert track.follower.leg is not None and track.follower.traffic(None) != 1.0
    finally:
        depot.close()
    assert not asking[0].is_alive()


def test_a_road_map_that_cannot_be_opened_leaves_the_straight_line_and_says_why(tmp_path, town):
    for part in Path(town.directory).glob("map.osrm.*"):
        part.unlink()
    depot = Depot.open(f"sqlite:///{tmp_path / 'depot.db'}", Settings())
    try:
        assert depot.road_map is None and depot.road_info is None
        assert depot.road_problem is not None and "\n" not in depot.road_problem
        assert depot.tracker.roads.basis == "straight line"
    finally:
        depot.close()


def test_a_manifest_with_stops_the_road_map_cannot_route_is_imported_and_each_is_named(tmp_path, monkeypatch,
                                                                                       capsys):
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "data"))
    install_map("town")
    manifest = manifest_across_the_town(tmp_path / "m.csv")
    assert main(["--db", f"sqlite:///{tmp_path / 'depot.db'}", "manifest", "import", str(manifest)]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "created new database" not in line]
    assert [line.split(": ")[1] for line in err] == ["stop 2 of R1 (ORD-2, 2 Mill Street)",
                                                    "stop 4 of R1 (ORD-4, 4 Mill Street)"]
    assert "not connected" in err[0] and "outside the road map's area (Riverton" in err[1]
