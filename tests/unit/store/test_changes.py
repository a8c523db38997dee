"""The change log desks wake on, on real SQLite files and the real PostgreSQL: rows written in the writing
transaction (positions, stops by tracking and by a dispatcher, units), NOTIFY on commit and never on rollback,
ids read past a transaction still open, old rows pruned, and the listener reading on after its connection is
killed."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from fleet_desk.gps import Fix
from fleet_desk.settings import Settings, host_name
from fleet_desk.store import PositionWriter, ensure_device
from fleet_desk.store.changes import (
    CHANNEL,
    ChangeCursor,
    ChangeListener,
    ChangeRow,
    latest_id,
    prune,
    record,
)
from fleet_desk.store.models import Change, Stop
from fleet_desk.store.positions import write_batches
from tests.helpers.days import LOCAL_RULES, day_so_far
from tests.helpers.waiting import wait_until

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _fixes(n: int, start: datetime = T0) -> list[Fix]:
    return [Fix(start + timedelta(seconds=i), 45.0 + i * 1e-4, 4.8, 10.0) for i in range(n)]


def _changes(engine, kind: str | None = None) -> list[tuple[str, int, str | None]]:
    with engine.connect() as conn:
        stmt = select(Change.kind, Change.ref_id, Change.desk).order_by(Change.id)
        if kind:
            stmt = stmt.where(Change.kind == kind)
        return [tuple(r) for r in conn.execute(stmt)]


def test_stored_positions_record_one_change_per_vehicle_per_batch(engine):
    a = PositionWriter(engine, ensure_device(engine, "unit A", vehicle="Van 1"), "live", desk="desk-test")
    b = PositionWriter(engine, ensure_device(engine, "unit B", vehicle="Van 2"), "live", desk="desk-test")
    loose = PositionWriter(engine, ensure_device(engine, "unit C"), "live", desk="desk-test")  # no vehicle: nothing
    with engine.begin() as conn:
        write_batches(conn, [(a, _fixes(5)), (b, _fixes(3)), (a, _fixes(2, T0 + timedelta(minutes=1))),
                             (loose, _fixes(4))])
    a.write(_fixes(5))  # all of it stored before: nothing changed, nothing recorded
    positions = _changes(engine, "position")
    assert positions == [("position", a.device.vehicle_id, "desk-test"), ("position", b.device.vehicle_id,
                                                                          "desk-test")]


def test_a_rolled_back_batch_records_nothing(engine):
    writer = PositionWriter(engine, ensure_device(engine, "unit A", vehicle="Van 1"), "live")
    before = _changes(engine)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        writer.write_in(conn, _fixes(3))
        raise RuntimeError("the transaction fails after the batch")
    assert _changes(engine) == before


def test_units_and_stops_changed_through_a_session_are_recorded(engine, tmp_path):
    ensure_device(engine, "unit 9", vehicle="Van 9")
    units = _changes(engine, "unit")
    assert units and {ref for _k, ref, _d in units} == {1}
    from fleet_desk.tracking.tracker import RouteTracker

    tracker = RouteTracker(LOCAL_RULES)
    try:
        day_so_far(engine, tracker, tmp_path, 1, None, minutes=40)
    finally:
        tracker.close()
    with engine.connect() as conn:
        stops = set(conn.scalars(select(Stop.id)))
        tracked = set(conn.scalars(select(Stop.id).where(Stop.eta_ms.is_not(None) | (Stop.status != "pending"))))
    recorded = {ref for _k, ref, _d in _changes(engine, "stop")}
    assert stops and recorded == stops  # the manifest made every stop; tracking changed those it predicted
    assert tracked and tracked <= recorded
    assert _changes(engine, "route")
    assert _changes(engine, "position")


def test_a_dispatchers_mark_is_recorded(engine, tmp_path):
    from fleet_desk.push.payload import PayloadPolicy
    from fleet_desk.tracking.routes import mark_stop
    from fleet_desk.tracking.tracker import RouteTracker

    tracker = RouteTracker(LOCAL_RULES)
    try:
        day_so_far(engine, tracker, tmp_path, 2, None, minutes=10)
        with engine.connect() as conn:
            stop_id, order_id = conn.execute(select(Stop.id, Stop.order_id).order_by(Stop.sequence.desc())).first()
            last = latest_id(conn)
        mark_stop(engine, tracker, PayloadPolicy(), order_id, "failed", "gate locked", desk="desk-2")
    finally:
        tracker.close()
    with engine.connect() as conn:
        rows = ChangeCursor(last).read(conn)
    assert ("stop", stop_id) in {(r.kind, r.ref_id) for r in rows}


def test_record_refuses_an_unknown_kind(engine):
    with engine.begin() as conn, pytest.raises(ValueError, match="unknown kind"):
        record(conn, "weather", [1])


def test_prune_keeps_the_newest_so_ids_keep_growing(engine):
    with engine.begin() as conn:
        ids = record(conn, "unit", [1, 2, 3], at_ms=1_000)
        assert prune(conn, 10_000) == 2  # the newest stays, however old
    with engine.begin() as conn:
        newer = record(conn, "unit", [4], at_ms=20_000)
    assert newer[0] > max(ids)
    assert [ref for _k, ref, _d in _changes(engine)] == [3, 4]


def test_writers_prune_old_rows_every_so_often(engine, monkeypatch):
    from fleet_desk.store import changes

    monkeypatch.setattr(changes, "PRUNE_EVERY", 10)
    with engine.begin() as conn:
        record(conn, "unit", range(1, 9), at_ms=1_000)  # a day and more ago
    with engine.begin() as conn:
        record(conn, "unit", [100, 101, 102])  # crosses id 10: prunes what is older than a day
    assert [ref for _k, ref, _d in _changes(engine)] == [100, 101, 102]


def test_cursor_reads_what_came_after(engine):
    with engine.begin() as conn:
        record(conn, "stop", [5, 6])
    with engine.connect() as conn:
        cursor = ChangeCursor(latest_id(conn))
    with engine.begin() as conn:
        record(conn, "route", [7], "desk-test")
        record(conn, "outbox", [8], "desk-test")
    with engine.connect() as conn:
        rows = cursor.read(conn)
        assert [(r.kind, r.ref_id, r.desk) for r in rows] == [("route", 7, "desk-test"), ("outbox", 8, "desk-test")]
        assert cursor.read(conn) == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_transaction_committing_after_a_later_one_is_still_read(engine):
    """PostgreSQL hands out ids at insert: a desk's transaction still open when a later one commits lands
    behind the reader's last id; the reader asks for the ids it skipped until they come."""
    with engine.connect() as conn:
        cursor = ChangeCursor(latest_id(conn))
    slow = engine.connect()
    try:
        slow_tx = slow.begin()
        record(slow, "stop", [1])  # takes the lower id, commits last
        with engine.begin() as conn:
            record(conn, "stop", [2])
        with engine.connect() as conn:
            assert [r.ref_id for r in cursor.read(conn)] == [2]
            assert len(cursor.gaps) == 1
        slow_tx.commit()
    finally:
        slow.close()
    with engine.connect() as conn:
        assert [r.ref_id for r in cursor.read(conn)] == [1]
        assert cursor.gaps == []
        assert cursor.read(conn) == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_notify_goes_out_on_commit_with_ids_only_and_never_on_rollback(engine, db_url):
    """A depot in a schema of its own (as each test's) announces on ``fleet_desk.<schema>``."""
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    with psycopg.connect(*args, **kwargs, autocommit=True) as listen:
        schema = listen.execute("SELECT current_schema()").fetchone()[0]
        listen.execute(f'LISTEN "{CHANNEL}.{schema}"')
        with pytest.raises(RuntimeError), engine.begin() as conn:
            record(conn, "stop", [41])
            raise RuntimeError("rolled back")
        assert list(listen.notifies(timeout=0.5)) == []
        with engine.begin() as conn:
            ids = record(conn, "position", [3, 4])
            record(conn, "outbox", [9])
        payloads = [n.payload for n in listen.notifies(timeout=2, stop_after=2)]
    assert payloads[0] == f"position:{max(ids)}"
    assert payloads[1].startswith("outbox:")
    assert all(len(p.encode()) < 8000 for p in payloads)


