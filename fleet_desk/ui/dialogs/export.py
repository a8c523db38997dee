"""File > Export positions: which unit and format, then where; written in the background."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QWidget,
)
from sqlalchemy import Engine

from fleet_desk import messages
from fleet_desk.store.export import FORMATS
from fleet_desk.store.export import export_positions as write_export
from fleet_desk.store.units import UnitAssignment, unit_assignments
from fleet_desk.ui.tasks import run_in_background

FORMAT_FILTERS = {"csv": "CSV (*.csv)", "gpx": "GPX 1.1 (*.gpx)", "geojson": "GeoJSON (*.geojson)"}


class ExportOptions(QDialog):
    """Which GPS unit (or all) and which format."""

    def __init__(self, units: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export positions")
        form = QFormLayout(self)
        self.unit = QComboBox(self)
        self.unit.addItem("All units", None)
        for name in units:
            self.unit.addItem(name, name)
        form.addRow("GPS unit:", self.unit)
        self.format = QComboBox(self)
        for fmt in FORMATS:
            self.format.addItem(FORMAT_FILTERS[fmt], fmt)
        form.addRow("Format:", self.format)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export…")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


def run_export(engine: Engine, path: Path, fmt: str, device: str | None, owner: QWidget) -> None:
    """Write the export in the background; tell the user where it went (nothing, once ``owner`` is gone)."""

    def work() -> int:
        with open(path, "w", encoding="utf-8", newline="") as out:
            return write_export(engine, out, fmt, device)

    def done(count: int) -> None:
        messages.info(f"{count} positions exported to {path}")

    def failed(exc: Exception) -> None:
        messages.error(f"Export to {path} failed: {exc}. Choose another folder or file name.")

    run_in_background(work, done, failed, owner=owner)


def export_positions(engine: Engine, parent: QWidget) -> None:
    """File > Export positions from ``engine``'s depot, the dialogs over ``parent``."""

    def ask(assignments: list[UnitAssignment]) -> None:
        options = ExportOptions([a.device for a in assignments], parent)
        if options.exec() != QDialog.DialogCode.Accepted:
            return
        fmt = options.format.currentData()
        name, _ = QFileDialog.getSaveFileName(parent, "Export positions", f"positions.{fmt}", FORMAT_FILTERS[fmt])
        if name:
            run_export(engine, Path(name), fmt, options.unit.currentData(), parent)

    run_in_background(lambda: unit_assignments(engine), ask, owner=parent)
