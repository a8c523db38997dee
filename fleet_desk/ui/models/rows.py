"""The part every table of the window shares: rows under fixed column titles, redrawn only where they changed."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from fleet_desk import times
from fleet_desk.ui.models import Zone

Index = QModelIndex | QPersistentModelIndex


class Identified(Protocol):
    """A row with an id: what tells a changed row from a new one."""

    @property
    def id(self) -> int: ...



class RowsModel[Row: Identified](QAbstractTableModel):
    """Rows keyed by id; `set_rows` redraws only the rows that changed. Times at the depot (``zone()``)."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, zone: Zone, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.zone = zone
        self.rows: list[Row] = []

    def hhmm(self, ms: int | None) -> str:
        return times.hhmm(ms, self.zone())

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> str | None:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def set_rows(self, rows: list[Row]) -> None:
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
