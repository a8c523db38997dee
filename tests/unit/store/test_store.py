"""The position store on real SQLite files and the real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select, text

from fleet_desk.gps import Fix
from fleet_desk.store import PositionWriter, ensure_device, open_database
from fleet_desk.store.database import HEAD, alembic_config, create_db_engine, current_revision, head_revision
from fleet_desk.store.models import Device, LatestPosition, Position

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _fixes(n: int, start: datetime = T0) -> list[Fix]:
    return [Fix(start + timedelta(seconds=i), 45.0 + i * 1e-4, 4.8, 10.0, 90.0, 170.0, 1, 3, 8, 0.9) for i in range(n)]


def test_schema_is_at_alembic_head(engine):
    """Opening checks the revision against HEAD without Alembic: HEAD must be the newest migration."""
    assert HEAD == head_revision(engine)
    assert current_revision(engine) == HEAD
    assert {"positions", "devices", "vehicles", "drivers", "latest_positions"} <= set(inspect(engine).get_table_names())


def test_same_fix_is_stored_once_however_often_it_arrives(engine):
    ref = ensure_device(engine, "unit 1", vehicle="Van 7")
    live = PositionWriter(engine, ref, "live")
    dock = PositionWriter(engine, ref, "dock")
    first = live.write(_fixes(100))
    again = dock.write(_fixes(150))
    assert (first.stored, first.duplicates) == (100, 0)
    assert (again.stored, again.duplicates) == (50, 100)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Position)) == 150
        sources = dict(conn.execute(select(Position.source, func.count()).group_by(Position.source)).all())
    assert sources == {"live": 100, "dock": 50}


def test_latest_position_per_vehicle_is_kept_current_without_scans(engine):
    ref = ensure_device(engine, "unit 1", vehicle="Van 7")
    writer = PositionWriter(engine, ref, "live")
    writer.write(_fixes(10))
    writer.write(_fixes(5, T0 - timedelta(hours=1)))  # older data arriving late does not move the van back
    with engine.connect() as conn:
        latest = conn.execute(select(LatestPosition.fix_time_ms)).one()
        device = conn.execute(select(Device.last_fix_ms)).one()
    assert latest.fix_time_ms == device.last_fix_ms
    assert datetime.fromtimestamp(latest.fix_time_ms / 1000, UTC) == T0 + timedelta(seconds=9)


def test_several_units_in_one_transaction_each_counted_and_kept_current(engine):
    """The live flush: every unit's batch in one transaction, each told what it stored, each unit's newest fix
    recorded even when the same unit comes twice with older fixes second."""
    from fleet_desk.store.positions import write_batches

    a = PositionWriter(engine, ensure_device(engine, "unit A", vehicle="Van 1"), "live")
    b = PositionWriter(engine, ensure_device(engine, "unit B", vehicle="Van 2"), "live")
    b.write(_fixes(3))
    with engine.begin() as conn:
        results = write_batches(conn, [(a, _fixes(10)), (b, _fixes(5)), (a, _fixes(4, T0 - timedelta(hours=1)))])
    assert [(r.stored, r.duplicates) for r in results] == [(10, 0), (2, 3), (4, 0)]
    with engine.connect() as conn:
        last = dict(conn.execute(select(Device.name, Device.last_fix_ms)).all())
        latest = dict(conn.execute(select(LatestPosition.vehicle_id, LatestPosition.fix_time_ms)).all())
    newest_a, newest_b = (int((T0 + timedelta(seconds=s)).timestamp() * 1000) for s in (9, 4))
    assert last == {"unit A": newest_a, "unit B": newest_b}
    assert latest == {a.device.vehicle_id: newest_a, b.device.vehicle_id: newest_b}


def test_device_and_vehicle_created_on_first_use_and_reassigned(engine):
    a = ensure_device(engine, "unit 1")
    b = ensure_device(engine, "unit 1", vehicle="Van 3")
    c = ensure_device(engine, "unit 1")
    assert a.id == b.id == c.id
    assert a.vehicle_id is None and b.vehicle_name == "Van 3" and c.vehicle_name == "Van 3"


def test_failed_batch_leaves_earlier_batches_stored(engine):
    ref = ensure_device(engine, "unit 1")
    writer = PositionWriter(engine, ref, "import")
    writer.write(_fixes(20))
    bad = _fixes(3, T0 + timedelta(hours=1))
    bad[1] = Fix(bad[1].time, None, None)  # type: ignore[arg-type]  # a NULL position violates the schema
    try:
        writer.write(bad)
    except Exception:
        pass
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Position)) == 20


def test_older_database_is_upgraded_on_open(db_url):
    """A database at an older revision runs the migrations it lacks when opened, and keeps its data."""
    from alembic import command

    old = create_db_engine(db_url)
    command.upgrade(alembic_config(old), "0003")
    with old.begin() as conn:
        conn.execute(text("INSERT INTO devices (id, name, family) VALUES (1, 'unit 1', 'nmea')"))
    assert current_revision(old) == "0003"
    old.dispose()
    engine = open_database(db_url)
    assert current_revision(engine) == HEAD
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM devices")).scalars().all() == ["unit 1"]
    engine.dispose()


def test_orders_stored_before_the_lookup_keys_get_them_from_their_own_numbers_not_the_settings(db_url: str) -> None:
    """Migration 0005 keys the orders already stored: national numbers read with the region of the stored
    international ones, whatever the user's settings say (a migration reads none), names and streets as words."""
    from alembic import command

    from fleet_desk.settings import Settings

    old = create_db_engine(db_url)
    command.upgrade(alembic_config(old), "0004")
    with old.begin() as conn:
        conn.execute(text("INSERT INTO vehicles (id, name) VALUES (1, 'Van 1')"))
        conn.execute(text("INSERT INTO routes (id, route_key, service_date, vehicle_id, status) "
                          "VALUES (1, 'R01', '2026-11-20', 1, 'planned')"))
        for i, (phone, email, name, address) in enumerate([
                ("+33 4 72 00 00 01", "Anna@Example.com", "Anna Keller", "3 rue Créqui, Lyon"),
                ("+33 4 72 00 00 02", None, "Karim Benali", "10 cours Lafayette, Lyon"),
                ("04 72 00 00 03", "nobody", "Élodie Martin", "12 rue de la République, Lyon")], start=1):
            conn.execute(text(
                "INSERT INTO stops (id, route_id, sequence, order_id, tracking_number, customer_name, phone, email, "
                "address, lat, lon, window_start_ms, window_end_ms, service_s, status) VALUES (:i, 1, :i, :o, :t, "
                ":name, :phone, :email, :address, 45.75, 4.85, 0, 1, 240, 'pending')"),
                {"i": i, "o": f"O-{i}", "t": f"T-{i}", "name": name, "phone": phone, "email": email,
                 "address": address})
    old.dispose()
    before = Settings.path().read_bytes() if Settings.path().exists() else None
    Settings(phone_region="DE").save()  # the user's setting: not the migration's to read
    try:
        engine = open_database(db_url)
    finally:
        if before is None:
            Settings.path().unlink()
        else:
            Settings.path().write_bytes(before)
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT phone_key, email_key FROM stops ORDER BY id")).all()
        words = set(conn.execute(text("SELECT term FROM lookup_terms WHERE stop_id = 3")).scalars())
    engine.dispose()
    assert [tuple(k) for k in keys] == [("+33472000001", "anna@example.com"), ("+33472000002", None),
                                        ("+33472000003", None)]
    assert words == {"elodie", "martin", "rue", "de", "la", "republique", "lyon"}


def test_migrations_build_the_schema_the_models_describe(db_url):
    """Every migration from the first, compared with the models by Alembic's autogenerate (types and server
    defaults included), leaves nothing to change: a model changed without a migration fails here."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from fleet_desk.store import partitions  # the positions partitions (PostgreSQL) are not the models' tables
    from fleet_desk.store.models import Base

    engine = create_db_engine(db_url)
    command.upgrade(alembic_config(engine), "head")
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True,
                                                         "include_name": partitions.include_name})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000
    engine.dispose()


def test_a_database_path_in_a_folder_that_does_not_exist_is_refused_for_every_caller(tmp_path):
    """The app and the command line alike: a mistyped path is not a new, empty depot (one road, in the store)."""
    from fleet_desk.store import DatabaseError

    typo = tmp_path / "depto" / "depot.db"
    with pytest.raises(DatabaseError, match="there is no folder .*depto; check the database path given"):
        open_database(f"sqlite:///{typo}")
    assert not typo.parent.exists()
    engine = open_database(f"sqlite:///{tmp_path / 'depot.db'}")  # a new file in a folder that exists: made
    engine.dispose()
