"""Positions by month on the real PostgreSQL (migration 0010, `fleet_desk.store.partitions`); SQLite unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from fleet_desk.gps import Fix
from fleet_desk.store import PositionWriter, ensure_device, open_database
from fleet_desk.store.database import alembic_config, create_db_engine
from fleet_desk.store.models import Position
from fleet_desk.store.partitions import Month, drop_months_before, months, partitioned
from fleet_desk.store.retention import maintain
from tests.helpers.postgres import schema_url

NOV = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
OCT = datetime(2026, 10, 31, 23, 59, 50, tzinfo=UTC)  # ten seconds before November begins
#: Early this month: a new database has this month's partition (and next month's) from its migration.
TODAY = datetime.now(UTC).replace(day=1, hour=8, minute=0, second=0, microsecond=0)


def _fixes(n: int, start: datetime) -> list[Fix]:
    return [Fix(start + timedelta(seconds=i), 45.0 + i * 1e-4, 4.8, 10.0, 90.0, 170.0, 1, 3, 8, 0.9) for i in range(n)]


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A schema of its own on the real PostgreSQL."""
    with schema_url() as url:
        yield url


def _partition_of(engine: Engine) -> dict[int, str]:
    """Each position's fix time and the partition it is stored in."""
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT fix_time_ms, tableoid::regclass::text FROM positions")).all())


def _upgraded_from_0009_with_rows(url: str) -> Engine:
    from alembic import command

    engine = create_db_engine(url)
    command.upgrade(alembic_config(engine), "0009")
    ref = ensure_device(engine, "unit 1", vehicle="Van 7")
    assert PositionWriter(engine, ref, "import").write(_fixes(20, OCT) + _fixes(30, NOV)).stored == 50
    with engine.connect() as conn:
        assert not partitioned(conn)
    command.upgrade(alembic_config(engine), "head")
    return engine


def test_an_upgraded_database_keeps_every_position_each_in_its_months_partition(pg_url):
    engine = _upgraded_from_0009_with_rows(pg_url)
    where = _partition_of(engine)
    assert len(where) == 50
    assert sorted(where.values()).count("positions_2026_10") == 10
    assert sorted(where.values()).count("positions_2026_11") == 40
    now = Month.of_ms(_ms(datetime.now(UTC)))
    with engine.connect() as conn:
        assert partitioned(conn)
        made = months(conn)
        assert {Month(2026, 10), Month(2026, 11), now, now.next()} == set(made)
        assert conn.scalar(text("SELECT to_regclass('positions_default') IS NOT NULL"))
        # the keys the app relies on, under their names; the primary key now holds the partition key
        assert conn.scalar(text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = "
                                "'uq_positions_device_id_fix_time_ms' AND conrelid = 'positions'::regclass")) \
            == "UNIQUE (device_id, fix_time_ms)"
        assert conn.scalar(text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = "
                                "'pk_positions' AND conrelid = 'positions'::regclass")) \
            == "PRIMARY KEY (id, fix_time_ms)"
    assert "ix_positions_vehicle_time" in {i["name"] for i in inspect(engine).get_indexes("positions")}
    # new fixes take ids after the old ones, from the same sequence
    ref = ensure_device(engine, "unit 1", vehicle="Van 7")
    PositionWriter(engine, ref, "live").write(_fixes(1, NOV + timedelta(hours=1)))
    with engine.connect() as conn:
        ids = conn.scalars(select(Position.id).order_by(Position.fix_time_ms)).all()
    assert len(set(ids)) == 51 and ids[-1] > max(ids[:-1])
    engine.dispose()


def test_a_duplicate_is_still_skipped_and_a_month_with_no_partition_lands_in_the_default(pg_url):
    engine = open_database(pg_url)
    ref = ensure_device(engine, "unit 1", vehicle="Van 7")
    writer = PositionWriter(engine, ref, "live")
    first = writer.write(_fixes(20, TODAY))
    again = PositionWriter(engine, ref, "dock").write(_fixes(30, TODAY))
    assert (first.stored, first.duplicates) == (20, 0)
    assert (again.stored, again.duplicates) == (10, 20)
    far = datetime(2031, 5, 2, tzinfo=UTC)  # no partition for May 2031: the default takes it, no insert fails
    assert writer.write(_fixes(5, far)).stored == 5
    assert writer.write(_fixes(5, far)).duplicates == 5  # the duplicate key holds in the default too
    where = _partition_of(engine)
    assert [where[_ms(far) + i * 1000] for i in range(5)] == ["positions_default"] * 5
    assert {where[_ms(TODAY) + i * 1000] for i in range(30)} == {Month.of_ms(_ms(TODAY)).table}
    engine.dispose()


