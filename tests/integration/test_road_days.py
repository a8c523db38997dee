"""A delivery day driven on the demo town's real road map (OSRM, built from the town's OpenStreetMap XML).

The van's GPS track, decoded from its NMEA, must stay on the streets the map
has, cross the river only on its two bridges, and arrive later than the
free-flow plan when the traffic is slower than free flow.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from fleet_desk.gps import NmeaDecoder
from fleet_desk.roads.osrm_map import OsrmRoadMap
from fleet_desk.sim.day import DayTrouble, render_day, simulate_day
from fleet_desk.sim.demo import demo_road_map
from fleet_desk.sim.town import write_town
from fleet_desk.sim.vans import distance_m

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
TRAFFIC = 1.4


@pytest.fixture(scope="module")
def town_map(tmp_path_factory):
    """The demo town's road map (built once into the test home's cache) and the town's geometry."""
    info = demo_road_map()
    town = write_town(tmp_path_factory.mktemp("town") / "town.osm")
    return info, OsrmRoadMap.open(info), town


def _street_segments(info) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Every street segment the road map draws, as ((lat, lon), (lat, lon))."""
    data = json.loads(info.streets_all.read_text(encoding="utf-8"))
    segments = []
    for feature in data["features"]:
        coords = feature["geometry"]["coordinates"]
        segments += [((a[1], a[0]), (b[1], b[0])) for a, b in zip(coords, coords[1:], strict=False)]
    return segments


def _metres_to_nearest(points, segments, centre) -> np.ndarray:
    """For each (lat, lon) point, metres to the nearest segment (flat Earth round ``centre``)."""
    k = math.radians(1) * 6_371_000
    cos = math.cos(math.radians(centre[0]))

    def xy(lat, lon):
        return (np.asarray(lon) - centre[1]) * k * cos, (np.asarray(lat) - centre[0]) * k

    ax, ay = xy([s[0][0] for s in segments], [s[0][1] for s in segments])
    bx, by = xy([s[1][0] for s in segments], [s[1][1] for s in segments])
    px, py = xy([p[0] for p in points], [p[1] for p in points])
    dx, dy = bx - ax, by - ay
    length2 = np.maximum(dx * dx + dy * dy, 1e-9)
    out = np.empty(len(points))
    for start in range(0, len(points), 500):
        qx, qy = px[start:start + 500, None], py[start:start + 500, None]
        t = np.clip(((qx - ax) * dx + (qy - ay) * dy) / length2, 0.0, 1.0)
        out[start:start + 500] = np.hypot(qx - (ax + t * dx), qy - (ay + t * dy)).min(axis=1)
    return out


def _road_day(road_map, traffic: float, trouble: DayTrouble | None = None):
    return simulate_day(2, START, stops=12, seed=4, trouble=trouble, road_map=road_map, traffic=traffic)


def test_the_town_map_has_its_streets_and_two_bridges(town_map):
    info, road_map, town = town_map
    assert town.nodes > 1000 and town.streets > 90 and len(town.bridges) == 2
    assert road_map.problem(town.centre) is None
    streets = json.loads(info.streets_all.read_text(encoding="utf-8"))["features"]
    assert sum(1 for f in streets if f["properties"]["bridge"]) == 2
    assert {f["properties"]["name"] for f in streets if f["properties"]["bridge"]} == {b.name for b in town.bridges}
    # Across the river, the road goes round by a bridge: far longer than the crow flies.
    south, north = town.point(-300, 500), town.point(-300, 1250)
    leg = road_map.legs([south, north])[0]
    assert leg is not None and leg.metres > 3 * distance_m(south, north)


def test_the_van_stays_on_the_streets_and_crosses_only_on_bridges(town_map):
    info, road_map, town = town_map
    day = _road_day(road_map, TRAFFIC, DayTrouble(noise_m=3.0))
    seconds = int((day.arrivals[-1] - START).total_seconds()) + 1800
    fixes = NmeaDecoder().feed(render_day(day, seconds))
    assert len(fixes) > 0.95 * seconds
    points = [(f.lat, f.lon) for f in fixes]

    away = _metres_to_nearest(points, _street_segments(info), town.centre)
    worst = int(np.argmax(away))
    assert away.max() < 30, f"fix {worst} at {points[worst]} is {away.max():.0f} m from any street"

    crossings = [(a, b) for a, b in zip(points, points[1:], strict=False) if town.bank(a) != town.bank(b)]
    assert len(crossings) >= 2, "this day's round crosses the river and comes back"
    for a, b in crossings:
        assert min(town.nearest_bridge_m(a), town.nearest_bridge_m(b)) < 40, f"crossed the river at {a}"
    # ... and the straight line from stop to stop would have crossed it elsewhere.
    stops = [town.centre, *((float(r["lat"]), float(r["lon"])) for r in day.rows)]
    assert any(town.bank(a) != town.bank(b) for a, b in zip(stops, stops[1:], strict=False))

    # Every stop is on a street, and the van reaches each one when the day says it does.
    assert _metres_to_nearest(stops, _street_segments(info), town.centre).max() < 5
    for row, arrival in zip(day.rows, day.arrivals, strict=True):
        at = next(f for f in fixes if f.time >= arrival)
        assert distance_m((at.lat, at.lon), (float(row["lat"]), float(row["lon"]))) < 20


def test_arrivals_in_traffic_are_later_than_free_flow_by_the_driving_time(town_map):
    _, road_map, _ = town_map
    free, slow = _road_day(road_map, 1.0), _road_day(road_map, TRAFFIC)
    assert [r["lat"] for r in free.rows] == [r["lat"] for r in slow.rows]  # the same stops
    stops = [free.unit.waypoints[0], *((float(r["lat"]), float(r["lon"])) for r in free.rows)]
    driving = 0.0
    for k, leg in enumerate(road_map.legs(stops)):
        assert leg is not None
        driving += leg.seconds
        late = (slow.arrivals[k] - free.arrivals[k]).total_seconds()
        assert late == pytest.approx((TRAFFIC - 1) * driving, rel=0.02, abs=5)
    # The plan is at free flow: the windows of the last stops close before the van in traffic gets there.
    last = slow.rows[-1]
    assert slow.arrivals[-1] > datetime.fromisoformat(last["window_start"]) + timedelta(minutes=45)
    assert free.arrivals[-1] < datetime.fromisoformat(last["window_end"])
