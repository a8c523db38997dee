"""The fleet board's model: every vehicle, its driver, unit, state, speed, fix age and position.

Rows change only when their vehicle changed (`dataChanged` for that row);
the fix age ticks once a second with one `dataChanged` for its column. On a
database several desks share, a unit another desk reads live says which
("unit-07 · desk-2", and in its tooltip "read by desk-2 since 07:02").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import tzinfo

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QModelRoleDataSpan,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from drivers.base import UnitState, UnitStatus
from fleet_desk import times
from fleet_desk.clock import now_ms
from fleet_desk.fleet.vehicles import FleetVehicle, VehicleState, vehicle_state
from fleet_desk.store.units import UnitAssignment, claim_text
from fleet_desk.ui.style import STATE_COLORS, state_icon

COLUMNS = ("Vehicle", "Driver", "Unit", "State", "Speed", "Last fix", "Position")
VEHICLE, DRIVER, UNIT, STATE, SPEED, AGE, POSITION = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
VEHICLE_ID_ROLE = Qt.ItemDataRole.UserRole + 2
STATE_ORDER = {s: i for i, s in enumerate(VehicleState)}

Index = QModelIndex | QPersistentModelIndex


def natural_key(text: str) -> str:
    """'Van 2' before 'Van 10': digit runs padded so plain string order is natural order."""
    return re.sub(r"\d+", lambda m: m.group(0).rjust(12, "0"), text.casefold())


def _text_keys(v: FleetVehicle) -> tuple[str, ...]:
    keys = [""] * len(COLUMNS)
    keys[VEHICLE], keys[DRIVER], keys[UNIT] = natural_key(v.vehicle), natural_key(v.driver or ""), natural_key(
        v.unit or "")
    keys[POSITION] = "" if v.lat is None else f"{v.lat:010.5f},{v.lon:010.5f}"
    return tuple(keys)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted runs of consecutive row numbers as (first, last)."""
    runs: list[tuple[int, int]] = []
    for row in sorted(rows):
        if runs and row == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