def test_maintenance_makes_next_months_partition_moving_what_the_default_holds_of_it(pg_url):
    engine = open_database(pg_url)
    ref = ensure_device(engine, "unit 1", vehicle="Van 7")
    later = datetime(2031, 5, 2, tzinfo=UTC)
    PositionWriter(engine, ref, "live").write(_fixes(5, later + timedelta(days=31)))  # June 2031, in the default
    done = maintain(engine, keep_days=30, now_ms=_ms(later))
    assert done.months_made == [Month(2031, 5), Month(2031, 6)]
    assert "positions partitions made ahead for 2031-05, 2031-06" in done.report()
    assert set(_partition_of(engine).values()) == {"positions_2031_06"}
    assert maintain(engine, keep_days=30, now_ms=_ms(later)).months_made == []  # idempotent
    PositionWriter(engine, ref, "live").write(_fixes(5, later))
    assert sorted(set(_partition_of(engine).values())) == ["positions_2031_05", "positions_2031_06"]
    engine.dispose()


def test_a_one_day_query_reads_one_partition_and_old_months_drop_whole(pg_url):
    engine = _upgraded_from_0009_with_rows(pg_url)
    lo, hi = _ms(datetime(2026, 11, 20, tzinfo=UTC)), _ms(datetime(2026, 11, 21, tzinfo=UTC))
    with engine.connect() as conn:
        plan = "\n".join(conn.scalars(text(
            f"EXPLAIN SELECT * FROM positions WHERE vehicle_id = 1 AND fix_time_ms >= {lo} AND fix_time_ms < {hi}")))
        generic = "\n".join(conn.scalars(text(  # bound values, as the app sends them: pruned all the same
            "EXPLAIN SELECT * FROM positions WHERE vehicle_id = :v AND fix_time_ms >= :lo AND fix_time_ms < :hi"),
            {"v": 1, "lo": lo, "hi": hi}))
    for p in (plan, generic):
        assert "positions_2026_11" in p
        assert "positions_2026_10" not in p and "positions_default" not in p and "positions_2026_12" not in p
    with engine.begin() as conn:
        assert drop_months_before(conn, Month(2026, 11)) == [Month(2026, 10)]
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Position)) == 40
        assert Month(2026, 10) not in months(conn)
    engine.dispose()


def test_downgrade_puts_every_position_back_in_one_plain_table(pg_url):
    from alembic import command

    engine = _upgraded_from_0009_with_rows(pg_url)
    command.downgrade(alembic_config(engine), "0009")
    with engine.connect() as conn:
        assert not partitioned(conn)
        assert conn.scalar(select(func.count()).select_from(Position)) == 50
        assert set(conn.scalars(text("SELECT DISTINCT tableoid::regclass::text FROM positions"))) == {"positions"}
        assert conn.scalar(text("SELECT count(*) FROM pg_class WHERE relname LIKE 'positions_20%' "
                                "AND relnamespace = current_schema()::regnamespace")) == 0
    ref = ensure_device(engine, "unit 1", vehicle="Van 7")
    assert PositionWriter(engine, ref, "dock").write(_fixes(31, NOV)).stored == 1  # the key still skips the 30
    command.upgrade(alembic_config(engine), "head")  # and up again
    assert len(_partition_of(engine)) == 51
    engine.dispose()


def test_sqlite_keeps_one_plain_table(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'depot.db'}")
    with engine.connect() as conn:
        assert not partitioned(conn) and months(conn) == []
        assert drop_months_before(conn, Month(2099, 1)) == []
    assert maintain(engine, keep_days=30, now_ms=_ms(NOV)).months_made == []
    assert "positions_default" not in inspect(engine).get_table_names()
    engine.dispose()


def test_maintenance_behind_a_long_reader_gives_up_on_the_partition_and_still_thins(pg_url, monkeypatch, caplog):
    from fleet_desk.store import partitions

    monkeypatch.setattr(partitions, "LOCK_WAIT_S", 1)
    engine = open_database(pg_url)
    later = _ms(datetime(2031, 5, 2, tzinfo=UTC))
    reader = engine.connect()
    try:
        reader.execute(text("SELECT count(*) FROM positions"))  # its transaction holds the table until it ends
        done = maintain(engine, keep_days=30, now_ms=later)
    finally:
        reader.close()
    assert done.months_made == []
    assert "positions partitions for 2031-05 not made: the table was busy for 1 s" in caplog.text
    assert maintain(engine, keep_days=30, now_ms=later).months_made == [Month(2031, 5), Month(2031, 6)]
    engine.dispose()
