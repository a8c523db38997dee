"""The Routes panel: the day's routes with progress and an on-time or late badge, and the selected route's stops.

Routes are re-read in the background every few seconds (`fleet_desk.tracking.board`);
only rows that changed are redrawn. A dispatcher can mark a stop delivered or
failed, move it up or down the sequence, or hand it to another route; each is
recorded on the order's timeline by `fleet_desk.tracking.routes`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPoint, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMenu,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from fleet_desk import messages, times
from fleet_desk.clock import now_ms
from fleet_desk.ui.style import BADGE_COLORS
from fleet_desk.ui.tasks import run_in_background

if TYPE_CHECKING:  # the database layer loads after the window shows
    from sqlalchemy import Engine

    from fleet_desk.depot import Depot
    from fleet_desk.tracking.board import RouteView, StopView

REFRESH_MS = 2000
STATUS_TEXT = {"pending": "to do", "arrived": "at the stop", "delivered": "delivered", "failed": "failed"}
ROUTE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2


class _Clock:
    """Local times at the depot, for display."""

    def __init__(self, tz: tzinfo | None):
        self.tz = tz

    def hhmm(self, ms: int | None) -> str:
        return times.hhmm(ms, self.tz)


class _RowsModel(QAbstractTableModel):
    """Rows keyed by id; `set_rows` redraws only the rows that changed."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, clock: _Clock, parent: QWidget | None = None):
        super().__init__(parent)
        self.clock = clock
        self.rows: list = []

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201, N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def set_rows(self, rows: list) -> None:
        if [r.id for r in rows] != [r.id for r in self.rows]:
            self.beginResetModel()
            self.rows = list(rows)
            self.endResetModel()
            return
        for i, (old, new) in enumerate(zip(self.rows, rows, strict=True)):
            if old != new:
                self.rows[i] = new
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.COLUMNS) - 1))

    def refresh_times(self) -> None:
        """Progress depends on the clock too."""
        if self.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(self.COLUMNS) - 1))


class RoutesModel(_RowsModel):
    COLUMNS = ("Route", "Vehicle", "Driver", "Progress", "Status", "Next stop", "Next ETA")

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201, PLR0911
        if not index.isValid():
            return None
        r: RouteView = self.rows[index.row()]
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
                return self.clock.hhmm(nxt.eta_ms) if nxt else ""
        if role == Qt.ItemDataRole.ForegroundRole and col == 4:
            return QBrush(QColor(BADGE_COLORS.get(r.badge(), "#000000")))
        if role == Qt.ItemDataRole.ToolTipRole and col == 3:
            share = r.planned_share(now_ms())
            planned = f"; {share:.0%} of the planned working time has gone by" if share is not None else ""
            return f"{r.done_count} of {len(r.stops)} stops done{planned}"
        if role == Qt.ItemDataRole.ToolTipRole and col == 4:
            late = r.late_stops
            if r.silent_since_ms is not None:
                return f"No fix since {self.clock.hhmm(r.silent_since_ms)}: ETAs are held, not extrapolated"
            if late:
                return "\n".join(f"#{s.sequence} {s.customer_name}: about {s.delay_minutes} min late, "
                                 f"{s.delay_reason}" for s in late)
        return None


class StopsModel(_RowsModel):
    COLUMNS = ("#", "Customer", "Window", "ETA", "Status", "Late")

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: ANN201, PLR0911
        if not index.isValid():
            return None
        s: StopView = self.rows[index.row()]
        col, hhmm = index.column(), self.clock.hhmm
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


def _table(model: QAbstractTableModel, parent: QWidget, sortable: bool) -> QTableView:
    view = QTableView(parent)
    if sortable:
        proxy = QSortFilterProxyModel(parent)
        proxy.setSourceModel(model)
        proxy.setSortRole(SORT_ROLE)
        view.setModel(proxy)
        view.setSortingEnabled(True)
        view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    else:
        view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(22)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    view.setAlternatingRowColors(True)
    return view


