"""The Routes panel's models: the day's routes with progress and an on-time or late badge; one route's stops."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from fleet_desk.clock import now_ms
from fleet_desk.ui.models.rows import RowsModel
from fleet_desk.ui.style import BADGE_COLORS

if TYPE_CHECKING:  # the database layer loads after the window shows
    pass

STATUS_TEXT = {"pending": "to do", "arrived": "at the stop", "delivered": "delivered", "failed": "failed"}
ROUTE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex


class RoutesModel(RowsModel["RouteView"]):
    """The day's routes: progress, on time or late (and why, in the tooltip), the next stop and its ETA."""

    COLUMNS = ("Route", "Vehicle", "Driver", "Progress", "Status", "Next stop", "Next ETA")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        col = index.column()
        if role == ROUTE_ID_ROLE:
            return r.id
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            nxt = r.next_stop
            if col == 0:
                return r.key
            if col == 1:
                return r.vehicle
            if col == 2:
                return r.driver or ""
            if col == 3:
                share = r.planned_share(now_ms())
                if role == SORT_ROLE:
                    return r.done_count / max(1, len(r.stops))
                planned = f" · {share:.0%}" if share is not None else ""
                return f"{r.done_count}/{len(r.stops)}{planned}"
            if col == 4:
                late = r.late_stops
                return f"Late ({len(late)})" if late and r.badge() == "Late" else r.badge()
            if col == 5:
                return f"#{nxt.sequence} {nxt.customer_name}" if nxt else ""
            if col == 6:
                if role == SORT_ROLE:
                    return nxt.eta_ms if nxt and nxt.eta_ms else 0
                return self.hhmm(nxt.eta_ms) if nxt else ""
        if role == Qt.ItemDataRole.ForegroundRole and col == 4:
            return QBrush(QColor(BADGE_COLORS.get(r.badge(), "#000000")))
        if role == Qt.ItemDataRole.ToolTipRole and col == 3:
            share = r.planned_share(now_ms())
            planned = f"; {share:.0%} of the planned working time has gone by" if share is not None else ""
            return f"{r.done_count} of {len(r.stops)} stops done{planned}"
        if role == Qt.ItemDataRole.ToolTipRole and col == 4:
            late = r.late_stops
            if r.silent_since_ms is not None:
                return f"No fix since {self.hhmm(r.silent_since_ms)}: ETAs are held, not extrapolated"
            if late:
                return "\n".join(f"#{s.sequence} {s.customer_name}: about {s.delay_minutes} min late, "
                                 f"{s.delay_reason}" for s in late)
        return None


class StopsModel(RowsModel["StopView"]):
    """One route's stops in sequence: window, ETA or arrival, status, how late and why."""

    COLUMNS = ("#", "Customer", "Window", "ETA", "Status", "Late")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        s = self.rows[index.row()]
        col, hhmm = index.column(), self.hhmm
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return str(s.sequence)
            if col == 1:
                return s.customer_name
            if col == 2:
                return f"{hhmm(s.window_start_ms)}–{hhmm(s.window_end_ms)}"
            if col == 3:
                if not s.open:
                    return f"arrived {hhmm(s.arrived_ms)}" if s.arrived_ms else ""
                if s.eta_ms is None:
                    return ""
                return f"{hhmm(s.eta_ms)} ({hhmm(s.eta_earliest_ms)}–{hhmm(s.eta_latest_ms)})"
            if col == 4:
                text = STATUS_TEXT.get(s.status, s.status)
                return f"{text}: {s.failure_reason}" if s.failure_reason else text
            if col == 5:
                return f"+{s.delay_minutes} min, {short_reason(s.delay_reason)}" if s.open and s.late else ""
        if role == Qt.ItemDataRole.ForegroundRole and col == 5 and s.late:
            return QBrush(QColor(BADGE_COLORS["Late"]))
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 1:
                return f"Order {s.order_id} (tracking {s.tracking_number})\n{s.customer_name}, {s.address}"
            if col == 5 and s.open and s.late:
                return f"About {s.delay_minutes} min late: {s.delay_reason}"
        return None


def short_reason(reason: str | None) -> str:
    """ "late departure from the depot, 25 min after ..." -> "late departure from the depot"."""
    return (reason or "").split(" (")[0].split(", ")[0]
