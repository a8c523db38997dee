"""What the dispatcher is told when a manifest comes in on an installation with a road map: each stop the map
cannot route, named, with why (Riverton, the test town: a river with two bridges and an island of streets
connected to nothing)."""

from __future__ import annotations

from datetime import UTC, datetime

from fleet_desk.tracking.manifest import ManifestStop
from fleet_desk.tracking.road_check import CUT_OFF, MAX_LINES, unroutable
from tests.helpers.roadmaps import ISLAND, OFF_ROAD, OUTSIDE, TOWN_EAST, TOWN_WEST, road_map

WHEN = datetime(2026, 11, 20, 9, tzinfo=UTC)


def _stop(route: str, sequence: int, point: tuple[float, float]) -> ManifestStop:
    return ManifestStop(line=sequence + 1, route_id=route, vehicle="Van 1", sequence=sequence,
                        order_id=f"{route}-{sequence}", tracking_number=f"T{route}{sequence}",
                        customer_name="A. Client", address=f"{sequence} Mill Street", lat=point[0], lon=point[1],
                        window_start=WHEN, window_end=WHEN)


def test_stops_outside_the_map_far_from_its_roads_or_cut_off_are_named_with_why():
    town = road_map("town")
    stops = [_stop("R1", 1, TOWN_EAST), _stop("R1", 2, ISLAND), _stop("R1", 3, TOWN_WEST),
             _stop("R1", 4, OUTSIDE), _stop("R1", 5, OFF_ROAD), _stop("R2", 1, TOWN_EAST)]
    lines = unroutable(stops, town, TOWN_WEST)
    assert [line.split(":")[0] for line in lines] == [
        "stop 2 of R1 (R1-2, 2 Mill Street)", "stop 4 of R1 (R1-4, 4 Mill Street)",
        "stop 5 of R1 (R1-5, 5 Mill Street)"]
    assert CUT_OFF in lines[0] and "outside the road map's area" in lines[1] and "from the nearest road" in lines[2]
    assert all(line.endswith("its legs use the straight line") for line in lines)


def test_a_depot_outside_the_map_is_said_first_and_a_long_list_is_cut_short():
    town = road_map("town")
    lines = unroutable([_stop("R1", i, OUTSIDE) for i in range(1, 30)], town, OUTSIDE)
    assert lines[0].startswith("the depot (46.00000, 6.00000): outside the road map's area")
    more = 29 - (MAX_LINES - 1)
    assert len(lines) == MAX_LINES + 1 and lines[-1] == f"... and {more} more stops the road map cannot route"
    assert unroutable([_stop("R1", 1, TOWN_EAST), _stop("R1", 2, TOWN_WEST)], town, TOWN_WEST) == []