class FleetBoardModel(QAbstractTableModel):
    """Rows are vehicles, keyed by vehicle id; the clock is injectable for tests."""

    statesChanged = Signal(list)  # vehicle ids whose state changed on a tick

    def __init__(self, clock: Callable[[], int] = now_ms, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.clock = clock
        self._rows: list[FleetVehicle] = []
        self._row_of: dict[int, int] = {}
        self._states: list[VehicleState] = []
        self._keys: list[tuple[str, ...]] = []  # text sort keys per row, made once per change
        self._unit_status: dict[str, UnitStatus] = {}
        self._readers: dict[str, UnitAssignment] = {}  # unit -> its assignment, for units some desk reads live
        self._desk: str | None = None  # this desk's name: its own units need no saying
        self._zone: tzinfo | None = None
        self._now = clock()

    # Qt model interface
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> str | None:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        return self._value(index.row(), index.column(), role)

    def multiData(self, index: Index, roleDataSpan: QModelRoleDataSpan) -> None:  # noqa: N803 - Qt's name
        """Every role a cell is painted with, in one call: the view asks a cell for ten roles, and each call
        into Python waits for the interpreter lock, which the ingest and database threads hold often."""
        if not index.isValid():
            for data in roleDataSpan:
                data.clearData()
            return
        row, col = index.row(), index.column()
        for data in roleDataSpan:
            value = self._value(row, col, data.role())
            if value is None:
                data.clearData()
            else:
                data.setData(value)

    def _value(self, index_row: int, col: int, role: int) -> object:
        """What cell (``index_row``, ``col``) shows for ``role`` (None: nothing)."""
        row, state = self._rows[index_row], self._states[index_row]
        age = None if row.fix_time_ms is None else (self._now - row.fix_time_ms) / 1000
        if role == Qt.ItemDataRole.DisplayRole:
            if col == VEHICLE:
                return row.vehicle
            if col == DRIVER:
                return row.driver or ""
            if col == UNIT:
                reader = self.reader_of(row.unit)
                return f"{row.unit} · {reader}" if reader else row.unit or "no unit"
            if col == STATE:
                return state.value
            if col == SPEED:
                return "" if row.speed_mps is None or row.fix_time_ms is None else f"{row.speed_mps * 3.6:.0f} km/h"
            if col == AGE:
                return times.duration(age) if age is not None else "never"
            if col == POSITION:
                return "" if row.lat is None else f"{row.lat:.5f}, {row.lon:.5f}"
        elif role == SORT_ROLE:
            if col == STATE:
                return STATE_ORDER[state]
            if col == SPEED:
                return row.speed_mps if row.speed_mps is not None else -1.0
            if col == AGE:  # by fix time, which does not change as the clock ticks
                return -row.fix_time_ms if row.fix_time_ms is not None else float("inf")
            return self._keys[index_row][col]
        elif role == VEHICLE_ID_ROLE:
            return row.vehicle_id
        elif role == Qt.ItemDataRole.DecorationRole and col == STATE:
            return state_icon(state)
        elif role == Qt.ItemDataRole.ForegroundRole and col == STATE:
            return QColor(STATE_COLORS[state])
        elif role == Qt.ItemDataRole.TextAlignmentRole and col in (SPEED, AGE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        elif role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, state)
        return None

    def _tooltip(self, row: FleetVehicle, state: VehicleState) -> str:
        unit = self._unit_status.get(row.unit or "")
        lines = [f"{row.vehicle}: {state.value}"]
        if unit is not None:
            lines.append(f"unit {row.unit} on {unit.port}: {unit.state.value}"
                         + (f" ({unit.message})" if unit.message else ""))
        claim = self.claim_text(row.unit)
        if claim:
            lines.append(f"unit {row.unit}: {claim}")
        return "\n".join(lines)

    # Which desk reads each unit
    def set_readers(self, units: Iterable[UnitAssignment], desk: str | None, zone: tzinfo | None) -> None:
        """The units and which desk reads each live (`fleet_desk.store.units.unit_assignments`); ``desk``: this
        desk's name; ``zone``: the depot's, for "since 07:02"."""
        readers = {u.device: u for u in units if u.read_by}
        if (readers, desk, zone) == (self._readers, self._desk, self._zone):
            return
        self._readers, self._desk, self._zone = readers, desk, zone
        if self._rows:
            self.dataChanged.emit(self.index(0, UNIT), self.index(len(self._rows) - 1, UNIT))

    def reader_of(self, unit: str | None) -> str | None:
        """The other desk that reads ``unit`` live (None: nobody, or this desk)."""
        reading = self._readers.get(unit or "")
        if reading is None or reading.read_by == self._desk:
            return None
        return reading.read_by

    def reading(self, unit: str | None) -> UnitAssignment | None:
        """``unit``'s assignment if some desk reads it live."""
        return self._readers.get(unit or "")

    def claim_text(self, unit: str | None) -> str:
        """Who reads ``unit`` live, in words ("read by desk-2 since 07:02", "read here since 07:01"); empty when
        nobody does."""
        return claim_text(self._readers.get(unit or ""), self.clock(), self._zone, self._desk)

    # Updates
    def vehicle(self, vehicle_id: int) -> FleetVehicle | None:
        row = self._row_of.get(vehicle_id)
        return None if row is None else self._rows[row]

    def state_of(self, vehicle_id: int) -> VehicleState | None:
        row = self._row_of.get(vehicle_id)
        return None if row is None else self._states[row]

    def row_of(self, vehicle_id: int) -> int | None:
        return self._row_of.get(vehicle_id)

    def vehicles(self) -> list[FleetVehicle]:
        return list(self._rows)

    def _state(self, row: FleetVehicle) -> VehicleState:
        unit = self._unit_status.get(row.unit or "")
        without_fix = unit is not None and unit.state in (UnitState.NO_FIX, UnitState.NO_DATA)
        return vehicle_state(row.fix_time_ms, row.speed_mps, self._now, unit_without_fix=without_fix)

    def apply(self, changed: list[FleetVehicle], removed: list[int]) -> None:
        """Take the vehicles that changed: update their rows, append new ones, drop removed ones."""
        self._now = self.clock()
        last = len(COLUMNS) - 1
        for vehicle_id in removed:
            row = self._row_of.get(vehicle_id)
            if row is None:
                continue
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row], self._states[row], self._keys[row]
            self._row_of = {r.vehicle_id: i for i, r in enumerate(self._rows)}
            self.endRemoveRows()
        new, updated, renamed = [], [], False
        for vehicle in changed:
            row = self._row_of.get(vehicle.vehicle_id)
            if row is None:
                new.append(vehicle)
                continue
            renamed = renamed or self._rows[row].vehicle != vehicle.vehicle
            self._rows[row] = vehicle
            self._states[row] = self._state(vehicle)
            self._keys[row] = _text_keys(vehicle)
            updated.append(row)
        # One signal per run of adjacent rows, not per row; the vehicle column only when a name changed,
        # so a board sorted by vehicle is not re-sorted on every position.
        first_col = VEHICLE if renamed else DRIVER
        for first, end in _runs(updated):
            self.dataChanged.emit(self.index(first, first_col), self.index(end, last))
        if new and not self._rows:  # the first load: one reset, so the proxy sorts once, not row by row
            self.beginResetModel()
            for vehicle in new:
                self._row_of[vehicle.vehicle_id] = len(self._rows)
                self._rows.append(vehicle)
                self._states.append(self._state(vehicle))
                self._keys.append(_text_keys(vehicle))
            self.endResetModel()
        elif new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            for vehicle in new:
                self._row_of[vehicle.vehicle_id] = len(self._rows)
                self._rows.append(vehicle)
                self._states.append(self._state(vehicle))
                self._keys.append(_text_keys(vehicle))
            self.endInsertRows()

    def set_unit_status(self, unit: str, status: UnitStatus) -> None:
        self._unit_status[unit] = status

    def tick(self) -> list[int]:
        """The clock moved: fix ages change for every row, states for some. Returns ids whose state changed."""
        self._now = self.clock()
        if not self._rows:
            return []
        changed = []
        for i, row in enumerate(self._rows):
            state = self._state(row)
            if state != self._states[i]:
                self._states[i] = state
                changed.append(row.vehicle_id)
                self.dataChanged.emit(self.index(i, STATE), self.index(i, STATE))
        self.dataChanged.emit(self.index(0, AGE), self.index(len(self._rows) - 1, AGE),
                              [Qt.ItemDataRole.DisplayRole])
        if changed:
            self.statesChanged.emit(changed)
        return changed
