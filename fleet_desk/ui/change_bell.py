"""What the window wakes on: the database's changes, whoever made them, as one Qt signal.

Owns the window's `ChangeListener` (LISTEN/NOTIFY on PostgreSQL, a cheap
poll of the newest change id on SQLite). What arrives on the listener's thread
is gathered by kind and handed to the GUI thread as one ``changed`` signal;
while the GUI thread has not taken the last batch yet, more changes join it
instead of queueing another signal, so a busy depot costs the window one
wake-up per turn of its event loop, not one per change.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal
from sqlalchemy import Engine

from fleet_desk import messages
from fleet_desk.store.changes import ChangeListener, ChangeRow


class ChangeBell(QObject):
    """Rings ``changed({kind: {ids}})`` on the GUI thread when something changed on the database: positions
    (vehicle ids), stops, routes, outbox events, units."""

    changed = Signal(dict)  # kind -> set of ids (vehicles, stops, routes, outbox events, units)
    _arrived = Signal()

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.listener = ChangeListener(engine, on_error=messages.warning)
        self.listener.subscribe(self._on_rows)
        self._lock = threading.Lock()
        self._pending: dict[str, set[int]] = {}
        self._arrived.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        self.listener.start()

    def stop(self) -> None:
        self.listener.stop()

    def _on_rows(self, rows: list[ChangeRow]) -> None:  # the listener's thread
        with self._lock:
            ring = not self._pending
            for row in rows:
                self._pending.setdefault(row.kind, set()).add(row.ref_id)
        if ring:
            self._arrived.emit()

    def _deliver(self) -> None:
        with self._lock:
            kinds, self._pending = self._pending, {}
        if kinds:
            self.changed.emit(kinds)
