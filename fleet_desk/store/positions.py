"""Writing fixes: one transaction per batch, each fix stored once.

The same fix from the same unit (same device, same fix time) is skipped by
the database's unique key, so a log imported twice or a unit docked after it
streamed live never doubles a position. The vehicle's latest position and
the unit's last fix time are updated in the same transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from fleet_desk.gps.fix import Fix
from fleet_desk.store.models import Device, LatestPosition, Position
from fleet_desk.store.registry import DeviceRef
from fleet_desk.store.timeutil import to_ms

SOURCES = ("live", "dock", "import")

#: Called inside the batch's transaction with the fixes just written, so that
#: state derived from positions commits (or not) together with them.
BatchHook = Callable[[Connection, DeviceRef, Sequence[Fix], str], None]


@dataclass(slots=True)
class BatchResult:
    stored: int = 0
    duplicates: int = 0

    def __iadd__(self, other: BatchResult) -> BatchResult:
        self.stored += other.stored
        self.duplicates += other.duplicates
        return self


@functools.cache
def _statements(dialect: str) -> tuple:
    """The batch's three statements, built once per backend (building them costs more than running them)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    positions = (
        insert(Position)
        .on_conflict_do_nothing(index_elements=["device_id", "fix_time_ms"])
        .returning(Position.device_id, Position.fix_time_ms)
    )
    last_fix = (
        update(Device)
        .where(Device.id == bindparam("device"))
        .where(or_(Device.last_fix_ms.is_(None), Device.last_fix_ms < bindparam("newest")))
        .values(last_fix_ms=bindparam("newest"))
    )
    latest = insert(LatestPosition)
    latest = latest.on_conflict_do_update(
        index_elements=["vehicle_id"],
        set_={k: latest.excluded[k] for k in _LATEST_COLUMNS if k != "vehicle_id"},
        where=LatestPosition.fix_time_ms < latest.excluded.fix_time_ms,
    )
    return positions, last_fix, latest


_LATEST_COLUMNS = ("vehicle_id", "device_id", "fix_time_ms", "lat", "lon", "speed_mps", "course_deg", "source")


class PositionWriter:
    """Stores batches of one unit's fixes."""

    def __init__(self, engine: Engine, device: DeviceRef, source: str, hooks: Sequence[BatchHook] = ()):
        if source not in SOURCES:
            raise ValueError(f"unknown position source {source!r}")
        self.engine = engine
        self.device = device
        self.source = source
        self.hooks = list(hooks)

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

    def rows(self, fixes: Sequence[Fix]) -> list[dict]:
        device, source = self.device, self.source
        return [
            {
                "device_id": device.id,
                "vehicle_id": device.vehicle_id,
                "fix_time_ms": to_ms(f.time),
                "lat": f.lat,
                "lon": f.lon,
                "speed_mps": f.speed_mps,
                "course_deg": f.course_deg,
                "alt_m": f.alt_m,
                "hdop": f.hdop,
                "sats": f.sats,
                "fix_quality": f.fix_quality,
                "source": source,
            }
            for f in fixes
        ]


def write_batches(conn: Connection, batches: Sequence[tuple[PositionWriter, Sequence[Fix]]]) -> list[BatchResult]:
    """Several units' batches in the caller's transaction, with one statement of each kind for all of them.

    Live ingestion stores every unit's last second this way: three statements
    a second for the whole fleet instead of three per unit.
    """
    positions, last_fix, latest = _statements(conn.dialect.name)
    rows: list[dict] = []
    newest: dict[int, dict] = {}
    for writer, fixes in batches:
        unit_rows = writer.rows(fixes)
        rows += unit_rows
        if unit_rows:
            newest[writer.device.id] = max(unit_rows, key=lambda r: r["fix_time_ms"])
    if not rows:
        return [BatchResult() for _ in batches]
    stored_by_device: dict[int, int] = {}
    for device_id, _t in conn.execute(positions, rows).all():
        stored_by_device[device_id] = stored_by_device.get(device_id, 0) + 1
    conn.execute(last_fix, [{"device": d, "newest": r["fix_time_ms"]} for d, r in newest.items()])
    latest_rows = [{k: r[k] for k in _LATEST_COLUMNS} for r in newest.values() if r["vehicle_id"] is not None]
    if latest_rows:
        conn.execute(latest, latest_rows)
    results = []
    for writer, fixes in batches:
        stored = stored_by_device.pop(writer.device.id, 0)
        for hook in writer.hooks:
            if fixes:
                hook(conn, writer.device, fixes, writer.source)
        results.append(BatchResult(stored=stored, duplicates=len(fixes) - stored))
    return results
