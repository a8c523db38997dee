"""A simulated van's round as a timeline: where it is at each second, on straight legs and on road paths."""

from __future__ import annotations

import pytest

from fleet_desk.sim.vans import DEPOT, SimulatedUnit, distance_m, offset

A = DEPOT
B = offset(*DEPOT, 0, 1000)  # 1 km east
C = offset(*DEPOT, 1000, 1000)  # then 1 km north


def _unit(round_trip: bool = False, **kw) -> SimulatedUnit:
    unit = SimulatedUnit(0, stops=0, round_trip=round_trip)
    unit.waypoints, unit.dwell, unit.leg_speed, unit.cruise = [A, B, C], [0.0, 60.0, 30.0], [1.0, 0.5, 1.0], 10.0
    for name, value in kw.items():
        setattr(unit, name, value)
    return unit


def test_drives_each_leg_at_its_speed_and_waits_at_each_stop():
    unit = _unit()
    ab = distance_m(A, B) / 10.0  # 100 s at 10 m/s
    lat, lon, speed, course = unit.state_at(ab / 2)
    assert distance_m((lat, lon), A) == pytest.approx(distance_m(A, B) / 2, abs=1)
    assert 7 < speed < 13 and course == pytest.approx(90, abs=1)
    assert unit.state_at(ab + 30)[:3] == (B[0], B[1], 0.0)  # at the stop
    bc = distance_m(B, C) / 5.0  # half speed: 200 s
    lat, lon, speed, course = unit.state_at(ab + 60 + bc / 4)
    assert distance_m((lat, lon), B) == pytest.approx(distance_m(B, C) / 4, abs=1)
    assert speed < 7 and course == pytest.approx(0, abs=1)
    assert unit.reaches(2) == pytest.approx(ab + 60 + bc)


def test_before_leaving_at_the_depot_and_after_the_round_parked_at_its_end():
    unit = _unit()
    assert unit.state_at(-5) == (A[0], A[1], 0.0, 0.0)
    assert unit.state_at(10_000)[:3] == (C[0], C[1], 0.0)


def test_a_round_trip_starts_again_after_its_last_stop():
    unit = _unit(round_trip=True)
    cycle = unit.timeline.cycle
    assert cycle == pytest.approx(unit.reaches(2) + 30)
    for t in (12.0, 150.0, 333.0):
        assert unit.state_at(t + cycle) == pytest.approx(unit.state_at(t))


def test_road_path_legs_take_their_given_seconds():
    unit = _unit(leg_seconds=[50.0, 400.0])  # e.g. free-flow times x traffic
    assert unit.reaches(1) == pytest.approx(50.0)
    assert unit.reaches(2) == pytest.approx(50 + 60 + 400 / 0.5)  # leg_speed 0.5 still slows it
    speed = unit.state_at(25.0)[2]
    assert speed == pytest.approx(distance_m(A, B) / 50, rel=0.2)


def test_replacing_the_round_works_its_timeline_out_again():
    unit = _unit()
    first = unit.timeline
    assert unit.timeline is first  # worked out once
    unit.dwell = [0.0, 0.0, 0.0]
    assert unit.timeline is not first
    assert unit.reaches(2) == pytest.approx(distance_m(A, B) / 10 + distance_m(B, C) / 5)


def test_thousands_of_vertices_give_the_same_places_as_the_legs_they_cut():
    """A leg cut into 2000 pieces (a road path's vertices) is driven exactly as the leg itself."""
    whole = _unit(dwell=[0.0, 0.0, 0.0], leg_speed=[1.0, 1.0, 1.0])
    pieces = [A, *(offset(*A, 0, 1000 * k / 2000) for k in range(1, 2001))]
    cut = _unit(waypoints=pieces, dwell=[0.0] * len(pieces), leg_speed=[1.0] * len(pieces))
    for t in range(0, 100, 7):
        assert distance_m(cut.state_at(t)[:2], whole.state_at(t)[:2]) < 0.5
