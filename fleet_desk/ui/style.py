"""Colours and icons shared by the board and the map: one place for each state's look."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from fleet_desk.fleet import VehicleState

STATE_COLORS: dict[VehicleState, str] = {
    VehicleState.MOVING: "#2e7d32",
    VehicleState.STOPPED: "#1565c0",
    VehicleState.STALE: "#ef6c00",
    VehicleState.OFFLINE: "#757575",
    VehicleState.NO_FIX: "#c62828",
}


def state_colors_by_name() -> dict[str, str]:
    """For the map page, which knows states by their names."""
    return {state.value: color for state, color in STATE_COLORS.items()}


@cache
def state_icon(state: VehicleState) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(STATE_COLORS[state]))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, 12, 12)
    painter.end()
    return QIcon(pixmap)
