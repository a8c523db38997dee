"""Simulated delivery days: without a road map as they always were; with one, on its streets, planned at
free-flow times, with the day's trouble on top."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fleet_desk.sim.day import DayTrouble, simulate_day
from fleet_desk.sim.vans import distance_m, offset

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _stops(day):
    return [(float(r["lat"]), float(r["lon"])) for r in day.rows]


def test_without_a_road_map_the_day_is_the_one_it_always_was():
    """Pinned from the simulator before road maps: the straight-line benchmark's days must not move."""
    day = simulate_day(0, START, stops=12, seed=11, trouble=DayTrouble(late_departure_s=600))
    assert (day.rows[0]["lat"], day.rows[0]["lon"]) == ("45.740094", "4.870082")
    assert day.rows[-1]["window_start"] == "2026-11-20T09:00:00+00:00"
    assert day.arrivals[-1].isoformat() == "2026-11-20T10:01:38.559520+00:00"
    lat, lon, _, _ = day.unit.state_at(3000)
    assert (round(lat, 6), round(lon, 6)) == (45.726509, 4.792446)


def test_stops_are_on_the_map_streets_and_the_van_reaches_them(town_road_map):
    _, road_map = town_road_map
    day = simulate_day(1, START, stops=10, seed=2, road_map=road_map)
    assert len(day.rows) == len(day.arrivals) == 10
    for stop, arrival in zip(_stops(day), day.arrivals, strict=True):
        assert road_map.problem(stop) is None
        snapped = road_map.path(stop, stop)
        assert snapped is not None and distance_m(snapped.points[0], stop) < 2  # already on a street
        lat, lon, speed, _ = day.unit.state_at((arrival - START).total_seconds() + 1)
        assert distance_m((lat, lon), stop) < 1 and speed == 0.0  # there, serving the customer
    assert day.arrivals == sorted(day.arrivals)
    assert len(day.unit.waypoints) > 5 * len(day.rows)  # street vertices, not stop to stop


def test_free_flow_windows_hold_the_arrivals_of_an_undisturbed_van(town_road_map):
    _, road_map = town_road_map
    day = simulate_day(3, START, stops=12, seed=2, road_map=road_map, traffic=1.0)
    for row, arrival in zip(day.rows, day.arrivals, strict=True):
        assert datetime.fromisoformat(row["window_start"]) <= arrival <= datetime.fromisoformat(row["window_end"])


def test_the_day_s_trouble_moves_the_arrivals_it_should(town_road_map):
    _, road_map = town_road_map
    plain = simulate_day(4, START, stops=8, seed=9, road_map=road_map)

    late = simulate_day(4, START, stops=8, seed=9, road_map=road_map, trouble=DayTrouble(late_departure_s=900))
    assert [(b - a).total_seconds() for a, b in zip(plain.arrivals, late.arrivals, strict=True)] == \
        pytest.approx([900] * 8)

    long = simulate_day(4, START, stops=8, seed=9, road_map=road_map, trouble=DayTrouble(long_stops={3: 1200}))
    shifts = [(b - a).total_seconds() for a, b in zip(plain.arrivals, long.arrivals, strict=True)]
    assert shifts == pytest.approx([0] * 4 + [1200] * 4)

    slow = simulate_day(4, START, stops=8, seed=9, road_map=road_map, trouble=DayTrouble(slow_legs={2: 0.5}))
    leg = road_map.legs(_stops(plain)[1:3])[0]
    shifts = [(b - a).total_seconds() for a, b in zip(plain.arrivals, slow.arrivals, strict=True)]
    assert shifts[:2] == pytest.approx([0, 0])
    assert shifts[2:] == pytest.approx([leg.seconds] * 6, rel=0.01)  # leg 2 (stop 2 to 3) took twice as long

    assert [r["window_start"] for r in slow.rows] == [r["window_start"] for r in plain.rows]  # the plan is the plan


def test_a_depot_the_map_cannot_route_is_named(town_road_map):
    _, road_map = town_road_map
    far = offset(48.8566, 2.3522, 0, 0)  # Paris: not the demo town
    with pytest.raises(ValueError, match="48.85660, 2.35220"):
        simulate_day(0, START, depot=far, road_map=road_map)


def test_traffic_stretches_the_driving_not_the_stops(town_road_map):
    _, road_map = town_road_map
    free = simulate_day(5, START, stops=6, seed=1, road_map=road_map, traffic=1.0)
    slow = simulate_day(5, START, stops=6, seed=1, road_map=road_map, traffic=1.5)
    first = (free.arrivals[0] - START).total_seconds()
    assert (slow.arrivals[0] - START).total_seconds() == pytest.approx(1.5 * first)
    assert all(s > f for f, s in zip(free.arrivals, slow.arrivals, strict=True))
    assert slow.arrivals[-1] - free.arrivals[-1] < timedelta(seconds=0.5 * (free.arrivals[-1] - START).total_seconds())
