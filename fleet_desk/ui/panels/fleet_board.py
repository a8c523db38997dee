"""The fleet board panel: a filter box over the sorted, filtered table of `FleetBoardModel`."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QTableView, QVBoxLayout, QWidget

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


class FleetBoard(QWidget):
    """The board widget: a filter box over the sorted, filtered table."""

    vehicleSelected = Signal(int)
    vehicleActivated = Signal(int)  # double-click: centre the map on it

    def __init__(self, model: FleetBoardModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self._echo = True  # False while the map selects a row, so the selection is not sent back
        self.proxy = QSortFilterProxyModel(self)
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
        for col, width in ((VEHICLE, 70), (DRIVER, 110), (UNIT, 62), (STATE, 84), (SPEED, 66), (AGE, 76)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.doubleClicked.connect(self._activated)

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
