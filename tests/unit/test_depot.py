"""The Depot, the core's front door: one live tracker that imports and live units share, settings it follows."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from fleet_desk.depot import Depot
from fleet_desk.gps import NmeaDecoder
from fleet_desk.ingest.pipeline import import_log
from fleet_desk.settings import Settings
from fleet_desk.sim.day import DayTrouble, render_day
from fleet_desk.store import PositionWriter, ensure_device, open_database
from fleet_desk.store.models import Stop
from fleet_desk.times import to_ms
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import store_manifest
from tests.helpers.days import day_with_trouble


def test_live_fixes_carry_on_the_arrival_an_import_through_the_same_depot_began(tmp_path: Path) -> None:
    """The van's morning is imported (a docked log) while it stands at its second stop, not yet for the
    dwell; live fixes then go through the same depot's tracker, which completes that arrival at the time the
    van first stood there, as one tracker seeing the whole day would."""
    day, manifest, _log = day_with_trouble(tmp_path, 0, DayTrouble(), stops=3)
    engine = open_database(f"sqlite:///{tmp_path / 'depot.db'}")
    depot = Depot(engine, Settings(depot_timezone="UTC"))
    store_manifest(engine, depot.tracker, read_manifest(manifest, tz=UTC), depot.rules)
    cut = day.arrivals[1] + timedelta(seconds=20)  # standing at stop 2 for less than the dwell (45 s)
    morning = tmp_path / "morning.nmea"
    morning.write_bytes(render_day(day, int((cut - day.start).total_seconds())))
    import_log(engine, depot.tracker, morning, "unit-1", day.vehicle, source="dock")

    def stop_2() -> Stop:
        with engine.connect() as conn:
            return conn.execute(select(Stop).where(Stop.sequence == 2)).one()

    assert stop_2().status == "pending"
    rest = [f for f in NmeaDecoder().feed(render_day(day, 3 * 3600)) if f.time > cut][:600]
    PositionWriter(engine, ensure_device(engine, "unit-1", day.vehicle), "live", [depot.tracker]).write(rest)
    arrived = stop_2()
    engine.dispose()
    assert arrived.status in ("arrived", "delivered")
    assert arrived.arrived_ms < to_ms(cut)  # from the imported fixes: a tracker of its own would say later
    assert abs(arrived.arrived_ms / 1000 - day.arrivals[1].timestamp()) <= 90


def test_new_settings_reach_the_live_tracker_and_the_replays_made_after(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'depot.db'}")
    depot = Depot(engine, Settings())
    tracker = depot.tracker
    assert not tracker.replaying and not depot.policy.share_customer_contact
    depot.configure(Settings(stop_radius_m=80.0, late_threshold_min=8.0, share_customer_contact=True))
    engine.dispose()
    assert depot.tracker is tracker  # the same vehicles' state, new rules from the next fix
    assert tracker.rules is depot.rules and tracker.rules.stop_radius_m == 80.0
    assert tracker.rules.late_threshold_s == 8 * 60
    assert tracker.policy is depot.policy and tracker.policy.share_customer_contact
    replay = depot.replay_tracker()
    assert replay.replaying and replay.rules.stop_radius_m == 80.0 and replay.policy is None  # tells no customer
    assert depot.replay_tracker(enqueue=True).policy is depot.policy


def test_the_sender_goes_to_the_endpoint_the_settings_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'depot.db'}")
    try:
        with pytest.raises(ValueError, match="no endpoint URL is set"):
            Depot(engine, Settings()).sender()
        monkeypatch.setenv("FLEET_DESK_SIGNING_SECRET", "s3cret")
        sender = Depot(engine, Settings(endpoint_url="https://tracking.example.com/events")).sender()
    finally:
        engine.dispose()
    assert sender.engine is engine and sender.endpoint.url == "https://tracking.example.com/events"