class RoutesPanel(QWidget):
    """Master (routes) and detail (stops of the selected route)."""

    routesChanged = Signal(list)  # list[RouteView], after each refresh that changed something
    routeSelected = Signal(int)  # route id, or -1
    stopActivated = Signal(float, float)  # double-clicked stop: centre the map there

    def __init__(self, tz: tzinfo | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.depot: Depot | None = None
        self.engine: Engine | None = None
        self.clock = _Clock(tz)
        self.routes_model = RoutesModel(self.clock, self)
        self.stops_model = StopsModel(self.clock, self)
        self.routes_table = _table(self.routes_model, self, sortable=True)
        self.stops_table = _table(self.stops_model, self, sortable=False)
        self.stops_table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.stops_table.customContextMenuRequested.connect(self._stop_menu)
        self.stops_table.doubleClicked.connect(self._stop_double_clicked)
        self.routes_table.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())
        self.summary = QLabel("No routes today. File > Import manifest… loads a day's routes.", self)
        self.summary.setWordWrap(True)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.routes_table)
        splitter.addWidget(self.stops_table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)
        self._routes: list[RouteView] = []
        self._day: Callable[[], str] | None = None
        self._loading = False
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def start(self, depot: Depot, day: Callable[[], str]) -> None:
        """Show the routes of ``day()`` (the depot's date now) from ``depot``'s database, refreshed every 2 s;
        a dispatcher's changes go through ``depot``'s live tracker."""
        self.depot, self.engine, self._day = depot, depot.engine, day
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        from fleet_desk.tracking.board import load_routes

        if self.engine is None or self._loading:
            return
        self._loading = True
        engine, day, now = self.engine, self._day(), now_ms()
        run_in_background(lambda: load_routes(engine, day, now), self._loaded, self._load_failed, owner=self)

    def _loaded(self, routes: list[RouteView]) -> None:
        self._loading = False
        self.routes_model.refresh_times()
        if routes == self._routes:
            return
        self._routes = routes
        self.routes_model.set_rows(routes)
        if self.selected_route() is None:
            late = next((r for r in routes if r.badge() == "Late"), None)  # who is late and why, first
            if late is not None:
                self.select_route(late.id)
        self._show_selected()
        late = sum(len(r.late_stops) for r in routes)
        done = sum(r.done_count for r in routes)
        total = sum(len(r.stops) for r in routes)
        self.summary.setText(f"{len(routes)} routes today: {done} of {total} stops done, "
                             f"{late} stop{'s' if late != 1 else ''} running late." if routes else
                             "No routes today. File > Import manifest… loads a day's routes.")
        self.routesChanged.emit(routes)

    def _load_failed(self, error: Exception) -> None:
        self._loading = False
        messages.warning(f"Routes could not be read from the database: {error}")

    @property
    def current_routes(self) -> list[RouteView]:
        """The routes as last read."""
        return self._routes

    # Selection
    def selected_route(self) -> RouteView | None:
        index = self.routes_table.currentIndex()
        if not index.isValid():
            return None
        route_id = index.data(ROUTE_ID_ROLE)
        return next((r for r in self._routes if r.id == route_id), None)

    def select_route(self, route_id: int) -> None:
        model = self.routes_table.model()
        for row in range(model.rowCount()):
            if model.index(row, 0).data(ROUTE_ID_ROLE) == route_id:
                self.routes_table.selectRow(row)
                return

    def _show_selected(self) -> None:
        route = self.selected_route()
        self.stops_model.set_rows(list(route.stops) if route else [])
        self.routeSelected.emit(route.id if route else -1)

    def selected_stop(self) -> StopView | None:
        index = self.stops_table.currentIndex()
        return self.stops_model.rows[index.row()] if index.isValid() else None

    def _stop_double_clicked(self, index: QModelIndex) -> None:
        stop = self.stops_model.rows[index.row()]
        self.stopActivated.emit(stop.lat, stop.lon)

    # Dispatcher's actions
    def _stop_menu(self, pos: QPoint) -> None:
        index = self.stops_table.indexAt(pos)
        route = self.selected_route()
        if not index.isValid() or route is None:
            return
        stop = self.stops_model.rows[index.row()]
        menu = QMenu(self)
        menu.addAction("Mark &delivered", lambda: self.mark(stop, "delivered")).setEnabled(stop.open)
        menu.addAction("Mark &failed…", lambda: self.ask_failed(stop)).setEnabled(stop.open)
        menu.addSeparator()
        menu.addAction("Move &up", lambda: self.move(route, stop, -1)).setEnabled(index.row() > 0)
        menu.addAction("Move do&wn", lambda: self.move(route, stop, +1)).setEnabled(index.row() < len(route.stops) - 1)
        others = menu.addMenu("Hand to &route")
        for other in self._routes:
            if other.id != route.id:
                others.addAction(f"{other.key} ({other.vehicle})", lambda o=other: self.reassign(stop, o))
        menu.popup(self.stops_table.viewport().mapToGlobal(pos))
        self._menu = menu  # for tests

    def ask_failed(self, stop: StopView) -> None:
        reason, ok = QInputDialog.getText(self, "Delivery failed", f"Why did order {stop.order_id} fail?")
        if ok and reason.strip():
            self.mark(stop, "failed", reason.strip())

    def mark(self, stop: StopView, outcome: str, reason: str | None = None) -> None:
        from fleet_desk.tracking.routes import mark_stop

        depot = self.depot
        self._change(lambda: mark_stop(depot.engine, depot.tracker, depot.policy, stop.order_id, outcome, reason),
                     f"Order {stop.order_id} marked {outcome}" + (f": {reason}" if reason else ""))

    def move(self, route: RouteView, stop: StopView, step: int) -> None:
        from fleet_desk.tracking.routes import reorder_route

        order = [s.order_id for s in route.stops]
        i = order.index(stop.order_id)
        j = i + step
        order[i], order[j] = order[j], order[i]
        depot = self.depot
        self._change(lambda: reorder_route(depot.engine, depot.tracker, route.id, order),
                     f"Route {route.key} resequenced")

    def reassign(self, stop: StopView, route: RouteView) -> None:
        from fleet_desk.tracking.routes import reassign_stop

        depot = self.depot
        self._change(lambda: reassign_stop(depot.engine, depot.tracker, stop.order_id, route.id),
                     f"Order {stop.order_id} handed to route {route.key} ({route.vehicle})")

    def _change(self, fn: Callable[[], None], done_text: str) -> None:
        def failed(error: Exception) -> None:
            messages.error(f"Not saved ({done_text}): {error}")

        run_in_background(fn, lambda _: (messages.info(done_text), self.refresh()), failed, owner=self)
