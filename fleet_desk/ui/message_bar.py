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
        self.shown: list[Message] = []
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
        self.shown.append(message)

        def dismiss() -> None:
            if row.parent() is None:
                return
            row.setParent(None)
            row.deleteLater()
            if message in self.shown:
                self.shown.remove(message)
            self.setVisible(bool(self.shown))

        close.clicked.connect(dismiss)
        if message.level is Level.INFO:
            QTimer.singleShot(INFO_SECONDS * 1000, row, dismiss)
        while self._layout.count() > SHOWN_MAX:
            oldest = self._layout.itemAt(0).widget()
            oldest.setParent(None)
            oldest.deleteLater()
            self.shown.pop(0)
        self.setVisible(True)

    def texts(self) -> list[str]:
        return [m.text for m in self.shown]
