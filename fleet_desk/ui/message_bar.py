"""The message bar above the map: what users must be told, in plain words.

Subscribes to `fleet_desk.messages`, which any layer and any thread may call;
the signal hop brings each message to the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from fleet_desk import messages
from fleet_desk.messages import Level, Message

STYLE = {
    Level.INFO: "background:#e3f2fd; color:#0d47a1; border:1px solid #90caf9;",
    Level.WARNING: "background:#fff8e1; color:#5d4037; border:1px solid #ffb300;",
    Level.ERROR: "background:#ffebee; color:#b71c1c; border:1px solid #ef9a9a;",
}
SHOWN_MAX = 4
INFO_SECONDS = 8


class _Relay(QObject):
    posted = Signal(object)


class MessageBar(QWidget):
    """Shows the latest few messages; info fades by itself, warnings and errors stay until closed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(4, 2, 4, 2)
        self._layout.setSpacing(2)
        self._relay = _Relay()
        self._relay.posted.connect(self.show_message)
        self._rows: list[tuple[QWidget, Message]] = []  # the rows on the bar, oldest first
        messages.subscribe(self._relay.posted.emit)
        self.setVisible(False)

    def detach(self) -> None:
        messages.unsubscribe(self._relay.posted.emit)

    def show_message(self, message: Message) -> None:
        row = QWidget(self)
        row.setObjectName("messageRow")
        row.setStyleSheet(f"#messageRow {{ {STYLE[message.level]} border-radius: 3px; }}")
        layout = QHBoxLayout(row)
        layout.setContentsMargins(8, 3, 3, 3)
        label = QLabel(message.text, row)
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setStyleSheet(STYLE[message.level].split(" border")[0])
        close = QToolButton(row)
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        layout.addWidget(label, 1)
        layout.addWidget(close)
        self._layout.addWidget(row)
        self._rows.append((row, message))
        close.clicked.connect(lambda: self._dismiss(row))
        if message.level is Level.INFO:
            QTimer.singleShot(INFO_SECONDS * 1000, row, lambda: self._dismiss(row))
        while len(self._rows) > SHOWN_MAX:
            self._dismiss(self._rows[0][0])
        self.setVisible(True)

    def _dismiss(self, row: QWidget) -> None:
        """Take ``row`` off the bar. It stays the bar's child until Qt deletes it: a row given back to Python
        (setParent(None)) was freed by Python at once and deleted again by Qt, which crashed the app when
        messages came in floods."""
        found = next((i for i, (shown, _) in enumerate(self._rows) if shown is row), None)
        if found is None:
            return
        self._rows.pop(found)
        self._layout.removeWidget(row)
        row.hide()
        row.deleteLater()
        self.setVisible(bool(self._rows))

    def texts(self) -> list[str]:
        return [m.text for _row, m in self._rows]
