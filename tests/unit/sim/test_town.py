"""The demo town written as OpenStreetMap XML: the same every time, streets a car profile reads, one river,
two bridges."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

import osmium

from fleet_desk.sim.day import STREETS
from fleet_desk.sim.town import BLOCK_M, RING_M, river_north_m, write_town
from fleet_desk.sim.vans import DEPOT, distance_m


def _ways(path):
    return [([n.ref for n in w.nodes], dict(w.tags)) for w in osmium.FileProcessor(str(path), osmium.osm.WAY)]


def test_the_town_is_the_same_bytes_every_time(tmp_path):
    a, b = write_town(tmp_path / "a.osm"), write_town(tmp_path / "b.osm")
    assert a.path.read_bytes() == b.path.read_bytes()
    assert (a.nodes, a.ways, a.streets) == (b.nodes, b.ways, b.streets)


def test_osm_xml_version_0_6_with_every_node_before_the_ways_that_use_it(tmp_path):
    town = write_town(tmp_path / "town.osm")
    root = ET.parse(town.path).getroot()
    assert root.tag == "osm" and root.get("version") == "0.6"
    kinds = [child.tag for child in root]
    assert kinds.index("way") == kinds.count("node")  # all nodes first
    ids = {n.get("id") for n in root.iter("node")}
    assert len(ids) == town.nodes and all(n.get("lat") and n.get("lon") for n in root.iter("node"))
    assert all(nd.get("ref") in ids for nd in root.iter("nd"))
    assert len(root.findall("way")) == town.ways


def test_about_8_km_square_round_the_depot(tmp_path):
    town = write_town(tmp_path / "town.osm")
    assert town.centre == DEPOT
    south_west, north_east = town.bounds
    assert 8000 < distance_m(south_west, (south_west[0], north_east[1])) < 10000
    assert south_west[0] < DEPOT[0] < north_east[0] and south_west[1] < DEPOT[1] < north_east[1]


def test_streets_avenues_ring_and_names(tmp_path):
    town = write_town(tmp_path / "town.osm")
    streets = [(nodes, tags) for nodes, tags in _ways(town.path) if "highway" in tags]
    kinds = Counter(tags["highway"] for _, tags in streets)
    assert kinds["residential"] > 40 and kinds["secondary"] > 10 and kinds["primary"] >= 3
    assert kinds["trunk"] == 2  # the ring boulevard, one half round each bank
    one_way = [nodes for nodes, tags in streets if tags.get("oneway") == "yes"]
    assert len(one_way) > 0.4 * len(streets)
    assert all(tags.get("name") for _, tags in streets)
    names = {tags["name"] for _, tags in streets}
    assert sum(1 for s in STREETS if s in names) >= 8
    assert town.streets == len(streets)


def test_one_way_streets_alternate_directions(tmp_path):
    town = write_town(tmp_path / "town.osm")
    locations = {n.id: (n.location.lat, n.location.lon) for n in osmium.FileProcessor(str(town.path),
                                                                                      osmium.osm.NODE)}
    eastward = westward = 0
    for nodes, tags in _ways(town.path):
        if tags.get("oneway") != "yes":
            continue
        first, last = locations[nodes[0]], locations[nodes[-1]]
        if abs(first[0] - last[0]) < 1e-6:  # an east-west street
            eastward += last[1] > first[1]
            westward += last[1] < first[1]
    assert eastward > 5 and westward > 5 and abs(eastward - westward) <= 1


def test_a_river_with_water_and_only_two_bridges(tmp_path):
    town = write_town(tmp_path / "town.osm")
    ways = _ways(town.path)
    bridges = [tags for _, tags in ways if tags.get("bridge") == "yes"]
    assert len(bridges) == 2 and all(t["layer"] == "1" and "highway" in t for t in bridges)
    assert [b.name for b in town.bridges] == [t["name"] for t in bridges]
    assert sum(1 for _, t in ways if t.get("waterway") == "river") == 1
    water = [nodes for nodes, t in ways if t.get("natural") == "water"]
    assert len(water) == 1 and water[0][0] == water[0][-1]  # a closed area
    # The river splits the town: a bridge's two ends are on either bank, its middle on the river.
    for bridge in town.bridges:
        assert town.bank(bridge.south) == -1 and town.bank(bridge.north) == 1
        east, north = town.local_m(bridge.middle)
        assert abs(north - river_north_m(east)) < 1
    assert town.bank(DEPOT) == -1 and town.bank(town.point(0, 2000)) == 1
    assert -RING_M < min(town.local_m(b.middle)[0] for b in town.bridges) < 0 < \
        max(town.local_m(b.middle)[0] for b in town.bridges) < RING_M


def test_the_river_flows_between_the_quays(tmp_path):
    for east in range(-RING_M, RING_M + 1, BLOCK_M // 5):
        assert 750 + 30 < river_north_m(east) - 30 and river_north_m(east) + 30 < 1000 - 15
