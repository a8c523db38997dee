"""Tools > Outbox: what was told to customers, what waits, what the endpoint refused, and why.

Counts and the last error at the top; the newest events in a table; the
exact payload and the endpoint's answer of the selected one below. Retry now,
pause and a signed test event. Reads run in the background.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QModelIndex, Qt
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

from fleet_desk.depot import Depot
from fleet_desk.push.outbox import STATUSES, OutboxRow, outbox_event, outbox_rows
from fleet_desk.push.sender import check_connection
from fleet_desk.ui.models.outbox import STATUS_WORDS, OutboxModel
from fleet_desk.ui.outbox_feed import OutboxFeed
from fleet_desk.ui.tasks import run_in_background

SHOWN = 500


class OutboxMonitor(QDialog):
    """The outbox as ``feed`` (the window's sender) reports it, its rows read from ``depot``'s database and
    their times shown at the depot."""

    def __init__(self, feed: OutboxFeed, depot: Depot, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.depot = depot
        self.feed = feed
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

        self.model = OutboxModel(lambda: depot.rules.timezone, self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        rows = self.table.verticalHeader()  # one line a row: an answer's long text elides, whole in its tooltip
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setAlternatingRowColors(True)
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
        engine, status = self.depot.engine, self.filter.currentData()
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
        engine, oid = self.depot.engine, self.model.rows[current.row()].id
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
        endpoint = self.feed.outbox_sender.endpoint
        self.test_result.setText(f"Sending a signed test event to {endpoint.shown}…")
        self.test_button.setEnabled(False)

        def done(result: tuple[bool, str]) -> None:
            ok, text = result
            self.test_result.setText(("✔ " if ok else "✖ ") + text)
            self.test_result.setStyleSheet(f"color: {'#2e7d32' if ok else '#c62828'}")
            self.test_button.setEnabled(True)

        run_in_background(lambda: check_connection(endpoint), done, owner=self)
