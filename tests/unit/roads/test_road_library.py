"""Which road map is in use, and what a built map says of itself."""

from __future__ import annotations

import json

import pytest

from fleet_desk.roads.library import MapInfo, RoadMapError, current_map, roads_dir, use_map


def _info(folder_name: str = "Town-1", south: float = 60.15, west: float = 24.9, north: float = 60.18,
          east: float = 24.97) -> MapInfo:
    directory = roads_dir() / folder_name
    directory.mkdir(parents=True)
    info = MapInfo("Town", "/extracts/town.osm.pbf", south, west, north, east, 1_700_000_000_000, 1234, 56, directory)
    (directory / "map.json").write_text(json.dumps(info.to_json()), encoding="utf-8")
    return info


def test_roads_dir_follows_the_data_dir(tmp_path):
    assert roads_dir() == tmp_path / "data" / "roads"


def test_area_text_and_covers():
    info = _info()
    assert info.area_text == "60.15-60.18 N, 24.90-24.97 E"
    assert info.covers(60.16, 24.95)
    assert not info.covers(60.19, 24.95)
    assert not info.covers(60.16, 24.89)
    assert info.osrm_path == info.directory / "map.osrm"
    assert info.streets_main.name == "streets-main.geojson" and info.streets_all.name == "streets-all.geojson"


def test_area_text_south_and_west_of_zero():
    assert _info("Lima-1", -12.2, -77.2, -11.9, -76.9).area_text == "11.90-12.20 S, 76.90-77.20 W"
    assert _info("Accra-1", -0.5, -0.3, 0.5, 0.2).area_text == "0.50 S-0.50 N, 0.30 W-0.20 E"


def test_no_map_in_use_is_none():
    assert current_map() is None


def test_use_map_then_current_map_reads_it_back():
    info = _info()
    use_map(info)
    assert current_map() == info
    assert json.loads((roads_dir() / "current.json").read_text()) == {"map": "Town-1"}
    assert [p.name for p in roads_dir().iterdir() if p.name.startswith(".")] == []  # nothing half-written left


def test_a_map_outside_the_roads_dir_is_refused(tmp_path):
    elsewhere = MapInfo("X", "x", 0, 0, 1, 1, 0, 0, 0, tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="not a road map folder"):
        use_map(elsewhere)


@pytest.mark.parametrize("text", ["{not json", '{"map": "../../etc"}', '{"map": 3}', "[]"])
def test_an_unreadable_current_json_is_one_line_naming_it(text):
    roads_dir().mkdir(parents=True)
    (roads_dir() / "current.json").write_text(text)
    with pytest.raises(RoadMapError, match=r"current\.json: .*import one with `fleet-desk roads import FILE`"):
        current_map()


def test_a_map_in_use_that_is_gone_or_damaged_says_so():
    info = _info()
    use_map(info)
    (info.directory / "map.json").write_text('{"name": "Town"}')
    with pytest.raises(RoadMapError, match=r"map\.json: the road map's description is damaged"):
        current_map()
    (info.directory / "map.json").unlink()
    with pytest.raises(RoadMapError, match=r"map\.json: the road map's description is missing"):
        current_map()
