"""Following a van along its leg's street path: what is left of the leg, straying, and the van's own traffic."""

from __future__ import annotations

import pytest

from fleet_desk.sim.vans import offset
from fleet_desk.tracking.follow import STRAY_M, Follower
from fleet_desk.tracking.roads import Path

START = (45.75, 4.85)


def _l_path() -> tuple[Path, tuple[float, float]]:
    """1 km north, then 1 km east, at 10 m/s free flow: a vertex every 100 m."""
    points, seconds, metres = [], [], []
    for i in range(21):
        north, east = (min(i, 10) * 100.0, max(0, i - 10) * 100.0)
        points.append(offset(*START, north, east))
        seconds.append(i * 10.0)
        metres.append(i * 100.0)
    return Path(points, seconds, metres), points[-1]


def test_what_is_left_of_the_leg_follows_the_van_along_the_path():
    path, target = _l_path()
    follower = Follower()
    assert follower.remaining_s(START, target, 0, True) is None  # no path yet: it must be asked
    follower.follow(path, target)
    assert follower.remaining_s(START, target, 0, True) == pytest.approx(200, abs=0.5)
    halfway_up = offset(*START, 500, 8)  # 8 m beside the street (GPS noise)
    assert follower.remaining_s(halfway_up, target, 50_000, True) == pytest.approx(150, abs=0.5)
    round_the_corner = offset(*START, 1000, 400)
    assert follower.remaining_s(round_the_corner, target, 90_000, True) == pytest.approx(60, abs=0.5)


def test_a_van_that_strays_or_heads_for_another_stop_needs_a_new_path():
    path, target = _l_path()
    follower = Follower()
    follower.follow(path, target)
    assert follower.remaining_s(offset(*START, 500, STRAY_M + 30), target, 0, True) is None  # another street
    assert follower.remaining_s(START, offset(*START, 0, 900), 0, True) is None  # another stop


def test_the_vans_own_traffic_is_real_over_free_flow_time_for_the_stretch_it_covered():
    path, target = _l_path()
    follower = Follower()
    follower.follow(path, target)
    assert follower.traffic(None) == 1.0 and follower.traffic(1.3) == pytest.approx(1.3)  # nothing driven yet
    # 1.5 times the free-flow time all along: 100 m every 15 s.
    for i in range(21):
        north, east = (min(i, 10) * 100.0, max(0, i - 10) * 100.0)
        follower.remaining_s(offset(*START, north, east), target, i * 15_000, True)
    # 200 s of free flow driven: a third of the way to counting fully, blended with the fleet's prior.
    assert follower.traffic(None) == pytest.approx(1 + 0.5 * 200 / 600, abs=0.01)
    assert follower.traffic(1.5) == pytest.approx(1.5, abs=0.01)


def test_time_at_a_stop_is_not_traffic():
    path, target = _l_path()
    follower = Follower()
    follower.follow(path, target)
    for i in range(11):
        follower.remaining_s(offset(*START, i * 100.0, 0), target, i * 10_000, True)
    # Ten minutes at a stop beside the path: not driving, so not slow driving.
    follower.remaining_s(offset(*START, 1000, 0), target, 700_000, False)
    for i in range(11, 21):
        follower.remaining_s(offset(*START, 1000, (i - 10) * 100.0), target, 700_000 + (i - 10) * 10_000, True)
    assert follower.traffic(None) == pytest.approx(1.0, abs=0.01)
