"""Reading an extract: what is no extract is refused in one line; the streets and the area of one that is."""

from __future__ import annotations

import bz2
import json
import shutil
from pathlib import Path

import pytest

from fleet_desk.roads.library import BuildCancelled, RoadMapError
from fleet_desk.roads.osm import read_extract
from fleet_desk.sim.town import write_town as write_demo_town
from tests.helpers.roadmaps import DLAT, LAT0, LON0, footpaths_xml, helsinki_pbf, town_xml

NOT_OSM = r"is not an OpenStreetMap extract \(\.osm\.pbf, \.osm, \.osm\.bz2\): "


def _not_osm_files(tmp_path):
    csv = tmp_path / "stops.csv"
    csv.write_text("order,address\n1,Main Street 1\n")
    empty = tmp_path / "empty.osm.pbf"
    empty.write_bytes(b"")
    truncated = tmp_path / "cut.osm.pbf"
    truncated.write_bytes(helsinki_pbf().read_bytes()[:300_000])
    html = tmp_path / "page.osm"
    html.write_text("<html><body>Not found</body></html>")
    return {"/bin/ls": "it is a program", str(csv): "it is a text file", str(empty): "the file is empty",
            str(truncated): "it ends before its data does", str(html): "it is XML or HTML, but not OpenStreetMap's",
            str(tmp_path): "it is a folder"}


def test_files_that_are_no_extract_are_one_line_naming_them(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for path, why in _not_osm_files(tmp_path).items():
        with pytest.raises(RoadMapError) as caught:
            read_extract(Path(path), out)
        said = str(caught.value)
        assert said.startswith(path + " ") and why in said, said
        assert "\n" not in said


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(RoadMapError, match=r"nope\.osm\.pbf: no such file"):
        read_extract(tmp_path / "nope.osm.pbf", tmp_path)


def test_an_extract_without_drivable_roads_is_refused(tmp_path):
    path = tmp_path / "park.osm"
    path.write_text(footpaths_xml())
    with pytest.raises(RoadMapError, match=r"park\.osm has no roads a car can drive"):
        read_extract(path, tmp_path)


def test_helsinki_streets_and_area(tmp_path):
    extract = read_extract(helsinki_pbf(), tmp_path)
    assert extract.format == "pbf"
    assert 60.15 < extract.south < extract.north < 60.19 and 24.92 < extract.west < extract.east < 24.96
    assert 500 < extract.streets < 2000 and 100 < extract.main_roads < extract.streets
    every = json.loads((tmp_path / "streets-all.geojson").read_text())
    main = json.loads((tmp_path / "streets-main.geojson").read_text())
    assert every["type"] == "FeatureCollection" and len(every["features"]) == extract.streets
    assert len(main["features"]) == extract.main_roads
    assert {f["properties"]["highway"] for f in main["features"]} <= {
        "primary", "secondary", "tertiary", "trunk", "primary_link", "secondary_link", "tertiary_link", "trunk_link",
        "motorway", "motorway_link"}
    names = {f["properties"]["name"] for f in every["features"]}
    assert {"Mannerheimintie", "Bulevardi"} <= names
    for feature in every["features"]:
        assert feature["geometry"]["type"] == "LineString" and len(feature["geometry"]["coordinates"]) >= 2
        assert set(feature["properties"]) == {"highway", "name", "oneway", "bridge"}
        for lon, lat in feature["geometry"]["coordinates"]:
            assert extract.south - 1e-6 <= lat <= extract.north + 1e-6
            assert extract.west - 1e-6 <= lon <= extract.east + 1e-6
            assert round(lon, 6) == lon and round(lat, 6) == lat
    assert any(f["properties"]["oneway"] for f in every["features"])
    assert b", " not in (tmp_path / "streets-all.geojson").read_bytes()  # compact


def test_town_one_way_streets_and_bridges(tmp_path):
    path = tmp_path / "Riverton.osm"
    path.write_text(town_xml())
    extract = read_extract(path, tmp_path)
    assert extract.format == "osm"
    assert extract.south == pytest.approx(LAT0) and extract.west == pytest.approx(LON0)
    features = json.loads((tmp_path / "streets-all.geojson").read_text())["features"]
    bridges = [f for f in features if f["properties"]["bridge"]]
    assert len(bridges) == 4  # two bridges, a segment either side of the river each
    assert all(f["properties"]["name"] == "Bridge Street" or f["properties"]["name"] == "Church Street"
               for f in bridges)
    one_way = [f for f in features if f["properties"]["oneway"]]
    assert one_way and {f["properties"]["name"] for f in one_way} == {"Mill Street"}
    assert "Riverside Walk" not in {f["properties"]["name"] for f in features}  # a footway
    main = json.loads((tmp_path / "streets-main.geojson").read_text())["features"]
    assert {f["properties"]["name"] for f in main} == {"Grand Avenue"}
    assert all(abs(lat - LAT0) < 12 * DLAT for f in features for _, lat in f["geometry"]["coordinates"])


def test_a_compressed_extract_is_read_whatever_its_name(tmp_path):
    path = tmp_path / "riverton-download"
    path.write_bytes(bz2.compress(town_xml().encode()))
    assert read_extract(path, tmp_path).format == "osm.bz2"
    renamed = tmp_path / "helsinki.bin"
    shutil.copyfile(helsinki_pbf(), renamed)
    assert read_extract(renamed, tmp_path).streets > 500


def test_reading_stops_when_cancelled(tmp_path):
    asked = []

    def cancelled() -> bool:
        asked.append(1)
        return True

    with pytest.raises(BuildCancelled):
        read_extract(helsinki_pbf(), tmp_path, cancelled)
    assert asked


def test_the_water_is_kept_for_the_offline_map_and_does_not_widen_the_road_area(tmp_path):
    town = write_demo_town(tmp_path / "town.osm")
    extract = read_extract(tmp_path / "town.osm", tmp_path)
    water = json.loads((tmp_path / "water.geojson").read_text())["features"]
    kinds = {(f["properties"]["water"], f["geometry"]["type"]) for f in water}
    assert kinds == {("river", "LineString"), ("water", "Polygon")}
    streets = json.loads((tmp_path / "streets-all.geojson").read_text())["features"]
    assert not any("water" in f["properties"] for f in streets)
    # The river's course is what the town says it is.
    river = next(f for f in water if f["properties"]["water"] == "river")["geometry"]["coordinates"]
    assert len(river) == len(town.river) and extract.streets == len(streets)
