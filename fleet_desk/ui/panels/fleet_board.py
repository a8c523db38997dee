"""The fleet board panel: a filter box over the sorted, filtered table of `FleetBoardModel`.

On a database several desks share it also shows which desk reads each unit
live (read again every few seconds, and at once when a unit's claim changes),
and a unit another desk reads can be taken over from the row's menu.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QMenu, QTableView, QVBoxLayout, QWidget
from sqlalchemy import Engine

from fleet_desk.store.units import HEARTBEAT_S, UnitAssignment, unit_assignments
from fleet_desk.ui.models.fleet_board import (
    AGE,
    DRIVER,
    SORT_ROLE,
    SPEED,
    STATE,
    UNIT,
    VEHICLE,
    VEHICLE_ID_ROLE,
    FleetBoardModel,
)
from fleet_desk.ui.models.sort_proxy import SortProxy
from fleet_desk.ui.tasks import run_in_background


class FleetBoard(QWidget):
    """The board widget: a filter box over the sorted, filtered table."""

    vehicleSelected = Signal(int)
    vehicleActivated = Signal(int)  # double-click: centre the map on it
    takeOverAsked = Signal(str)  # the unit another desk reads, to be read here (the GPS units dialog asks)

    def __init__(self, model: FleetBoardModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._echo = True  # False while the map selects a row, so the selection is not sent back
        self.proxy = SortProxy(self)
        self.proxy.setSourceModel(model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setDynamicSortFilter(True)

        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter: vehicle, driver, unit or state")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)

        self.table = QTableView(self)
        self.table.setObjectName("fleetTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(VEHICLE, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for col, width in ((VEHICLE, 70), (DRIVER, 110), (UNIT, 100), (STATE, 84), (SPEED, 66), (AGE, 76)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.doubleClicked.connect(self._activated)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._row_menu)
        self._menu: QMenu | None = None
        self._readers_from: tuple[Engine, str, Callable[[], tzinfo | None]] | None = None
        self._reading = False  # a read of the units' readers is under way
        self._readers_timer = QTimer(self)
        self._readers_timer.setInterval(int(HEARTBEAT_S * 1000))  # claims are renewed this often
        self._readers_timer.timeout.connect(self.readers_changed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.filter)
        layout.addWidget(self.table)

    def _vehicle_at(self, index: QModelIndex) -> int | None:
        return index.data(VEHICLE_ID_ROLE) if index.isValid() else None

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        vehicle_id = self._vehicle_at(current)
        if vehicle_id is not None and self._echo:
            self.vehicleSelected.emit(vehicle_id)

    def _activated(self, index: QModelIndex) -> None:
        vehicle_id = self._vehicle_at(index)
        if vehicle_id is not None:
            self.vehicleActivated.emit(vehicle_id)

    def selected_vehicle(self) -> int | None:
        return self._vehicle_at(self.table.selectionModel().currentIndex())

    def select_vehicle(self, vehicle_id: int) -> bool:
        """Select a vehicle's row (from a map click) without echoing back to the map."""
        row = self.model.row_of(vehicle_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():  # filtered out: clear the filter so the row can show
            self.filter.clear()
            index = self.proxy.mapFromSource(self.model.index(row, 0))
        self._echo = False
        try:
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )
        finally:
            self._echo = True
        self.table.scrollTo(index)
        return True

    # Which desk reads each unit
    def watch_readers(self, engine: Engine, desk: str, zone: Callable[[], tzinfo | None]) -> None:
        """Show which desk reads each unit of ``engine``'s depot, read now and every few seconds (``desk``: this
        desk's name; ``zone``: the depot's time zone now)."""
        self._readers_from = (engine, desk, zone)
        self._readers_timer.start()
        self.readers_changed()

    def readers_changed(self) -> None:
        """Read the units' readers again (a unit's claim changed, or it is time)."""
        if self._readers_from is None or self._reading:
            return
        engine, desk, zone = self._readers_from
        self._reading = True

        def show(units: list[UnitAssignment]) -> None:
            self._reading = False
            self.model.set_readers(units, desk, zone())

        def failed(_exc: Exception) -> None:  # the database is away: the fleet watch says so; try next time
            self._reading = False

        run_in_background(lambda: unit_assignments(engine), show, failed, owner=self)

    def stop_readers(self) -> None:
        self._readers_timer.stop()
        self._readers_from = None

    def _row_menu(self, pos: QPoint) -> None:
        menu = self.menu_for(self._vehicle_at(self.table.indexAt(pos)))
        if menu is not None:
            menu.popup(self.table.viewport().mapToGlobal(pos))

    def menu_for(self, vehicle_id: int | None) -> QMenu | None:
        """The menu of a vehicle's row: take over its unit, when another desk reads it (None: no unit)."""
        vehicle = self.model.vehicle(vehicle_id) if vehicle_id is not None else None
        if vehicle is None or not vehicle.unit:
            return None
        unit: str = vehicle.unit
        menu = QMenu(self)
        reader = self.model.reader_of(unit)
        action = menu.addAction(f"&Take over {unit}" + (f" (read by {reader})…" if reader else ""),
                                lambda: self.takeOverAsked.emit(unit))
        action.setEnabled(reader is not None)
        action.setToolTip(self.model.claim_text(unit) or "no other desk reads this unit")
        self._menu = menu
        return menu
