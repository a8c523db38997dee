"""The window's smaller dialogs: export positions; entry points for the others."""

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

from fleet_desk import messages
from fleet_desk.store.export import FORMATS
from fleet_desk.store.export import export_positions as write_export
from fleet_desk.store.units import unit_assignments
from fleet_desk.ui.dialogs.import_log import import_logs
from fleet_desk.ui.dialogs.manifest import import_manifest
from fleet_desk.ui.dialogs.settings import edit_settings
from fleet_desk.ui.dialogs.units import gps_units
from fleet_desk.ui.panels.dock import show_dock
from fleet_desk.ui.panels.lookup import show_lookup
from fleet_desk.ui.panels.outbox import show_outbox
from fleet_desk.ui.tasks import run_in_background

__all__ = ["edit_settings", "export_positions", "gps_units", "import_logs", "import_manifest", "show_dock",
           "show_lookup", "show_outbox"]

FORMAT_FILTERS = {"csv": "CSV (*.csv)", "gpx": "GPX 1.1 (*.gpx)", "geojson": "GeoJSON (*.geojson)"}


def run_export(window, path: Path, fmt: str, device: str | None) -> None:  # noqa: ANN001
    """Write the export in the background; tell the user where it went."""

    def work() -> int:
        with open(path, "w", encoding="utf-8", newline="") as out:
            return write_export(window.engine, out, fmt, device)

    def done(count: int) -> None:
        messages.info(f"{count} positions exported to {path}")

    def failed(exc: Exception) -> None:
        messages.error(f"Export to {path} failed: {exc}. Choose another folder or file name.")

    run_in_background(work, done, failed, owner=window)


class ExportOptions(QDialog):
    def __init__(self, units: list[str], parent: QWidget | None = None):
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


def export_positions(window) -> None:  # noqa: ANN001
    """File > Export positions."""

    def ask(assignments: list) -> None:
        options = ExportOptions([a.device for a in assignments], window)
        if options.exec() != QDialog.DialogCode.Accepted:
            return
        fmt = options.format.currentData()
        name, _ = QFileDialog.getSaveFileName(window, "Export positions", f"positions.{fmt}", FORMAT_FILTERS[fmt])
        if name:
            run_export(window, Path(name), fmt, options.unit.currentData())

    run_in_background(lambda: unit_assignments(window.engine), ask, owner=window)
