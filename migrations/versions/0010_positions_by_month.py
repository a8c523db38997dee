"""positions by month on PostgreSQL: partitioned by range of fix_time_ms, one partition per UTC month

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

On PostgreSQL `positions` becomes a table partitioned by RANGE (fix_time_ms): one partition per UTC calendar
month (``positions_2026_12``) for every month that has fixes, this month and the next, plus
``positions_default`` so that no insert ever fails. Thinning a month then works on that month's partition
alone and an old month can be dropped whole (`fleet_desk.store.partitions`), with no table-wide rewrite. The
nightly maintenance makes next month's partition ahead of time.

A partitioned table's primary key and unique keys must hold the partition key: the primary key becomes
(id, fix_time_ms) (ids still come from the same sequence, so they stay unique); the duplicate key
(device_id, fix_time_ms) that ``ON CONFLICT`` relies on holds it already. The index (vehicle_id, fix_time_ms)
and both foreign keys are kept, under their names.

Every row is copied into the new table in this migration's transaction, a one-time full copy (2 million
positions took 45 s on 2 busy cores); the downgrade copies them back into one plain table. SQLite: nothing
changes.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_COLUMNS = ("id, device_id, vehicle_id, fix_time_ms, lat, lon, speed_mps, course_deg, alt_m, hdop, sats, "
            "fix_quality, source")
_BODY = """
    id BIGINT NOT NULL DEFAULT nextval('positions_id_seq'::regclass),
    device_id INTEGER NOT NULL,
    vehicle_id INTEGER,
    fix_time_ms BIGINT NOT NULL,
    lat DOUBLE PRECISION NOT NULL,
    lon DOUBLE PRECISION NOT NULL,
    speed_mps DOUBLE PRECISION,
    course_deg DOUBLE PRECISION,
    alt_m DOUBLE PRECISION,
    hdop DOUBLE PRECISION,
    sats SMALLINT,
    fix_quality SMALLINT NOT NULL,
    source VARCHAR(10) NOT NULL,
    CONSTRAINT {pk},
    CONSTRAINT uq_positions_device_id_fix_time_ms UNIQUE (device_id, fix_time_ms),
    CONSTRAINT fk_positions_device_id_devices FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE,
    CONSTRAINT fk_positions_vehicle_id_vehicles FOREIGN KEY (vehicle_id) REFERENCES vehicles (id)
        ON DELETE SET NULL
"""
_CONSTRAINTS = ("fk_positions_device_id_devices", "fk_positions_vehicle_id_vehicles",
                "uq_positions_device_id_fix_time_ms", "pk_positions")


def _month_start_ms(year: int, month: int) -> int:
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _set_aside(old: str) -> None:
    """The table as it was renamed to ``old``, its keys and index dropped (their names go to the new table), its
    id sequence no longer owned by it (dropping it must not drop the sequence)."""
    op.execute(f"ALTER TABLE positions RENAME TO {old}")
    op.execute("DROP INDEX ix_positions_vehicle_time")
    for name in _CONSTRAINTS:
        op.execute(f"ALTER TABLE {old} DROP CONSTRAINT {name}")
    op.execute("ALTER SEQUENCE positions_id_seq OWNED BY NONE")


def _copy_from(old: str) -> None:
    op.execute(f"INSERT INTO positions ({_COLUMNS}) SELECT {_COLUMNS} FROM {old}")
    op.execute(f"DROP TABLE {old}")
    op.execute("ALTER SEQUENCE positions_id_seq OWNED BY positions.id")
    op.execute("CREATE INDEX ix_positions_vehicle_time ON positions (vehicle_id, fix_time_ms)")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    old = "positions_before_0010"
    # The months that have fixes (one index-only pass over the duplicate key would not give them; a scan of
    # fix times grouped by month is one read of the table, as the copy is).
    months = {(int(y), int(m)) for y, m in bind.execute(sa.text(
        "SELECT DISTINCT EXTRACT(YEAR FROM t), EXTRACT(MONTH FROM t) "
        "FROM (SELECT to_timestamp(fix_time_ms / 1000.0) AT TIME ZONE 'UTC' AS t FROM positions) s"))}
    now = datetime.now(UTC)
    months |= {(now.year, now.month), _next(now.year, now.month)}
    _set_aside(old)
    op.execute(f"CREATE TABLE positions ({_BODY.format(pk='pk_positions PRIMARY KEY (id, fix_time_ms)')}) "
               "PARTITION BY RANGE (fix_time_ms)")
    for year, month in sorted(months):
        lo, hi = _month_start_ms(year, month), _month_start_ms(*_next(year, month))
        op.execute(f"CREATE TABLE positions_{year:04d}_{month:02d} PARTITION OF positions "
                   f"FOR VALUES FROM ({lo}) TO ({hi})")
    op.execute("CREATE TABLE positions_default PARTITION OF positions DEFAULT")
    _copy_from(old)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    old = "positions_by_month"
    _set_aside(old)
    op.execute(f"CREATE TABLE positions ({_BODY.format(pk='pk_positions PRIMARY KEY (id)')})")
    _copy_from(old)  # dropping the partitioned table drops its partitions
