"""The Outbox monitor's model: the newest customer notices, their status, tries and the endpoint's answer."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from fleet_desk import times
from fleet_desk.push.outbox import OutboxRow
from fleet_desk.ui.models.rows import RowsModel

COLUMNS = ("#", "Queued", "Order", "Event", "Status", "Tries", "Endpoint's answer / next try")
STATUS_COLORS = {"pending": "#1565c0", "sent": "#2e7d32", "dead": "#c62828", "superseded": "#757575"}
STATUS_WORDS = {"pending": "waiting", "sent": "sent", "dead": "refused", "superseded": "superseded"}

Index = QModelIndex | QPersistentModelIndex


class OutboxModel(RowsModel[OutboxRow]):
    """The outbox's newest events; times at the depot (``zone()``: its time zone now)."""

    COLUMNS = COLUMNS

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (row.id, self._clock(row.created_ms), row.order_id, row.type,
                    STATUS_WORDS.get(row.status, row.status), row.attempts, self._answer(row))[column]
        if role == Qt.ItemDataRole.ForegroundRole and column == 4:
            return QColor(STATUS_COLORS.get(row.status, "#000000"))
        if role == Qt.ItemDataRole.ToolTipRole and column == 6:
            return row.last_error
        return None

    def _clock(self, ms: int | None) -> str:
        return times.hhmmss(ms, self.zone())

    def _answer(self, row: OutboxRow) -> str:
        if row.status == "sent":
            return f"accepted at {self._clock(row.sent_ms)}"
        if row.status == "pending" and row.last_error:
            return f"next try {self._clock(row.next_attempt_ms)} — {row.last_error}"
        return row.last_error or ""