def test_listener_hands_on_another_connections_changes(engine):
    got: list[ChangeRow] = []
    listener = ChangeListener(engine, poll_s=0.1)
    listener.subscribe(got.extend)
    listener.start()
    try:
        assert listener.wait_listening()
        with engine.begin() as conn:
            record(conn, "position", [1, 2])
        wait_until(lambda: len(got) == 2, timeout=5, state=lambda: got)
        with engine.begin() as conn:
            record(conn, "unit", [3])
        wait_until(lambda: len(got) == 3, timeout=5, state=lambda: got)
    finally:
        listener.stop()
    assert [(r.kind, r.ref_id) for r in got] == [("position", 1), ("position", 2), ("unit", 3)]
    assert listener.last_id == got[-1].id


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_listener_reads_on_after_its_connection_is_killed(engine):
    """pg_terminate_backend on the LISTEN connection: what is written while it is away and after it is back
    is handed on, each change once, in order; the listener connects again."""
    got: list[ChangeRow] = []
    lock = threading.Lock()

    def take(rows: list[ChangeRow]) -> None:
        with lock:
            got.extend(rows)

    listener = ChangeListener(engine, safety_s=60)  # no safety read to hide a lost announcement
    listener.subscribe(take)
    listener.start()
    try:
        assert listener.wait_listening()
        with engine.begin() as conn:
            record(conn, "position", [1])
        wait_until(lambda: len(got) == 1, timeout=5)
        first_pid = listener.backend_pid
        with engine.begin() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
            record(conn, "position", [2])  # announced to nobody: the listener's connection is gone
        for ref in range(3, 8):
            with engine.begin() as conn:
                record(conn, "stop", [ref])
        wait_until(lambda: listener.reconnects >= 1, timeout=15, state=lambda: listener.reconnects)
        with engine.begin() as conn:
            record(conn, "route", [8])  # announced to the new connection
        wait_until(lambda: len(got) == 8, timeout=10, state=lambda: [(r.kind, r.ref_id) for r in got])
    finally:
        listener.stop()
    assert [r.ref_id for r in got] == list(range(1, 9))
    assert len({r.id for r in got}) == 8
    assert listener.backend_pid != first_pid


