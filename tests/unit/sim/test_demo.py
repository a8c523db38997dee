"""The demo's road map (built once, kept in the cache folder, never the installation's map) and its vans on
the town's streets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fleet_desk.roads.library import current_map, roads_dir
from fleet_desk.sim.demo import DemoFleet, demo_maps_dir, demo_road_map
from fleet_desk.sim.vans import distance_m


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEET_DESK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("FLEET_DESK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_built_once_then_opened_from_the_cache(own_cache):
    first = demo_road_map()
    assert first.directory.parent == demo_maps_dir() == own_cache / "cache" / "demo-roads"
    assert first.osrm_path.with_name("map.osrm.mldgr").is_file() and first.streets_all.is_file()
    assert first.covers(45.7485, 4.8467) and first.streets > 90
    again = demo_road_map()
    assert again == first  # the same folder and build, not rebuilt
    assert [p.name for p in demo_maps_dir().iterdir()] == [first.directory.name]  # no half-builds left


def test_never_made_the_installation_s_road_map(own_cache):
    demo_road_map()
    assert current_map() is None
    assert not roads_dir().exists() or not any(roads_dir().iterdir())


def test_a_damaged_cached_map_is_built_again(own_cache):
    first = demo_road_map()
    (first.directory / "map.json").write_text("{", encoding="utf-8")
    again = demo_road_map()
    assert again.directory == first.directory and again.built_ms >= first.built_ms
    assert again.osrm_path.with_name("map.osrm.mldgr").is_file()


def test_an_unwritable_cache_is_one_line(own_cache):
    blocker = own_cache / "cache"
    blocker.write_text("not a folder", encoding="utf-8")
    from fleet_desk.roads.library import RoadMapError

    with pytest.raises(RoadMapError, match="demo-roads"):
        demo_road_map()


def test_the_demo_vans_drive_the_town_streets(own_cache):
    from fleet_desk.roads.osrm_map import OsrmRoadMap

    fleet = DemoFleet(vehicles=3)
    try:
        assert fleet.road_map is not None and fleet.road_problem is None
        streets = OsrmRoadMap.open(fleet.road_map)
        for day in fleet.days:
            assert len(day.unit.waypoints) > 3 * len(day.rows)
            for t in range(0, 4 * 3600, 600):
                lat, lon, _, _ = day.unit.state_at(t)
                snapped = streets.path((lat, lon), (lat, lon))
                assert snapped is not None and distance_m(snapped.points[0], (lat, lon)) < 5
    finally:
        fleet.stop()


def test_without_roads_the_demo_vans_drive_as_before(own_cache):
    fleet = DemoFleet(vehicles=2, roads=False)
    try:
        assert fleet.road_map is None
        assert len(fleet.days[0].unit.waypoints) == 2 * (len(fleet.days[0].rows) + 1) + 1  # corners, stops, depot
        assert not Path(os.environ["FLEET_DESK_CACHE_DIR"]).exists()
    finally:
        fleet.stop()
