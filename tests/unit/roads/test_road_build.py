"""Building a road map with the real OSRM tools: put in use when done, nothing left when cancelled or failed."""

from __future__ import annotations

import os

import pytest

from fleet_desk.roads.build import BuildCancelled, build_road_map, last_words, map_name
from fleet_desk.roads.library import MapInfo, RoadMapError, current_map, roads_dir
from fleet_desk.roads.osrm_map import OsrmRoadMap
from tests.helpers.mounts import small_disk
from tests.helpers.roadmaps import helsinki_pbf, install_map, write_town


def _left_in_roads_dir() -> set[str]:
    return {p.name for p in roads_dir().iterdir()}


def test_building_helsinki_reports_progress_and_puts_it_in_use():
    reports: list[tuple[float, str]] = []
    info = build_road_map(helsinki_pbf(), lambda done, stage: reports.append((done, stage)))
    assert info.name == "Helsinki" and info.source == str(helsinki_pbf().resolve())
    assert current_map() == info
    assert info.directory.parent == roads_dir() and _left_in_roads_dir() == {info.directory.name, "current.json"}
    assert info.osrm_path.with_name("map.osrm.mldgr").is_file()
    assert info.streets_all.stat().st_size > 100_000 and info.streets_main.is_file()
    assert not list(info.directory.glob("*.log")) and not list(info.directory.glob("map.osm*"))
    assert 500_000 < info.size_bytes < 5_000_000
    assert info.area_text == "60.16-60.18 N, 24.94-24.95 E"
    fractions = [done for done, _ in reports]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    stages = list(dict.fromkeys(stage for _, stage in reports))
    assert stages[:4] == ["Reading the extract", "Extracting roads", "Partitioning", "Customizing"]
    assert MapInfo.load(info.directory) == info


def test_a_new_map_replaces_the_old_one(tmp_path):
    old = build_road_map(write_town(tmp_path))
    new = build_road_map(helsinki_pbf())
    assert current_map() == new
    assert not old.directory.exists()
    assert _left_in_roads_dir() == {new.directory.name, "current.json"}


@pytest.mark.parametrize("stage", ["Reading the extract", "Extracting roads", "Partitioning", "Customizing"])
def test_cancel_mid_build_leaves_nothing_and_the_old_map_in_use(stage):
    old = install_map("town")
    seen: list[str] = []

    def cancelled() -> bool:
        return stage in seen

    with pytest.raises(BuildCancelled):
        build_road_map(helsinki_pbf(), lambda done, said: seen.append(said), cancelled)
    assert stage in seen
    assert current_map() == old
    assert _left_in_roads_dir() == {old.directory.name, "current.json"}
    OsrmRoadMap.open(old)  # still whole


def test_a_step_that_runs_out_of_memory_names_the_step_and_leaves_nothing():
    old = install_map("town")
    with pytest.raises(RoadMapError) as caught:
        build_road_map(helsinki_pbf(), memory_limit=30 * 2**20)
    said = str(caught.value)
    assert said.startswith(f"{helsinki_pbf()}: building the road map failed at extracting roads (osrm-extract): ")
    assert "\n" not in said and "Traceback" not in said
    assert current_map() == old
    assert _left_in_roads_dir() == {old.directory.name, "current.json"}


def test_a_full_disk_is_one_line_and_leaves_the_old_map(tmp_path, monkeypatch):
    data = tmp_path / "small"
    with small_disk(data, "1200k") as disk:
        if disk is None:
            pytest.skip("this machine does not let the tests mount a tmpfs")
        monkeypatch.setenv("FLEET_DESK_DATA_DIR", str(disk))
        old = build_road_map(write_town(tmp_path))  # small: fits
        with pytest.raises(RoadMapError) as caught:
            build_road_map(helsinki_pbf())  # 0.9 MB more does not
        said = str(caught.value)
        assert "disk is full" in said and "\n" not in said, said
        assert current_map() == old
        assert _left_in_roads_dir() == {old.directory.name, "current.json"}


def test_the_last_words_of_a_tool():
    out = ("[2026-12-02T00:34:06] [info] Parsing in progress\n[2026-12-02T00:34:06] [error] Problem opening file: "
           "x.osrm.timestamp\n[2026-12-02T00:34:06] [info] RAM: peak bytes used: 10981376\n")
    assert last_words(out) == "Problem opening file: x.osrm.timestamp"
    assert last_words("terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc\n") \
        == "what():  std::bad_alloc"
    assert last_words("") == ""


def test_the_map_is_named_after_its_extract(tmp_path):
    assert map_name(tmp_path / "finland-latest.osm.pbf") == "finland-latest"
    assert map_name(tmp_path / "Riverton.osm") == "Riverton"
    assert map_name(tmp_path / "area.osm.bz2") == "area"
    assert os.sep not in map_name(tmp_path / "x")


def test_a_build_whose_process_was_killed_is_cleared_a_day_later_and_not_before(tmp_path):
    roads_dir().mkdir(parents=True)
    stale, recent = roads_dir() / ".building-stale", roads_dir() / ".building-recent"
    for folder in (stale, recent):
        folder.mkdir()
        (folder / "map.osrm.ebg").write_bytes(b"half")
    two_days_ago = stale.stat().st_mtime - 2 * 86400
    os.utime(stale, (two_days_ago, two_days_ago))
    info = build_road_map(write_town(tmp_path))
    assert _left_in_roads_dir() == {info.directory.name, "current.json", ".building-recent"}
