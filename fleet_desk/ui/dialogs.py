"""The window's smaller dialogs: export positions and settings; entry points for the others."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QWidget,
)

from fleet_desk import messages
from fleet_desk.export import FORMATS
from fleet_desk.export import export_positions as write_export
from fleet_desk.settings import OSM_ATTRIBUTION, OSM_TILES, Settings
from fleet_desk.store.units import unit_assignments
from fleet_desk.ui.import_log import import_logs
from fleet_desk.ui.manifest_dialog import import_manifest
from fleet_desk.ui.tasks import run_in_background
from fleet_desk.ui.units_dialog import gps_units

__all__ = ["edit_settings", "export_positions", "gps_units", "import_logs", "import_manifest"]

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


class SettingsDialog(QDialog):
    """Map tiles (URL and attribution) and trail length."""

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        form = QFormLayout(self)
        self.tile_url = QLineEdit(settings.tile_url, self)
        self.tile_url.setPlaceholderText("empty: no tiles, vehicles on a plain background")
        self.tile_url.setToolTip("A slippy-map tile URL with {z}, {x} and {y}")
        form.addRow("Map tiles URL:", self.tile_url)
        self.attribution = QLineEdit(settings.tile_attribution, self)
        form.addRow("Tiles attribution:", self.attribution)
        reset = QPushButton("Use OpenStreetMap", self)
        reset.clicked.connect(self._use_osm)
        form.addRow("", reset)
        self.trail = QSpinBox(self)
        self.trail.setRange(0, 240)
        self.trail.setSuffix(" min")
        self.trail.setValue(settings.trail_minutes)
        form.addRow("Vehicle trails:", self.trail)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _use_osm(self) -> None:
        self.tile_url.setText(OSM_TILES)
        self.attribution.setText(OSM_ATTRIBUTION)

    def _accept(self) -> None:
        url = self.tile_url.text().strip()
        if url and not all(part in url for part in ("{z}", "{x}", "{y}")):
            QMessageBox.warning(self, "Settings", "The tiles URL needs {z}, {x} and {y}, e.g.\n" + OSM_TILES)
            return
        self.accept()

    def result_settings(self, current: Settings) -> Settings:
        return Settings(tile_url=self.tile_url.text().strip(), tile_attribution=self.attribution.text().strip(),
                        trail_minutes=self.trail.value(), follow_selected=current.follow_selected)


def edit_settings(window) -> SettingsDialog:  # noqa: ANN001
    """Tools > Settings (window-modal; applied and saved on OK)."""
    dialog = SettingsDialog(window.settings, window)

    def apply() -> None:
        new = dialog.result_settings(window.settings)
        tiles_changed = (new.tile_url, new.tile_attribution) != (window.settings.tile_url,
                                                                 window.settings.tile_attribution)
        try:
            new.save()
        except OSError as exc:
            messages.error(f"Settings could not be saved to {Settings.path()}: {exc}")
        window.apply_settings(new, tiles_changed)

    dialog.accepted.connect(apply)
    dialog.open()
    return dialog
