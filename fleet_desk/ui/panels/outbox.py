"""Tools > Outbox: what was told to customers, what waits, what the endpoint refused, and why.

Counts and the last error at the top; the newest events in a table; the
exact payload and the endpoint's answer of the selected one below. Retry now,
pause and a signed test event. Reads run in the background.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import tzinfo

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from fleet_desk import times
from fleet_desk.push.outbox import STATUSES, OutboxRow, outbox_event, outbox_rows
from fleet_desk.push.sender import check_connection
from fleet_desk.ui.tasks import run_in_background

COLUMNS = ("#", "Queued", "Order", "Event", "Status", "Tries", "Endpoint's answer / next try")
STATUS_COLORS = {"pending": "#1565c0", "sent": "#2e7d32", "dead": "#c62828", "superseded": "#757575"}
STATUS_WORDS = {"pending": "waiting", "sent": "sent", "dead": "refused", "superseded": "superseded"}
SHOWN = 500

Index = QModelIndex | QPersistentModelIndex


class OutboxModel(QAbstractTableModel):
    """The outbox's newest events; times at the depot (``zone()``: its time zone now)."""

    def __init__(self, zone: Callable[[], tzinfo | None], parent: QWidget | None = None):
        super().__init__(parent)
        self.zone = zone
        self.rows: list[OutboxRow] = []

    def set_rows(self, rows: list[OutboxRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802, ANN201
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201
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


class OutboxMonitor(QDialog):
    def __init__(self, window, parent: QWidget | None = None):  # noqa: ANN001
        super().__init__(parent or window)
        self.window = window
        self.feed = window.outbox
        self.setWindowTitle("Outbox — customer notices")
        self.resize(1000, 640)

        self.counts = QLabel(self)
        self.counts.setTextFormat(Qt.TextFormat.RichText)
        self.target = QLabel(self)
        self.target.setWordWrap(True)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c62828")
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.retry_button = QPushButton("&Retry now", self)
        self.retry_button.setToolTip("Send refused events again and waiting ones at once (after fixing the cause)")
        self.retry_button.clicked.connect(self.feed.retry)
        self.pause_button = QPushButton("&Pause sending", self)
        self.pause_button.setCheckable(True)
        self.pause_button.setChecked(self.feed.paused)
        self.pause_button.toggled.connect(self._pause)
        self.test_button = QPushButton("&Test connection", self)
        self.test_button.clicked.connect(self.test_connection)
        self.filter = QComboBox(self)
        self.filter.addItem("All events", None)
        for status in STATUSES:
            self.filter.addItem(STATUS_WORDS[status].capitalize(), status)
        self.filter.currentIndexChanged.connect(self.reload)
        self.test_result = QLabel(self)
        self.test_result.setWordWrap(True)

        buttons = QHBoxLayout()
        for widget in (self.retry_button, self.pause_button, self.test_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(QLabel("Show:", self))
        buttons.addWidget(self.filter)

        self.model = OutboxModel(lambda: window.rules.timezone, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._picked)
        self.payload = QPlainTextEdit(self)
        self.payload.setReadOnly(True)
        self.payload.setPlaceholderText("Select an event to see the exact payload sent and the endpoint's answer")
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(self.payload)
        split.setSizes([380, 220])

        layout = QVBoxLayout(self)
        layout.addWidget(self.counts)
        layout.addWidget(self.target)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        layout.addWidget(self.test_result)
        layout.addWidget(split, 1)

        self.feed.statusChanged.connect(self._on_status)
        self._on_status(self.feed.status)
        self.reload()

    # Reading
    def reload(self) -> None:
        engine, status = self.window.engine, self.filter.currentData()
        run_in_background(lambda: outbox_rows(engine, status, SHOWN), self._show_rows, owner=self)

    def _show_rows(self, rows: list[OutboxRow]) -> None:
        current = self.table.currentIndex()
        picked = self.model.rows[current.row()].id if current.isValid() else None
        self.model.set_rows(rows)
        for i, row in enumerate(rows):
            if row.id == picked:
                self.table.selectRow(i)
                break

    def _picked(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        engine, oid = self.window.engine, self.model.rows[current.row()].id
        run_in_background(lambda: outbox_event(engine, oid), self._show_event, owner=self)

    def _show_event(self, row: dict | None) -> None:
        if row is None:
            self.payload.setPlainText("This event is no longer in the outbox.")
            return
        lines = [f"Event {row['event_id']} (Idempotency-Key), order {row['order_id']}, sequence {row['sequence']}",
                 f"Status: {STATUS_WORDS.get(row['status'], row['status'])}, {row['attempts']} attempt(s)"]
        if row["response_status"] is not None:
            lines.append(f"Endpoint's last answer: HTTP {row['response_status']} {row['response_body'] or ''}")
        if row["last_error"]:
            lines.append(f"Last error: {row['last_error']}")
        lines += ["", json.dumps(json.loads(row["body"]), indent=2, ensure_ascii=False)]
        self.payload.setPlainText("\n".join(lines))

    def _on_status(self, status: dict) -> None:
        if not status:
            self.counts.setText("Reading the outbox…")
            return
        age = status.get("oldest_pending_age_s")
        waiting = f" (oldest {age / 60:.0f} min)" if age and age >= 60 else ""
        self.counts.setText(
            f"<b>{status['pending']}</b> waiting{waiting} &nbsp; <b>{status['sent']}</b> sent &nbsp; "
            f"<b style='color:#c62828'>{status['dead']}</b> refused &nbsp; {status['superseded']} superseded "
            "(an ETA replaced by a newer one before it went out)")
        if self.feed.problem:
            self.target.setText(f"Not sending: {self.feed.problem}")
        else:
            self.target.setText(f"Sending to {self.feed.endpoint_url}" + (" — paused" if self.feed.paused else ""))
        self.error.setText(f"Last error: {status['last_error']}" if status.get("last_error") else "")
        self.error.setVisible(bool(status.get("last_error")))
        self.test_button.setEnabled(self.feed.problem is None)
        self.reload()

    # Actions
    def _pause(self, paused: bool) -> None:
        self.pause_button.setText("&Resume sending" if paused else "&Pause sending")
        self.feed.set_paused(paused)

    def test_connection(self) -> None:
        endpoint = self.feed.sender.endpoint
        self.test_result.setText(f"Sending a signed test event to {endpoint.shown}…")
        self.test_button.setEnabled(False)

        def done(result: tuple[bool, str]) -> None:
            ok, text = result
            self.test_result.setText(("✔ " if ok else "✖ ") + text)
            self.test_result.setStyleSheet(f"color: {'#2e7d32' if ok else '#c62828'}")
            self.test_button.setEnabled(True)

        run_in_background(lambda: check_connection(endpoint), done, owner=self)


def show_outbox(window) -> OutboxMonitor:  # noqa: ANN001
    """Tools > Outbox (one window, raised if already open)."""
    monitor = getattr(window, "_outbox_monitor", None)
    if monitor is None:
        monitor = window._outbox_monitor = OutboxMonitor(window)
    monitor.show()
    monitor.raise_()
    return monitor
