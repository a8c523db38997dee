"""ETAs on the road map: a day on the demo town's streets (a river with two bridges, one-way streets), replayed
through the real pipeline once on the road map and once on the straight line; and the road map asked on a
thread of its own when live, with the straight line standing in meanwhile."""

from __future__ import annotations

import statistics
import time
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from fleet_desk.ingest.pipeline import import_log
from fleet_desk.roads.osrm_map import OsrmRoadMap
from fleet_desk.sim.day import DayTrouble, SimulatedDay, render_day, simulate_day
from fleet_desk.sim.demo import demo_road_map
from fleet_desk.store import open_database
from fleet_desk.store.models import DrivenLeg, EtaPrediction, Route, Stop
from fleet_desk.tracking.eta import StopPlan, straight_legs_s
from fleet_desk.tracking.follow import Follower
from fleet_desk.tracking.learned import Learned
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import store_manifest
from fleet_desk.tracking.rules import TrackingRules
from fleet_desk.tracking.tracker import RouteTracker
from fleet_desk.tracking.travel import RoadTimes
from tests.helpers.days import START

RULES = TrackingRules(timezone=UTC)


@pytest.fixture(scope="module")
def town() -> OsrmRoadMap:
    return OsrmRoadMap.open(demo_road_map())


def _replay(tmp_path: Path, name: str, day: SimulatedDay, road_map: OsrmRoadMap | None) -> Engine:
    engine = open_database(f"sqlite:///{tmp_path / name}.db")
    tracker = RouteTracker(RULES, clock=None, road_map=road_map)
    manifest = tmp_path / f"{name}.csv"
    manifest.write_text(day.manifest_csv(), encoding="utf-8")
    store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
    log = tmp_path / f"{name}.nmea"
    log.write_bytes(render_day(day, 5 * 3600))
    import_log(engine, tracker, log, "unit-1", day.vehicle)
    tracker.close()
    return engine


def _errors_30_min_ahead(engine: Engine, day: SimulatedDay) -> list[float]:
    truth = {row["order_id"]: arrival for row, arrival in zip(day.rows, day.arrivals, strict=True)}
    errors = []
    with engine.connect() as conn:
        stops = {s.id: s.order_id for s in conn.execute(select(Stop.id, Stop.order_id))}
        history: dict[int, list[tuple[int, int]]] = {}
        for sid, at, eta in conn.execute(select(EtaPrediction.stop_id, EtaPrediction.predicted_at_ms,
                                                EtaPrediction.eta_ms).order_by(EtaPrediction.predicted_at_ms)):
            history.setdefault(sid, []).append((at, eta))
    for sid, order in stops.items():
        t = truth[order].timestamp() * 1000
        before = [eta for at, eta in history.get(sid, []) if at <= t - 30 * 60_000]
        if before:
            errors.append(abs(before[-1] - t) / 60_000)
    return errors


def test_a_day_in_traffic_across_the_river_is_predicted_on_the_roads_far_better_than_on_the_straight_line(
        tmp_path, town):
    day = simulate_day(1, START, stops=10, seed=5, road_map=town, traffic=1.5, window_minutes=60,
                       trouble=DayTrouble(noise_m=3.0))
    on_roads = _replay(tmp_path, "roads", day, town)
    straight = _replay(tmp_path, "straight", day, None)
    road_errors, straight_errors = _errors_30_min_ahead(on_roads, day), _errors_30_min_ahead(straight, day)
    assert len(road_errors) >= 6 and len(straight_errors) >= 6
    assert statistics.median(road_errors) <= 3.0
    assert statistics.median(road_errors) < statistics.median(straight_errors)
    with on_roads.connect() as conn:
        route = conn.execute(select(Route.eta_basis, Route.straight_legs)).one()
        legs = conn.execute(select(DrivenLeg.driven_m, DrivenLeg.straight_m, DrivenLeg.road_s)).all()
        services = conn.execute(select(Stop.service_basis, Stop.expected_service_s)).all()
    assert route.eta_basis == f"roads ({town.name})" and route.straight_legs == 0
    # Every leg driven is recorded, with the road map's free-flow time, for the depot to learn from.
    assert len(legs) == 10 and all(leg.road_s is not None and leg.driven_m >= leg.straight_m for leg in legs)
    assert {basis for basis, _ in services} == {"default"} and {s for _, s in services} == {240.0}
    with straight.connect() as conn:
        assert conn.execute(select(Route.eta_basis, Route.straight_legs)).one() == ("straight line", None)
    on_roads.dispose()
    straight.dispose()


def test_live_the_road_map_answers_on_its_own_thread_and_the_straight_line_stands_in_meanwhile(town):
    roads = RoadTimes(town, background=True)
    try:
        c = town.info
        here = ((c.south + c.north) / 2, (c.west + c.east) / 2)
        stops = [StopPlan(i, here[0] + 0.004 * i, here[1] + 0.006 * i, 0, 0, 240.0) for i in (1, 2, 3)]
        follower = Follower()
        first = roads.travel(follower, here, 0, stops, 8.0, 1.3, Learned(), 9, True)
        on_the_line = straight_legs_s(stops, *here, 8.0, 1.3)
        # Nothing answered yet: every leg on the straight line, not counted as one the map cannot route.
        assert first.legs_s == on_the_line and first.straight == 0
        for _ in range(200):
            later = roads.travel(follower, here, 1000, stops, 8.0, 1.3, Learned(), 9, True)
            if later.legs_s != on_the_line:
                break
            time.sleep(0.05)
        assert later.straight == 0 and later.basis == f"roads ({town.name})"
        assert all(s > 0 for s in later.legs_s)
    finally:
        roads.close()
    assert roads._thread is None


def test_a_stop_the_road_map_cannot_reach_falls_back_to_the_straight_line_and_is_counted(town):
    roads = RoadTimes(town, background=False)
    c = town.info
    here = ((c.south + c.north) / 2, (c.west + c.east) / 2)
    far = (c.north + 0.5, c.east + 0.5)  # some 60 km outside the town
    stops = [StopPlan(1, here[0] + 0.004, here[1] + 0.006, 0, 0, 240.0), StopPlan(2, *far, 0, 0, 240.0)]
    travel = roads.travel(Follower(), here, 0, stops, 8.0, 1.3, Learned(), 9, True)
    assert travel.straight == 1 and travel.legs_s[1] > 3000
    assert town.problem(far) is not None and "outside" in town.problem(far)
