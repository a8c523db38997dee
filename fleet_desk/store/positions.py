"""Writing fixes: one transaction per batch, each fix stored once.

The same fix from the same unit (same device, same fix time) is skipped by
the database's unique key, so a log imported twice or a unit docked after it
streamed live never doubles a position. The vehicle's latest position and
the unit's last fix time are updated in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, update
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


def _insert(conn: Connection):  # noqa: ANN202
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


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
        device, source = self.device, self.source
        rows = [
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
        with self.engine.begin() as conn:
            insert = _insert(conn)
            stmt = (
                insert(Position)
                .on_conflict_do_nothing(index_elements=["device_id", "fix_time_ms"])
                .returning(Position.fix_time_ms)
            )
            stored = len(conn.execute(stmt, rows).all())
            newest = max(rows, key=lambda r: r["fix_time_ms"])
            conn.execute(
                update(Device)
                .where(Device.id == device.id)
                .where((Device.last_fix_ms.is_(None)) | (Device.last_fix_ms < newest["fix_time_ms"]))
                .values(last_fix_ms=newest["fix_time_ms"])
            )
            if device.vehicle_id is not None:
                self._update_latest(conn, insert, newest)
            for hook in self.hooks:
                hook(conn, device, fixes, source)
        return BatchResult(stored=stored, duplicates=len(rows) - stored)

    def _update_latest(self, conn: Connection, insert, newest: dict) -> None:  # noqa: ANN001
        values = {
            "vehicle_id": newest["vehicle_id"],
            "device_id": newest["device_id"],
            "fix_time_ms": newest["fix_time_ms"],
            "lat": newest["lat"],
            "lon": newest["lon"],
            "speed_mps": newest["speed_mps"],
            "course_deg": newest["course_deg"],
            "source": newest["source"],
        }
        stmt = insert(LatestPosition).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["vehicle_id"],
            set_={k: stmt.excluded[k] for k in values if k != "vehicle_id"},
            where=LatestPosition.fix_time_ms < stmt.excluded.fix_time_ms,
        )
        conn.execute(stmt)
