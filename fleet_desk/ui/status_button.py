"""A status-bar button whose text, when the bar is too narrow for it, is cut at its end (never in its middle,
where the cause usually is) with the whole text in its tooltip."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QSizePolicy, QToolButton, QWidget

MIN_CHARS = 24  # what stays readable however narrow the bar gets


class StatusButton(QToolButton):
    """A flat tool button for the status bar: ``setText`` keeps the full text; what is drawn ends in "…" when
    it does not fit, and the tooltip then says it all (before the button's own tooltip)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self._help = ""
        self.setAutoRaise(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:
        self._full = text
        self._fit()
        self.updateGeometry()

    def full_text(self) -> str:
        """The whole text, whatever is drawn."""
        return self._full

    def text(self) -> str:
        """The whole text, as it was set (what is drawn may be cut)."""
        return self._full

    def setToolTip(self, tip: str) -> None:
        self._help = tip
        self._fit()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        margin = hint.width() - self.fontMetrics().horizontalAdvance(super().text())
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + margin, hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(self.sizeHint().width(), self.fontMetrics().averageCharWidth() * MIN_CHARS), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        room = self.width() - (super().sizeHint().width() - self.fontMetrics().horizontalAdvance(super().text()))
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, max(0, room))
        if shown != super().text():
            super().setText(shown)
        tip = self._help if shown == self._full else "\n".join(t for t in (self._full, self._help) if t)
        if tip != super().toolTip():
            super().setToolTip(tip)
