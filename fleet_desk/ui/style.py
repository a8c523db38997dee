"""Colours and icons shared by the board and the map: one place for each state's look."""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from fleet_desk.fleet.vehicles import VehicleState

STATE_COLORS: dict[VehicleState, str] = {
    VehicleState.MOVING: "#2e7d32",
    VehicleState.STOPPED: "#1565c0",
    VehicleState.STALE: "#ef6c00",
    VehicleState.OFFLINE: "#757575",
    VehicleState.NO_FIX: "#c62828",
}


# A stop on the map and the route's badge on the Routes panel.
STOP_COLORS: dict[str, str] = {
    "pending": "#9e9e9e",
    "arrived": "#1e88e5",
    "delivered": "#43a047",
    "failed": "#e53935",
    "late": "#fb8c00",
}
BADGE_COLORS: dict[str, str] = {
    "Late": "#e65100",
    "GPS silent": "#c62828",
    "On time": "#2e7d32",
    "Done": "#546e7a",
    "Not started": "#6d4c41",
}


def state_colors_by_name() -> dict[str, str]:
    """For the map page, which knows states by their names."""
    return {state.value: color for state, color in STATE_COLORS.items()}


@cache
def state_icon(state: VehicleState) -> QIcon:
    """A dot in the state's colour for the fleet board, made once per state."""
    pixmap = QPixmap(14, 14)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(STATE_COLORS[state]))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, 12, 12)
    painter.end()
    return QIcon(pixmap)
