"""The Routes panel: the day's routes with progress and an on-time or late badge, and the selected route's stops.

Routes are re-read in the background when a stop or route changes on any desk (the window's
`fleet_desk.ui.change_bell`) and every few seconds besides (`fleet_desk.tracking.board`);
only rows that changed are redrawn (`fleet_desk.ui.models.routes`). A dispatcher can mark a stop delivered or
failed, move it up or down the sequence, or hand it to another route; each is
recorded on the order's timeline by `fleet_desk.tracking.routes`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
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
from fleet_desk.ui.models.routes import ROUTE_ID_ROLE, SORT_ROLE, RoutesModel, StopsModel, etas_summary, urgency
from fleet_desk.ui.tasks import run_in_background

if TYPE_CHECKING:  # the database layer loads after the window shows
    from fleet_desk.depot import Depot
    from fleet_desk.tracking.board import RouteView, StopView

REFRESH_MS = 10_000  # the safety net (and the clock's part of progress): changes announced wake it sooner
LOADING = "Loading the day's routes…"
NO_ROUTES = "No routes today. File > Import manifest… loads a day's routes."


class _SortProxy(QSortFilterProxyModel):
    """Sorts by `SORT_ROLE` as Python compares it (the Status column's urgency is a list: rank, then more)."""

    def lessThan(self, left: QModelIndex | QPersistentModelIndex,
                 right: QModelIndex | QPersistentModelIndex) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        try:
            return bool(a < b)
        except TypeError:  # a row with nothing to sort by goes last
            return a is not None and b is None


def _table(model: QAbstractTableModel, parent: QWidget, sort_column: int | None, stretch: tuple[int, ...],
           fixed: dict[int, int] | None = None) -> QTableView:
    """A table that fits the panel's width: its columns sized to their contents, except ``fixed`` ones (column:
    pixels, the user may drag them) and ``stretch``, which share what is left; what does not fit elides (its
    full text in the tooltip); never a horizontal scroll bar."""
    view = QTableView(parent)
    if sort_column is not None:
        proxy = _SortProxy(parent)
        proxy.setSourceModel(model)
        proxy.setSortRole(SORT_ROLE)
        view.setModel(proxy)
        view.setSortingEnabled(True)
        view.sortByColumn(sort_column, Qt.SortOrder.AscendingOrder)
    else:
        view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(22)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    view.setWordWrap(False)
    header = view.horizontalHeader()
    header.setStretchLastSection(False)
    header.setMinimumSectionSize(24)
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    for column in stretch:
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
    for column, width in (fixed or {}).items():
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(column, width)
    view.setAlternatingRowColors(True)
    return view


class RoutesPanel(QWidget):
    """Master (routes) and detail (stops of the selected route)."""

    routesChanged = Signal(list)  # list[RouteView], after each refresh that changed something
    routeSelected = Signal(int)  # route id, or -1
    stopActivated = Signal(float, float)  # double-clicked stop: centre the map there

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.depot: Depot | None = None  # set by `start`
        self.routes_model = RoutesModel(self.zone, self)
        self.stops_model = StopsModel(self.zone, self)
        # Late routes first (sorted by status); the driver's and the next customer's names give way when narrow.
        self.routes_table = _table(self.routes_model, self, RoutesModel.STATUS, stretch=(2, 5))
        self.stops_table = _table(self.stops_model, self, None, stretch=(StopsModel.LATE,), fixed={1: 100})
        self.stops_table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.stops_table.customContextMenuRequested.connect(self._stop_menu)
        self.stops_table.doubleClicked.connect(self._stop_double_clicked)
        self.routes_table.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())
        self.summary = QLabel(LOADING, self)
        self.summary.setWordWrap(True)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.routes_table)
        splitter.addWidget(self.stops_table)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(splitter, 1)
        self._routes: list[RouteView] = []
        self._loading = False
        self._again = False  # asked to refresh while reading: read again when this read is in
        self._menu: QMenu | None = None  # the stop's context menu last shown
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    def start(self, depot: Depot) -> None:
        """Show today's routes (the depot's date, in its time zone) from ``depot``'s database, refreshed on
        changes and every 10 s; a dispatcher's changes go through ``depot``'s live tracker."""
        self.depot = depot
        self._timer.start()
        self.refresh()

    def zone(self) -> tzinfo | None:
        """The depot's time zone now (it follows the settings)."""
        return self.depot.rules.timezone if self.depot is not None else None

    def hhmm(self, ms: int | None) -> str:
        """A time as the routes show it: at the depot."""
        return times.hhmm(ms, self.zone())

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        from fleet_desk.tracking.board import load_routes

        if self.depot is None:
            return
        if self._loading:
            self._again = True
            return
        self._loading = True
        now = now_ms()
        engine, day = self.depot.engine, times.local_day(now, self.zone())
        run_in_background(lambda: load_routes(engine, day, now), self._loaded, self._load_failed, owner=self)

    def _loaded(self, routes: list[RouteView]) -> None:
        self._loading = False
        if self._again:  # something changed while reading: read again (this one shows meanwhile)
            self._again = False
            self.refresh()
        self.routes_model.refresh_times()
        if routes == self._routes:
            return
        self._routes = routes
        self.routes_model.set_rows(routes)
        if self.selected_route() is None:
            late = [r for r in routes if r.badge() == "Late"]  # who is late and why, first: the most urgent
            if late:
                self.select_route(min(late, key=urgency).id)
        self._show_selected()
        late = sum(len(r.late_stops) for r in routes)
        done = sum(r.done_count for r in routes)
        total = sum(len(r.stops) for r in routes)
        self.summary.setText(f"{len(routes)} routes today: {done} of {total} stops done, "
                             f"{late} stop{'s' if late != 1 else ''} running late. {etas_summary(routes)}"
                             .strip() if routes else NO_ROUTES)
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
        menu.addAction("Move &up", lambda: self.move_stop(route, stop, -1)).setEnabled(index.row() > 0)
        last = index.row() >= len(route.stops) - 1
        menu.addAction("Move do&wn", lambda: self.move_stop(route, stop, +1)).setEnabled(not last)
        others = menu.addMenu("Hand to &route")
        for other in self._routes:
            if other.id != route.id:
                others.addAction(f"{other.key} ({other.vehicle})", lambda o=other: self.reassign(stop, o))
        menu.popup(self.stops_table.viewport().mapToGlobal(pos))
        self._menu = menu

    def ask_failed(self, stop: StopView) -> None:
        reason, ok = QInputDialog.getText(self, "Delivery failed", f"Why did order {stop.order_id} fail?")
        if ok and reason.strip():
            self.mark(stop, "failed", reason.strip())

    def mark(self, stop: StopView, outcome: str, reason: str | None = None) -> None:
        from fleet_desk.tracking.routes import mark_stop

        depot = self._started()
        self._change(lambda: mark_stop(depot.engine, depot.tracker, depot.policy, stop.order_id, outcome, reason),
                     f"Order {stop.order_id} marked {outcome}" + (f": {reason}" if reason else ""))

    def move_stop(self, route: RouteView, stop: StopView, step: int) -> None:
        from fleet_desk.tracking.routes import reorder_route

        order = [s.order_id for s in route.stops]
        i = order.index(stop.order_id)
        j = i + step
        order[i], order[j] = order[j], order[i]
        depot = self._started()
        self._change(lambda: reorder_route(depot.engine, depot.tracker, route.id, order),
                     f"Route {route.key} resequenced")

    def reassign(self, stop: StopView, route: RouteView) -> None:
        from fleet_desk.tracking.routes import reassign_stop

        depot = self._started()
        self._change(lambda: reassign_stop(depot.engine, depot.tracker, stop.order_id, route.id),
                     f"Order {stop.order_id} handed to route {route.key} ({route.vehicle})")

    def _started(self) -> Depot:
        if self.depot is None:
            raise RuntimeError("the Routes panel changes routes once started on a depot")
        return self.depot

    def _change(self, fn: Callable[[], object], done_text: str) -> None:
        def failed(error: Exception) -> None:
            messages.error(f"Not saved ({done_text}): {error}")

        run_in_background(fn, lambda _: (messages.info(done_text), self.refresh()), failed, owner=self)
