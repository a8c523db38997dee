"""The demo town's road map, built once for the simulator's tests (into the test home's cache folder)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def town_road_map():
    """The demo town's road map, opened: (MapInfo, OsrmRoadMap)."""
    from fleet_desk.roads.osrm_map import OsrmRoadMap
    from fleet_desk.sim.demo import demo_road_map

    info = demo_road_map()
    return info, OsrmRoadMap.open(info)
