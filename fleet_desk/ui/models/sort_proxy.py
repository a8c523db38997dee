"""A sorting and filtering proxy that hands a cell's roles to its source model in one call.

Qt's `QSortFilterProxyModel` answers `multiData` (a view painting a cell asks for ten roles at once) by calling
the source's `data` once per role. With a model written in Python each of those calls takes the interpreter
lock; while the ingest and database threads run Python, each take waits up to the switch interval, and painting
a board of hundreds of vans took a tenth of a second. This proxy forwards `multiData` whole.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QModelRoleDataSpan, QPersistentModelIndex, QSortFilterProxyModel


class SortProxy(QSortFilterProxyModel):
    """`QSortFilterProxyModel` whose `multiData` is the source model's, for the source's row and column."""

    def multiData(self, index: QModelIndex | QPersistentModelIndex,
                  roleDataSpan: QModelRoleDataSpan) -> None:  # noqa: N803 - Qt's name
        """The source cell's roles, asked of the source model at once."""
        source = self.sourceModel()
        if source is None:
            super().multiData(index, roleDataSpan)
            return
        source.multiData(self.mapToSource(index), roleDataSpan)
