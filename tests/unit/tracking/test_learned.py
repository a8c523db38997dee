"""What the depot learns from its own history (a real SQLite database): service times, circuity, traffic by
hour, and ETA windows calibrated from the errors measured at each horizon."""

from __future__ import annotations

import math
import random
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update

from fleet_desk.sim.day import simulate_day
from fleet_desk.store import open_database
from fleet_desk.store.models import DrivenLeg, EtaPrediction, Stop
from fleet_desk.times import to_ms
from fleet_desk.tracking.eta import Spread
from fleet_desk.tracking.learned import DEFAULT, DEPOT_MEDIAN, MANIFEST, THIS_ADDRESS, THIS_CUSTOMER, learn
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import store_manifest
from fleet_desk.tracking.rules import TrackingRules
from fleet_desk.tracking.tracker import RouteTracker
from tests.helpers.days import START

RULES = TrackingRules(timezone=UTC)
NOW = to_ms(START + timedelta(days=2))


@pytest.fixture
def depot(tmp_path: Path) -> Engine:
    """Yesterday's two routes of 12 stops, as a manifest stored them."""
    engine = open_database(f"sqlite:///{tmp_path / 'depot.db'}")
    tracker = RouteTracker(RULES, clock=None)
    for index in range(2):
        day = simulate_day(index, START + timedelta(days=1), stops=12, seed=4)
        manifest = tmp_path / f"m{index}.csv"
        manifest.write_text(day.manifest_csv(), encoding="utf-8")
        store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
    yield engine
    engine.dispose()


def _stops(engine: Engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(select(Stop).order_by(Stop.id)))


#: Departed is once out of the radius (60 m) and margin (25 m): pulling away at 1.5 m/s² takes this long, which
#: is the next leg's road time, not time at the stop.
EXIT_S = math.sqrt(2 * 85 / 1.5)


def _deliver(engine: Engine, stop_id: int, arrived_ms: int, dwell_s: float) -> None:
    """Delivered after standing ``dwell_s`` at the stop, then driving out of its radius."""
    with engine.begin() as conn:
        conn.execute(update(Stop).where(Stop.id == stop_id).values(
            status="delivered", arrived_ms=arrived_ms, departed_ms=arrived_ms + round((dwell_s + EXIT_S) * 1000)))


def test_service_time_comes_from_the_address_then_the_customer_then_the_depot_median_then_the_manifest(depot):
    stops = _stops(depot)
    with depot.connect() as conn:
        nothing_yet = learn(conn, NOW, RULES)
    first = stops[0]
    assert nothing_yet.service(first.address, first.lat, first.lon, None, 240.0, RULES) == (240.0, DEFAULT)
    assert nothing_yet.service(first.address, first.lat, first.lon, None, 300.0, RULES) == (300.0, MANIFEST)
    t0 = to_ms(START + timedelta(days=1, hours=1))
    for i, stop in enumerate(stops[:12]):
        _deliver(depot, stop.id, t0 + i * 600_000, 120 + 10 * i)  # 120 .. 230 s
    _deliver(depot, stops[12].id, t0 + 12 * 600_000, 1800)  # one long stop, at the address of stop 3
    with depot.begin() as conn:
        conn.execute(update(Stop).where(Stop.id == stops[12].id).values(
            address=stops[3].address, lat=stops[3].lat, lon=stops[3].lon))
        learned = learn(conn, NOW, RULES)
    depot_median = 180.0  # of 120 .. 230 and 1800
    assert learned.service("1 rue Inconnue, Lyon", 45.7, 4.8, None, 240.0, RULES) == (
        pytest.approx(depot_median, abs=0.01), DEPOT_MEDIAN)
    # Two visits at stop 3's address (150 s, 1800 s): their median, pulled towards the depot's as they are few.
    three = stops[3]
    assert learned.service("  " + three.address.upper(), three.lat, three.lon, None, 240.0, RULES) == (
        pytest.approx((975 * 2 + depot_median * 2) / 4, abs=0.01), THIS_ADDRESS)
    # The same words elsewhere in town are another place.
    assert learned.service(three.address, three.lat + 0.01, three.lon, None, 240.0, RULES)[1] == DEPOT_MEDIAN
    customer = stops[5].phone_key
    assert learned.service("1 rue Inconnue, Lyon", 45.7, 4.8, customer, 240.0, RULES) == (
        pytest.approx((170 + depot_median * 2) / 3, abs=0.01), THIS_CUSTOMER)


def test_circuity_and_traffic_by_hour_are_learned_from_driven_legs(depot):
    stops = _stops(depot)
    rows = []
    for i in range(8):
        departed = to_ms(START + timedelta(days=1, hours=9 if i < 4 else 14, minutes=10 * i))
        rows.append({"route_id": stops[i].route_id, "stop_id": stops[i].id, "departed_ms": departed,
                     "arrived_ms": departed + (600_000 if i < 4 else 300_000), "driven_m": 1600.0 + i,
                     "straight_m": 1000.0, "road_s": 300.0})
    with depot.begin() as conn:
        conn.execute(insert(DrivenLeg), rows[:4])
        assert learn(conn, NOW, RULES).circuity is None  # four legs are not enough to go on
        conn.execute(insert(DrivenLeg), rows[4:])
        learned = learn(conn, NOW, RULES)
    assert learned.circuity == pytest.approx(1.6035, abs=0.001)
    assert learned.traffic == pytest.approx(1.5)  # the median over all hours
    assert learned.traffic_at(3) == pytest.approx(1.5)  # an hour with too few legs of its own: all hours


def test_windows_are_calibrated_to_the_errors_measured_at_each_horizon(depot):
    """ETAs 20 minutes ahead that turned out between 5 min early and 10 min late: the window promised from then
    on holds about 80% of arrivals (the rule of thumb held far fewer)."""
    rng = random.Random(3)
    stops = _stops(depot)
    t0 = to_ms(START + timedelta(days=1, hours=1))
    history, errors = [], []
    for i, stop in enumerate(stops):
        arrived = t0 + i * 900_000
        _deliver(depot, stop.id, arrived, 200)
        for k in range(5):
            error_s = rng.uniform(-300, 600)
            errors.append(error_s)
            eta = arrived - int(error_s * 1000)
            history.append({"stop_id": stop.id, "predicted_at_ms": eta - 1_200_000 - k * 1000, "eta_ms": eta,
                            "earliest_ms": eta - 60_000, "latest_ms": eta + 180_000})
    with depot.begin() as conn:
        conn.execute(insert(EtaPrediction), history)
        spread = learn(conn, NOW, RULES).spread
    before, after = spread.around(1200, 0)
    inside = sum(1 for e in errors if -before <= e <= after) / len(errors)
    assert 0.75 <= inside <= 0.85
    thumb_before, thumb_after = Spread().around(1200, 0)
    assert sum(1 for e in errors if -thumb_before <= e <= thumb_after) / len(errors) < 0.6
    assert spread.around(5400, 0) == Spread().around(5400, 0)  # no errors measured 1-2 h ahead: rule of thumb
