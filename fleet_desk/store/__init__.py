"""The depot database: schema, registry of units and vehicles, position writes."""

from fleet_desk.store.database import DatabaseError, open_database, resolve_url
from fleet_desk.store.positions import BatchResult, PositionWriter
from fleet_desk.store.registry import DeviceRef, ensure_device

__all__ = [
    "BatchResult",
    "DatabaseError",
    "DeviceRef",
    "PositionWriter",
    "ensure_device",
    "open_database",
    "resolve_url",
]
