"""Writing fixes: one transaction per batch, each fix stored once.

The same fix from the same unit (same device, same fix time) is skipped by
the database's unique key, so a log imported twice or a unit docked after it
streamed live never doubles a position. The vehicle's latest position, the
unit's last fix time and the change desks wake on (one per vehicle that moved)
are written in the same transaction.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, Update, bindparam, or_, update

from fleet_desk.gps.fix import Fix
from fleet_desk.store.changes import record
from fleet_desk.store.models import Device, LatestPosition, Position
from fleet_desk.store.registry import DeviceRef
from fleet_desk.times import to_ms

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

SOURCES = ("live", "dock", "import")

#: Called inside the batch's transaction with the fixes just written, so that
#: state derived from positions commits (or not) together with them.
BatchHook = Callable[[Connection, DeviceRef, Sequence[Fix], str], None]


@dataclass(slots=True)
class BatchResult:
    """What writing fixes did: positions stored, and duplicates skipped by the unique key (the same unit
    and fix time stored before); adds up over batches with ``+=``."""

    stored: int = 0
    duplicates: int = 0

    def __iadd__(self, other: BatchResult) -> BatchResult:
        self.stored += other.stored
        self.duplicates += other.duplicates
        return self


#: A stored position's columns, in the order `PositionWriter.rows` gives them.
_POSITION_COLUMNS = ("device_id", "vehicle_id", "fix_time_ms", "lat", "lon", "speed_mps", "course_deg", "alt_m",
                     "hdop", "sats", "fix_quality", "source")
_LATEST_COLUMNS = ("vehicle_id", "device_id", "fix_time_ms", "lat", "lon", "speed_mps", "course_deg", "source")
_LATEST_AT = [_POSITION_COLUMNS.index(k) for k in _LATEST_COLUMNS]
_TIME_AT = _POSITION_COLUMNS.index("fix_time_ms")
_VEHICLE_AT = _POSITION_COLUMNS.index("vehicle_id")
_fix_time = operator.itemgetter(_TIME_AT)
#: One fix as a row of `_POSITION_COLUMNS`.
type StoredRow = tuple[int, int | None, int, float, float, float | None, float | None, float | None, float | None,
                             int | None, int, str]


@functools.cache
def _insert_positions(paramstyle: str) -> str:
    """The positions INSERT, handed to the driver as it is (same SQL on SQLite and PostgreSQL).

    A day's log is 86,400 rows: SQLAlchemy's per-row parameter processing
    took longer than the database's own work, so rows go to the driver's
    executemany as plain tuples. A fix already stored is skipped by the
    unique key; the driver's row count says how many were new.
    """
    mark = "?" if paramstyle == "qmark" else "%s"
    return (f"INSERT INTO {Position.__tablename__} ({', '.join(_POSITION_COLUMNS)}) "
            f"VALUES ({', '.join([mark] * len(_POSITION_COLUMNS))}) ON CONFLICT (device_id, fix_time_ms) DO NOTHING")


@functools.cache
def _statements(dialect: str) -> tuple[Update, postgresql.Insert | sqlite.Insert]:
    """The batch's bookkeeping statements, built once per backend (building them costs more than running them):
    the units' last fix times, and the vehicles' latest positions (an upsert, in the backend's own form)."""
    latest: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":  # imported only here: the PostgreSQL dialects pull in asyncio
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        latest = postgresql_insert(LatestPosition)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        latest = sqlite_insert(LatestPosition)
    last_fix = (
        update(Device)
        .where(Device.id == bindparam("device"))
        .where(or_(Device.last_fix_ms.is_(None), Device.last_fix_ms < bindparam("newest")))
        .values(last_fix_ms=bindparam("newest"))
    )
    latest = latest.on_conflict_do_update(
        index_elements=["vehicle_id"],
        set_={k: latest.excluded[k] for k in _LATEST_COLUMNS if k != "vehicle_id"},
        where=LatestPosition.fix_time_ms < latest.excluded.fix_time_ms,
    )
    return last_fix, latest


class PositionWriter:
    """Stores batches of one unit's fixes."""

    def __init__(self, engine: Engine, device: DeviceRef, source: str, hooks: Sequence[BatchHook] = (),
                 desk: str | None = None) -> None:
        """``desk``: the desk storing them, which the change log names (None: this computer's name)."""
        if source not in SOURCES:
            raise ValueError(f"unknown position source {source!r}")
        self.engine = engine
        self.device = device
        self.source = source
        self.hooks = list(hooks)
        self.desk = desk

    def write(self, fixes: Sequence[Fix]) -> BatchResult:
        """Store one batch in one transaction; returns what was new."""
        if not fixes:
            return BatchResult()
        try:
            with self.engine.begin() as conn:
                return self.write_in(conn, fixes)
        except Exception:
            self.rolled_back()
            raise

    def rolled_back(self) -> None:
        """The transaction with this writer's batch failed: hooks drop what they cached from it."""
        for hook in self.hooks:
            forget = getattr(hook, "invalidate", None)
            if forget is not None:
                forget(self.device.vehicle_id)

    def write_in(self, conn: Connection, fixes: Sequence[Fix]) -> BatchResult:
        """Store a batch inside the caller's transaction."""
        return write_batches(conn, [(self, fixes)])[0]

    def rows(self, fixes: Sequence[Fix]) -> list[StoredRow]:
        """The fixes as rows of `_POSITION_COLUMNS`."""
        device, vehicle, source = self.device.id, self.device.vehicle_id, self.source
        return [
            (device, vehicle, to_ms(f.time), f.lat, f.lon, f.speed_mps, f.course_deg, f.alt_m, f.hdop, f.sats,
             f.fix_quality, source)
            for f in fixes
        ]


def write_batches(conn: Connection, batches: Sequence[tuple[PositionWriter, Sequence[Fix]]]) -> list[BatchResult]:
    """Several units' batches in the caller's transaction: each unit's rows in one executemany (its row
    count is what that unit stored), the units' last fix and the vehicles' latest positions in one statement
    each for all of them.

    Live ingestion stores every unit's last second this way: one transaction
    a second for the whole fleet instead of one per unit.
    """
    last_fix, latest = _statements(conn.dialect.name)
    insert = _insert_positions(conn.dialect.paramstyle)
    cursor = conn.connection.cursor()  # the DBAPI cursor, inside this connection's transaction
    stored_by_writer: list[int] = []
    newest: dict[int, StoredRow] = {}  # each unit's newest row
    try:
        for writer, fixes in batches:
            rows = writer.rows(fixes)
            if not rows:
                stored_by_writer.append(0)
                continue
            cursor.executemany(insert, rows)
            stored_by_writer.append(cursor.rowcount)
            unit_newest = max(rows, key=_fix_time)
            earlier = newest.get(writer.device.id)
            if earlier is None or _fix_time(earlier) < _fix_time(unit_newest):
                newest[writer.device.id] = unit_newest
    finally:
        cursor.close()
    if newest:
        conn.execute(last_fix, [{"device": d, "newest": r[_TIME_AT]} for d, r in newest.items()])
        latest_rows = [dict(zip(_LATEST_COLUMNS, (r[i] for i in _LATEST_AT), strict=True))
                       for r in newest.values() if r[_VEHICLE_AT] is not None]
        if latest_rows:
            conn.execute(latest, latest_rows)
    moved: dict[str | None, set[int]] = {}  # by the desk storing them
    for (writer, _fixes), stored in zip(batches, stored_by_writer, strict=True):
        if stored and writer.device.vehicle_id is not None:
            moved.setdefault(writer.desk, set()).add(writer.device.vehicle_id)
    for desk, vehicles in moved.items():  # desks wake on it when this commits (`fleet_desk.store.changes`)
        record(conn, "position", vehicles, desk)
    results = []
    for (writer, fixes), stored in zip(batches, stored_by_writer, strict=True):
        if fixes:
            for hook in writer.hooks:
                hook(conn, writer.device, fixes, writer.source)
        results.append(BatchResult(stored=stored, duplicates=len(fixes) - stored))
    return results
