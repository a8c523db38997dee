"""Tracking: arrivals (jitter, drive-by, shared address, out of sequence, dropout), ETAs, delays and milestones.

End to end, a simulated day's NMEA goes through the real pipeline (decoder,
store, tracker) into SQLite and PostgreSQL, and what the tracker recorded is
scored against what the van really did.
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet_desk.cli import main
from fleet_desk.depot import Depot
from fleet_desk.ingest.pipeline import import_log
from fleet_desk.settings import Settings
from fleet_desk.sim.day import DayTrouble
from fleet_desk.sim.vans import offset
from fleet_desk.store import open_database
from fleet_desk.store.models import EtaPrediction, OrderEvent, Stop
from fleet_desk.tracking import RouteTracker, TrackingRules
from fleet_desk.tracking.arrival import ArrivalDetector, StopZone
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import mark_stop, reassign_stop, reorder_route, store_manifest
from tests.helpers.days import day_with_trouble

RULES = TrackingRules(timezone=UTC)
HOME = (45.75, 4.85)


def _feed(detector: ArrivalDetector, track: list[tuple[float, float, float]], zones: list[StopZone],
          t0: int = 1_000_000) -> list[tuple[str, int, int]]:
    """(kind, stop, second) for a track of (north m, east m, speed) at 1 Hz from HOME; None rows are dropouts."""
    visits = []
    for second, point in enumerate(track):
        if point is None:
            continue
        lat, lon = offset(*HOME, point[0], point[1])
        for v in detector.feed(t0 + second * 1000, lat, lon, point[2], zones):
            visits.append((v.kind, v.stop_id, (v.time_ms - t0) // 1000))
    return visits


def _approach_stop_leave(stay_s: int, jitter_m: float = 0.0, seed: int = 1) -> list:
    rng = random.Random(seed)
    track = [(-300 + 10 * i, 0.0, 10.0) for i in range(30)]  # drive in at 10 m/s
    track += [(rng.gauss(0, jitter_m), rng.gauss(0, jitter_m), 0.3) for _ in range(stay_s)]  # stand at the door
    track += [(10 * i, 0.0, 10.0) for i in range(1, 40)]  # drive away
    return track


def test_arrival_after_the_dwell_and_departure_without_flapping_in_jitter():
    zone = StopZone(1, *offset(*HOME, 0, 0), 60.0)
    visits = _feed(ArrivalDetector(RULES), _approach_stop_leave(300, jitter_m=25.0), [zone])
    assert [v[:2] for v in visits] == [("arrived", 1), ("departed", 1)]
    assert 24 <= visits[0][2] <= 31  # when it first stood slow inside the radius, not when noticed
    assert visits[1][2] >= 330


def test_driving_past_or_a_short_pause_is_not_an_arrival():
    zone = StopZone(1, *offset(*HOME, 0, 0), 60.0)
    drive_by = [(-300 + 10 * i, 0.0, 10.0) for i in range(60)]
    assert _feed(ArrivalDetector(RULES), drive_by, [zone]) == []
    assert _feed(ArrivalDetector(RULES), _approach_stop_leave(30), [zone]) == []  # a red light


def test_two_stops_at_one_address_both_arrive_and_out_of_sequence_counts():
    here = offset(*HOME, 0, 0)
    zones = [StopZone(5, *offset(*HOME, 3000, 0), 60.0), StopZone(7, *here, 60.0), StopZone(8, *here, 60.0)]
    visits = _feed(ArrivalDetector(RULES), _approach_stop_leave(120), zones)
    assert sorted(v[:2] for v in visits) == [("arrived", 7), ("arrived", 8), ("departed", 7), ("departed", 8)]


def test_a_dropout_during_the_stop_still_counts():
    zone = StopZone(1, *offset(*HOME, 0, 0), 60.0)
    track = _approach_stop_leave(200)
    track[45:235] = [None] * (235 - 45)  # silent from 15 s after stopping until it drives off, still inside
    visits = _feed(ArrivalDetector(RULES), track, [zone])
    assert [v[:2] for v in visits] == [("arrived", 1), ("departed", 1)]
    assert 28 <= visits[0][2] <= 31


def _replay(engine, day, manifest, log):
    tracker = RouteTracker(RULES, clock=None)
    store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
    import_log(engine, tracker, log, f"unit-{day.vehicle[-1]}", day.vehicle)


def test_replayed_day_arrivals_etas_and_milestones(tmp_path, db_url):
    day, manifest, log = day_with_trouble(tmp_path, 0, DayTrouble(long_stops={2: 1500}, noise_m=3.0))
    engine = open_database(db_url)
    _replay(engine, day, manifest, log)
    with Session(engine) as s:
        stops = list(s.scalars(select(Stop).order_by(Stop.sequence)))
        assert [st.status for st in stops] == ["delivered"] * 8
        for st, truth in zip(stops, day.arrivals, strict=True):
            assert abs(st.arrived_ms / 1000 - truth.timestamp()) <= 90, st.order_id
        # The ETA an hour ahead of the last stop, and 10 minutes ahead, against when the van really came.
        last = stops[-1]
        history = list(s.execute(select(EtaPrediction.predicted_at_ms, EtaPrediction.eta_ms)
                                 .where(EtaPrediction.stop_id == last.id).order_by(EtaPrediction.predicted_at_ms)))
        assert len(history) >= 3
        truth_ms = day.arrivals[-1].timestamp() * 1000
        final = [eta for at, eta in history if at <= truth_ms - 10 * 60_000][-1]
        assert abs(final - truth_ms) <= 5 * 60_000
        events = [(e.stop_id, e.type, e.customer_facing) for e in s.scalars(select(OrderEvent).order_by(OrderEvent.id))]
        for st in stops:
            kinds = [k for sid, k, _ in events if sid == st.id]
            assert kinds.count("out_for_delivery") == 1 and kinds.count("delivered") == 1
            assert kinds.count("arriving_soon") == 1 and kinds.count("arrived") == 1
            assert kinds.index("out_for_delivery") < kinds.index("arrived") < kinds.index("delivered")
            assert 1 <= kinds.count("eta_updated") <= 4
        facing = [k for _, k, f in events if f]
        assert "arrived" not in facing and "delivered" in facing  # replay: now is the fix time
    engine.dispose()


def test_late_departure_is_flagged_before_the_window_closes_with_its_reason(tmp_path):
    day, manifest, log = day_with_trouble(tmp_path, 1, DayTrouble(late_departure_s=3600), window_h=1.0)
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    _replay(engine, day, manifest, log)
    with Session(engine) as s:
        stops = {st.id: st for st in s.scalars(select(Stop))}
        delayed = list(s.scalars(select(OrderEvent).where(OrderEvent.type == "delayed")))
        assert delayed
        for event in delayed:
            assert "late departure from the depot" in event.detail
            assert event.time_ms < stops[event.stop_id].window_end_ms  # told before the window closed
        late = [st for st in stops.values() if st.arrived_ms > st.window_end_ms]
        assert late and {st.id for st in late} <= {e.stop_id for e in delayed}
    engine.dispose()


def test_an_old_day_imported_tells_no_customer_and_exports_read_back(capsys, tmp_path):
    day, manifest, log = day_with_trouble(tmp_path, 2, DayTrouble())
    db = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["--db", db, "manifest", "import", str(manifest)]) == 0
    assert main(["--db", db, "import-log", str(log), "--device", "unit-3", "--vehicle", day.vehicle]) == 0
    capsys.readouterr()
    assert main(["--db", db, "export", "stops"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 8 and {r["status"] for r in rows} == {"delivered"}
    assert all(r["arrived_at"].endswith("Z") and r["eta"] == "" for r in rows)
    assert main(["--db", db, "export", "events", "--format", "jsonl"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"arrived", "delivered", "out_for_delivery"} <= {e["type"] for e in events}
    assert not any(e["customer_facing"] for e in events if e["type"] != "confirmed")  # old news: history only
    assert main(["--db", db, "export", "eta-history"]) == 0
    history = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert history and list(history[0]) == ["order_id", "predicted_at", "eta", "eta_earliest", "eta_latest"]
    for h in history:
        at = {k: datetime.fromisoformat(h[k].replace("Z", "+00:00")) for k in ("eta_earliest", "eta", "eta_latest")}
        assert at["eta_earliest"] <= at["eta"] <= at["eta_latest"]


def test_dispatcher_marks_reorders_and_reassigns(tmp_path):
    _, manifest, _ = day_with_trouble(tmp_path, 3, DayTrouble(), stops=3)
    _, manifest2, _ = day_with_trouble(tmp_path, 4, DayTrouble(), stops=2)
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    depot = Depot(engine, Settings())
    tracker, policy = depot.tracker, depot.policy
    store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
    store_manifest(engine, tracker, read_manifest(manifest2, tz=UTC), RULES)
    mark_stop(engine, tracker, policy, "ORD-04001", "failed", "customer not at home")
    mark_stop(engine, tracker, policy, "ORD-04001", "failed", "customer not at home")  # double click: told once
    route_id = engine.connect().execute(select(Stop.route_id).where(Stop.order_id == "ORD-04002")).scalar()
    reorder_route(engine, tracker, route_id, ["ORD-04003", "ORD-04002", "ORD-04001"])
    other = engine.connect().execute(select(Stop.route_id).where(Stop.order_id == "ORD-05001")).scalar()
    reassign_stop(engine, tracker, "ORD-04002", other)
    with Session(engine) as s:
        failed = s.scalar(select(Stop).where(Stop.order_id == "ORD-04001"))
        assert failed.status == "failed" and failed.failure_reason == "customer not at home"
        assert s.scalar(select(Stop.sequence).where(Stop.order_id == "ORD-04003")) == 1
        moved = s.scalar(select(Stop).where(Stop.order_id == "ORD-04002"))
        assert moved.route_id == other and moved.sequence == 3
        dispatched = list(s.scalars(select(OrderEvent).where(OrderEvent.source == "dispatcher")))
        assert sum(1 for e in dispatched if e.type == "delivery_exception") == 1
        kinds = {e.type: e for e in dispatched}
        exception = kinds["delivery_exception"]
        assert exception.detail == "customer not at home" and exception.customer_facing
        assert "resequenced" in kinds and "Van 5" in kinds["reassigned"].detail
    engine.dispose()


def test_a_batch_whose_transaction_fails_is_tracked_again_when_resent(tmp_path):
    from fleet_desk.gps import NmeaDecoder
    from fleet_desk.store import PositionWriter, ensure_device

    day, manifest, log = day_with_trouble(tmp_path, 5, DayTrouble(), stops=3)
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    tracker = RouteTracker(RULES, clock=None)
    store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
    fixes = NmeaDecoder().feed(log.read_bytes())
    failures = iter([True])

    def database_trouble(*_args: object) -> None:  # after the tracker ran, the transaction fails once
        if next(failures, False):
            raise RuntimeError("disk full")

    ref = ensure_device(engine, "unit-6", day.vehicle)
    writer = PositionWriter(engine, ref, "import", [tracker, database_trouble])
    first, rest = fixes[:2000], fixes[2000:]
    try:
        writer.write(first)
    except RuntimeError:
        pass
    with Session(engine) as s:
        assert s.scalar(select(Stop.status).where(Stop.order_id == "ORD-06001")) == "pending"  # rolled back
    writer.write(first)  # sent again, as live ingestion does with pending fixes
    writer.write(rest)
    with Session(engine) as s:
        assert [st.status for st in s.scalars(select(Stop).order_by(Stop.sequence))] == ["delivered"] * 3
    engine.dispose()


def test_a_silent_unit_ages_its_etas_then_is_flagged_not_extrapolated(tmp_path):
    from fleet_desk.gps import NmeaDecoder
    from fleet_desk.store import PositionWriter, ensure_device
    from fleet_desk.store.models import Route

    day, manifest, log = day_with_trouble(tmp_path, 6, DayTrouble(), stops=6, window_h=1.0)
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    fixes = NmeaDecoder().feed(log.read_bytes())[:1500]  # 25 minutes, then the unit falls silent
    last_ms = int(fixes[-1].time.timestamp() * 1000)
    clock = [last_ms]
    tracker = RouteTracker(RULES, clock=lambda: clock[0])
    store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
    PositionWriter(engine, ensure_device(engine, "unit-7", day.vehicle), "live", [tracker]).write(fixes)

    def stops() -> dict[int, Stop]:
        with Session(engine) as s:
            return {st.sequence: st for st in s.scalars(select(Stop).where(Stop.status == "pending"))}

    before = stops()
    clock[0] = last_ms + 5 * 60_000  # five minutes without a fix: the van left from there at the latest now
    with engine.begin() as conn:
        assert tracker.sweep(conn, clock[0]) == 1
    aged = stops()
    assert min(stop.eta_ms for stop in aged.values()) >= clock[0]  # nobody is told "any minute" by a lost van
    for seq, stop in aged.items():
        assert stop.eta_ms >= before[seq].eta_ms
        assert stop.eta_latest_ms - stop.eta_ms > before[seq].eta_latest_ms - before[seq].eta_ms
    clock[0] = last_ms + 90 * 60_000  # an hour and a half: flagged, ETAs no longer moved
    with engine.begin() as conn:
        tracker.sweep(conn, clock[0])
    silent = stops()
    with Session(engine) as s:
        assert s.scalar(select(Route.silent_since_ms)) == last_ms
    assert all(silent[seq].eta_ms == aged[seq].eta_ms for seq in silent)
    late = [st for st in silent.values() if st.late]
    assert late and all(st.delay_reason.startswith("GPS unit silent since") for st in late)
    engine.dispose()


def test_replay_command_tells_customers_as_it_would_have_live(capsys, tmp_path):
    day, manifest, log = day_with_trouble(tmp_path, 7, DayTrouble(), stops=4)
    db = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["--db", db, "manifest", "import", str(manifest)]) == 0
    assert main(["--db", db, "replay", str(log), "--device", "unit-8", "--vehicle", day.vehicle]) == 0
    assert "replayed" in capsys.readouterr().out
    assert main(["--db", db, "export", "events", "--format", "jsonl"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    told = {e["type"] for e in events if e["customer_facing"]}
    assert {"out_for_delivery", "eta_updated", "arriving_soon", "delivered"} <= told
    assert sum(1 for e in events if e["type"] == "delivered") == 4