def test_listener_ignores_changes_before_it_started_unless_asked(engine):
    with engine.begin() as conn:
        old = record(conn, "stop", [1])
    fresh, replay = [], []
    a = ChangeListener(engine, poll_s=0.05)
    b = ChangeListener(engine, poll_s=0.05, since_id=old[0] - 1)
    a.subscribe(fresh.extend)
    b.subscribe(replay.extend)
    a.start()
    b.start()
    try:
        wait_until(lambda: replay, timeout=5)
        with engine.begin() as conn:
            record(conn, "stop", [2])
        wait_until(lambda: len(replay) == 2 and fresh, timeout=5)
    finally:
        a.stop()
        b.stop()
    assert [r.ref_id for r in fresh] == [2]
    assert [r.ref_id for r in replay] == [1, 2]


def test_the_desk_is_the_depots_desk_name_handed_down_else_the_host(engine, tmp_path):
    """The depot (the composition root) names its desk to what it builds; nothing process-wide: two depots in one
    process record their own writes under their own names, and a writer given none records the host's."""
    from fleet_desk.depot import Depot
    from fleet_desk.push.payload import PayloadPolicy
    from fleet_desk.store.units import assign_unit, claim_unit
    from fleet_desk.tracking.routes import mark_stop

    with engine.begin() as conn:
        record(conn, "unit", [1])
    assert _changes(engine)[-1][2] == host_name()
    seven = Depot(engine, Settings(desk_name="desk-7", depot_timezone="Europe/Paris"), road_map=None)
    eight = Depot(engine, Settings(desk_name=" desk-8 ", depot_timezone="Europe/Paris"), road_map=None)
    try:
        assert (seven.desk, seven.tracker.desk, eight.desk, eight.tracker.desk) == ("desk-7", "desk-7", "desk-8",
                                                                                    "desk-8")
        with engine.connect() as conn:
            last = latest_id(conn)
        day_so_far(engine, seven.tracker, tmp_path, 1, None, minutes=40)  # a manifest, a log, tracking
        assign_unit(engine, "unit-9", "/dev/ttyUSB9", "Van 9", desk=eight.desk)
        claim_unit(engine, "unit-9", eight.desk, 1_000)
        with engine.connect() as conn:
            order_id = conn.scalars(select(Stop.order_id).order_by(Stop.id)).first()
        mark_stop(engine, eight.tracker, PayloadPolicy(), order_id, "failed", "gate locked")
        with engine.connect() as conn:
            rows = ChangeCursor(last).read(conn)
        by_desk: dict[str | None, set[str]] = {}
        for row in rows:
            by_desk.setdefault(row.desk, set()).add(row.kind)
        assert by_desk == {"desk-7": {"stop", "route", "position", "unit", "outbox"},
                           "desk-8": {"unit", "stop", "outbox"}}
        seven.configure(Settings(desk_name="desk-9", depot_timezone="Europe/Paris"))
        assert seven.desk == seven.tracker.desk == "desk-7"  # a new name counts from the next start
    finally:
        seven.close()
        eight.close()


def test_an_update_without_a_change_to_a_stop_records_nothing(engine, tmp_path):
    from fleet_desk.tracking.tracker import RouteTracker

    tracker = RouteTracker(LOCAL_RULES)
    try:
        day_so_far(engine, tracker, tmp_path, 3, None, minutes=1)
    finally:
        tracker.close()
    with engine.connect() as conn:
        last = latest_id(conn)
    with Session(engine) as session, session.begin():
        stop = session.scalars(select(Stop)).first()
        stop.status = stop.status  # assigned, not changed
    with Session(engine) as session, session.begin():
        session.execute(update(Stop).where(Stop.id == -1).values(status="failed"))  # Core: the caller records
    with engine.connect() as conn:
        assert ChangeCursor(last).read(conn) == []
