"""Positions by month on PostgreSQL: one partition a month, made ahead of time, dropped whole.

On PostgreSQL `positions` is partitioned by range of ``fix_time_ms``, one
partition per UTC calendar month (``positions_2026_12`` holds December 2026),
plus ``positions_default`` for whatever falls in a month not made yet, so no
insert ever fails (migration 0010). Thinning a month then touches that
month's partition alone, and a month no longer wanted is dropped whole, with
no table-wide rewrite. The nightly maintenance makes this month's and next
month's partitions ahead of time (`ensure_months`); if fixes already landed in
the default partition for a month (a desk that did not run it), they are
moved into the month's new partition in the same transaction.

SQLite keeps one plain table: every function here does nothing there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

TABLE = "positions"
#: How long making a partition waits for the table (seconds) before giving up until the next maintenance.
LOCK_WAIT_S = 10
DEFAULT = f"{TABLE}_default"
_MONTHLY = re.compile(rf"^{TABLE}_(\d{{4}})_(\d{{2}})$")
#: Every column of a position, in table order (a partition made by hand matches the table's).
COLUMNS = ("id", "device_id", "vehicle_id", "fix_time_ms", "lat", "lon", "speed_mps", "course_deg", "alt_m",
           "hdop", "sats", "fix_quality", "source")


@dataclass(frozen=True, order=True)
class Month:
    """One UTC calendar month, the span of one partition."""

    year: int
    month: int

    @classmethod
    def of_ms(cls, ms: int) -> Month:
        """The month a time (ms since the epoch, UTC) falls in."""
        at = datetime.fromtimestamp(ms / 1000, UTC)
        return cls(at.year, at.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        """The month after this one."""
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    @property
    def start_ms(self) -> int:
        """Its first millisecond (inclusive)."""
        return int(datetime(self.year, self.month, 1, tzinfo=UTC).timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        """The first millisecond of the next month (exclusive)."""
        return self.next().start_ms

    @property
    def table(self) -> str:
        """Its partition's name."""
        return f"{TABLE}_{self.year:04d}_{self.month:02d}"


def is_partition(name: str) -> bool:
    """Whether a table name is one of the positions partitions (for Alembic's autogenerate: the models
    describe the partitioned table, not its months)."""
    return name == DEFAULT or _MONTHLY.match(name) is not None


def include_name(name: str | None, type_: str, _parent: object = None) -> bool:
    """An Alembic ``include_name`` hook: everything but the positions partitions."""
    return not (type_ == "table" and name is not None and is_partition(name))


def partitioned(conn: Connection) -> bool:
    """Whether ``positions`` is partitioned here (PostgreSQL at migration 0010 or later)."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.scalar(text(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:t))"), {"t": TABLE}))


def months(conn: Connection) -> list[Month]:
    """The months that have a partition, oldest first (empty: not partitioned)."""
    if not partitioned(conn):
        return []
    names = conn.scalars(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t)"), {"t": TABLE})
    found = []
    for name in names:
        m = _MONTHLY.match(name)
        if m:
            found.append(Month(int(m.group(1)), int(m.group(2))))
    return sorted(found)


def create_month(conn: Connection, month: Month) -> bool:
    """Make one month's partition if it is not there (in the caller's transaction); fixes of that month
    already in the default partition move into it. True: made now."""
    exists = conn.scalar(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": month.table})
    if exists:
        return False
    lo, hi = month.start_ms, month.end_ms
    stray = conn.scalar(text(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE fix_time_ms >= :lo AND fix_time_ms < :hi)"),
        {"lo": lo, "hi": hi}) if conn.scalar(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": DEFAULT}) else False
    if not stray:
        conn.execute(text(
            f"CREATE TABLE IF NOT EXISTS {month.table} PARTITION OF {TABLE} FOR VALUES FROM ({lo}) TO ({hi})"))
        return True
    # The default partition holds fixes of this month: a partition cannot be made over them, so they move
    # into a table of their own first, which is then attached (all in the caller's transaction).
    cols = ", ".join(COLUMNS)
    conn.execute(text(f"CREATE TABLE {month.table} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    conn.execute(text(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE fix_time_ms >= :lo AND fix_time_ms < :hi RETURNING {cols}) "
        f"INSERT INTO {month.table} ({cols}) SELECT {cols} FROM moved"), {"lo": lo, "hi": hi})
    conn.execute(text(f"ALTER TABLE {TABLE} ATTACH PARTITION {month.table} FOR VALUES FROM ({lo}) TO ({hi})"))
    return True


def create_months(conn: Connection, wanted: Iterable[Month]) -> list[Month]:
    """Make the partitions of these months that are missing (caller's transaction); returns those made."""
    return [m for m in sorted(set(wanted)) if create_month(conn, m)]


def ensure_months(engine: Engine, now_ms: int) -> list[Month]:
    """This month's and next month's partitions made if missing (the nightly maintenance calls it, so a month
    begins with its partition ready); returns those made. Nothing on SQLite or an unpartitioned table.

    Making a partition locks the whole table for a moment. Two desks making them at once take turns (an
    advisory lock on the depot's schema); one that would wait more than `LOCK_WAIT_S` behind a long reader
    gives up and logs it (its fixes go to the default partition meanwhile; the next run moves them).
    """
    if engine.dialect.name != "postgresql":
        return []
    this = Month.of_ms(now_ms)
    try:
        with engine.begin() as conn:
            if not partitioned(conn):
                return []
            conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT_S}s'"))
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('fleet_desk.partitions.' || current_schema()))"))
            return create_months(conn, [this, this.next()])
    except OperationalError as e:
        if getattr(e.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        log.warning("positions partitions for %s not made: the table was busy for %d s; the next maintenance "
                    "makes them", this, LOCK_WAIT_S)
        return []


def drop_months_before(conn: Connection, month: Month) -> list[Month]:
    """Drop whole the partitions of every month before ``month`` (caller's transaction): their positions are
    gone, stop visits and all, at the cost of removing a file. Returns the months dropped. The default
    partition is left alone. Nothing on SQLite."""
    doomed = [m for m in months(conn) if m < month]
    for m in doomed:
        conn.execute(text(f"DROP TABLE {m.table}"))
    return doomed
