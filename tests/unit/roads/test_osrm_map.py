"""The road map's answers on real OSRM graphs: central Helsinki, and Riverton with its river and its island."""

from __future__ import annotations

import math
import threading

import pytest

from fleet_desk.roads.library import MapInfo, RoadMapError, roads_dir
from fleet_desk.roads.osrm_map import OsrmRoadMap, open_current
from fleet_desk.tracking.roads import Leg, RoadMap
from tests.helpers.roadmaps import ISLAND, OFF_ROAD, OUTSIDE, TOWN_EAST, TOWN_WEST, install_map, road_map

# Central Helsinki (the extract covers 60.164-60.179 N, 24.935-24.953 E): the railway station, the Market
# Square, Kamppi, the Esplanadi, Bulevardi, the Senate Square
STATION = (60.1710, 24.9414)
MARKET = (60.1675, 24.9525)
KAMPPI = (60.1688, 24.9365)
ESPLANADI = (60.1676, 24.9460)
BULEVARDI = (60.1655, 24.9390)
SENATE = (60.1694, 24.9523)
HELSINKI = [STATION, MARKET, KAMPPI, ESPLANADI, BULEVARDI, SENATE]


def straight_m(a, b):
    """Great-circle metres between two (lat, lon) points."""
    (la1, lo1), (la2, lo2) = (map(math.radians, a), map(math.radians, b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


@pytest.fixture(scope="module")
def helsinki():
    return road_map("helsinki")


@pytest.fixture(scope="module")
def town():
    return road_map("town")


def test_it_is_the_road_map_tracking_asks(helsinki):
    road: RoadMap = helsinki
    assert road.name == "Helsinki"
    assert helsinki.info.name == "Helsinki"


def test_helsinki_legs_are_longer_than_the_straight_line_at_city_speeds(helsinki):
    legs = helsinki.legs(HELSINKI)
    assert len(legs) == len(HELSINKI) - 1 and all(isinstance(leg, Leg) for leg in legs)
    for (a, b), leg in zip(zip(HELSINKI, HELSINKI[1:], strict=False), legs, strict=True):
        assert leg is not None
        assert leg.metres >= straight_m(a, b) - 50  # snapping to the street may shorten it a little
        kmh = leg.metres / leg.seconds * 3.6
        assert 8 < kmh < 60, (a, b, leg)
    straight = sum(straight_m(a, b) for a, b in zip(HELSINKI, HELSINKI[1:], strict=False))
    assert sum(leg.metres for leg in legs if leg) > 1.2 * straight


def test_each_leg_as_its_own_request_agrees(helsinki):
    together = helsinki.legs(HELSINKI)
    alone = [helsinki.legs([a, b])[0] for a, b in zip(HELSINKI, HELSINKI[1:], strict=False)]
    assert None not in together and None not in alone
    assert [x for leg in together for x in leg] == pytest.approx([x for leg in alone for x in leg])


def test_fewer_than_two_points_have_no_legs(helsinki):
    assert helsinki.legs([]) == [] and helsinki.legs([STATION]) == []


def test_across_the_river_goes_by_a_bridge(town):
    [leg] = town.legs([TOWN_WEST, TOWN_EAST])
    assert leg is not None
    assert leg.metres > 1.4 * straight_m(TOWN_WEST, TOWN_EAST)  # the avenue's river crossing is no bridge
    assert 60 < leg.seconds < 600


def test_the_island_and_points_off_the_map_are_none_and_the_other_legs_come_back(town):
    legs = town.legs([TOWN_WEST, TOWN_EAST, ISLAND, TOWN_EAST, TOWN_WEST, OUTSIDE, TOWN_WEST, OFF_ROAD, TOWN_EAST,
                      TOWN_WEST])
    routable = [leg is not None for leg in legs]
    assert routable == [True, False, False, True, False, False, False, False, True]
    assert legs[0] is not None and legs[8] is not None and legs[3] is not None
    assert legs[3].metres == pytest.approx(legs[0].metres, rel=0.2)  # east to west, back across a bridge


def test_problem_says_why(town, helsinki):
    assert town.problem(OUTSIDE) == "outside the road map's area (Riverton, 45.00-45.02 N, 5.00-5.04 E)"
    assert town.problem(OFF_ROAD) is not None and town.problem(OFF_ROAD).endswith(" m from the nearest road")
    assert town.problem(TOWN_WEST) is None
    assert helsinki.problem((60.2, 25.0)).startswith("outside the road map's area (Helsinki, 60.16-60.18 N")
    assert helsinki.problem(STATION) is None


def test_a_path_follows_the_streets_with_cumulative_time_and_distance(helsinki):
    path = helsinki.path(STATION, MARKET)
    [leg] = helsinki.legs([STATION, MARKET])
    assert path is not None and leg is not None
    assert len(path.points) == len(path.seconds) == len(path.metres) > 5
    assert path.seconds[0] == 0 and path.metres[0] == 0
    assert path.seconds == sorted(path.seconds) and path.metres == sorted(path.metres)
    assert path.seconds[-1] == pytest.approx(leg.seconds) and path.metres[-1] == pytest.approx(leg.metres)
    assert straight_m(path.points[0], STATION) < 100 and straight_m(path.points[-1], MARKET) < 100
    assert all(helsinki.info.covers(lat, lon) for lat, lon in path.points)


def test_a_route_path_through_every_stop_adds_up_its_legs(helsinki, town):
    path = helsinki.route_path(HELSINKI)
    legs = helsinki.legs(HELSINKI)
    assert path is not None
    assert path.seconds[-1] == pytest.approx(sum(leg.seconds for leg in legs if leg))
    assert path.metres[-1] == pytest.approx(sum(leg.metres for leg in legs if leg))
    assert town.route_path([TOWN_WEST, ISLAND]) is None
    assert town.path(TOWN_WEST, OUTSIDE) is None


def test_several_threads_may_ask_at_once(helsinki):
    expected = helsinki.legs(HELSINKI)
    results: list[object] = []

    def ask() -> None:
        for _ in range(20):
            results.append(helsinki.legs(HELSINKI) == expected)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [True] * 80


def test_open_current_opens_the_map_in_use_or_none():
    assert open_current() is None
    info = install_map("town")
    current = open_current()
    assert current is not None and current.name == "Riverton" and current.info == info
    assert current.legs([TOWN_WEST, TOWN_EAST])[0] is not None


def test_a_map_with_missing_files_is_one_line_saying_to_import_again():
    info = install_map("town")
    info.osrm_path.with_name("map.osrm.mldgr").unlink()
    with pytest.raises(RoadMapError, match=r"the road map Riverton is incomplete \(map\.osrm\.mldgr missing\); "
                                           r"import one with `fleet-desk roads import FILE` again"):
        open_current()


def test_a_damaged_graph_is_one_line_saying_to_import_again():
    info = install_map("town")
    info.osrm_path.with_name("map.osrm.partition").write_bytes(b"garbage" * 10)
    with pytest.raises(RoadMapError, match=r"Riverton-\d+: the road map Riverton cannot be opened .*again"):
        OsrmRoadMap.open(MapInfo.load(info.directory))
    assert roads_dir() in info.directory.parents
