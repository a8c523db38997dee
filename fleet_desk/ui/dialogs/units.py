"""Tools > GPS units: serial ports with their USB details, and which unit reads where.

Attaching a port to a unit (and a vehicle) saves the assignment and starts
live ingestion; assignments persist, so the units restart with the app.
Port listing and database reads run in the background.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy import Engine

from drivers.base import BAUD_RATES, PortInfo, list_ports
from fleet_desk import times
from fleet_desk.clock import now_ms
from fleet_desk.store.units import UnitAssignment, unit_assignments
from fleet_desk.ui.fleet_feed import FleetFeed
from fleet_desk.ui.tasks import run_in_background

PORT_COLUMNS = ("Port", "USB VID:PID", "Serial number", "Description")
UNIT_COLUMNS = ("Unit", "Vehicle", "Port", "Baud", "Live", "Status", "Fixes/s", "Last fix")
LAST_FIX = UNIT_COLUMNS.index("Last fix")
#: Room between a list's rows and its columns, so twelve units do not read as one block.
ROOMY = "QTreeWidget::item { padding: 3px 0px; }"
GAP = 18  # pixels between columns


def last_fix_words(ms: int | None, zone: tzinfo | None, now: int) -> str:
    """When a unit's last fix was, at the depot: "14:20:05" today, "Tue 01 Dec 14:20" before; "never"."""
    if ms is None:
        return "never"
    if times.local_day(ms, zone) == times.local_day(now, zone):
        return times.hhmmss(ms, zone)
    return f"{times.weekday(ms, zone)} {times.hhmm(ms, zone)}"


class GpsUnitsDialog(QDialog):
    """The units of ``engine``'s depot and the ports of this computer; ``feed`` reads the live ones. Times are
    the depot's (``zone()``; by default the time zone of the parent window's depot)."""

    def __init__(self, feed: FleetFeed, engine: Engine, parent: QWidget | None = None,
                 zone: Callable[[], tzinfo | None] | None = None) -> None:
        super().__init__(parent)
        self.feed = feed
        self.engine = engine
        self.zone = zone or (lambda: _depot_zone(parent))
        self.setWindowTitle("GPS units")
        self.resize(980, 640)
        self._units: dict[str, QTreeWidgetItem] = {}

        ports_box = QGroupBox("Serial ports on this computer", self)
        self.ports = QTreeWidget(ports_box)
        self.ports.setHeaderLabels(PORT_COLUMNS)
        self.ports.setRootIsDecorated(False)
        self.ports.setStyleSheet(ROOMY)
        self.ports.itemSelectionChanged.connect(self._port_picked)
        refresh = QPushButton("Refresh", ports_box)
        refresh.clicked.connect(self.refresh_ports)
        box = QVBoxLayout(ports_box)
        box.addWidget(self.ports)
        box.addWidget(refresh, alignment=Qt.AlignmentFlag.AlignRight)

        units_box = QGroupBox("Units", self)
        self.units = QTreeWidget(units_box)
        self.units.setHeaderLabels(UNIT_COLUMNS)
        self.units.setRootIsDecorated(False)
        self.units.setAlternatingRowColors(True)
        self.units.setStyleSheet(ROOMY)
        self.units.setMinimumHeight(200)
        self.units.itemSelectionChanged.connect(self._unit_picked)
        QVBoxLayout(units_box).addWidget(self.units)

        form_box = QGroupBox("Attach a port to a unit", self)
        form = QFormLayout(form_box)
        self.unit_name = QLineEdit(form_box)
        self.unit_name.setPlaceholderText("e.g. unit-07")
        self.vehicle = QLineEdit(form_box)
        self.vehicle.setPlaceholderText("e.g. Van 7")
        self.port = QComboBox(form_box, editable=True)
        self.port.lineEdit().setPlaceholderText("/dev/ttyUSB0, COM3 or socket://host:port")
        self.baud = QComboBox(form_box)
        self.baud.addItem("Detect", None)
        for rate in sorted(BAUD_RATES):
            self.baud.addItem(str(rate), rate)
        form.addRow("Unit:", self.unit_name)
        form.addRow("Vehicle:", self.vehicle)
        form.addRow("Port:", self.port)
        form.addRow("Baud rate:", self.baud)
        buttons = QHBoxLayout()
        self.attach_button = QPushButton("Attach and start", form_box)
        self.attach_button.clicked.connect(self.attach)
        self.stop_button = QPushButton("Stop", form_box)
        self.stop_button.clicked.connect(self.stop_selected)
        self.start_button = QPushButton("Start", form_box)
        self.start_button.clicked.connect(self.start_selected)
        close = QPushButton("Close", form_box)
        close.clicked.connect(self.close)
        for b in (self.attach_button, self.start_button, self.stop_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        form.addRow(buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(ports_box, 1)
        layout.addWidget(units_box, 3)
        layout.addWidget(form_box)

        self.feed.unitsChanged.connect(self.refresh_units)
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._show_live_status)
        self._timer.start()
        self.refresh_ports()
        self.refresh_units()

    # Ports
    def refresh_ports(self) -> None:
        run_in_background(list_ports, self._show_ports)

    def _show_ports(self, ports: list[PortInfo]) -> None:
        self.ports.clear()
        current = self.port.currentText()
        self.port.clear()
        for p in ports:
            item = QTreeWidgetItem([p.device, p.vid_pid or "-", p.serial_number or "-", p.description])
            item.setData(0, Qt.ItemDataRole.UserRole, p)
            self.ports.addTopLevelItem(item)
            self.port.addItem(p.device)
        if not ports:
            empty = QTreeWidgetItem(["no serial ports found", "", "", "plug a unit in, then Refresh"])
            self.ports.addTopLevelItem(empty)
        self.port.setCurrentText(current)
        _fit_columns(self.ports)

    def _port_picked(self) -> None:
        items = self.ports.selectedItems()
        if items and items[0].data(0, Qt.ItemDataRole.UserRole):
            self.port.setCurrentText(items[0].text(0))

    # Units
    def refresh_units(self) -> None:
        engine = self.engine
        run_in_background(lambda: unit_assignments(engine), self._show_units, owner=self)

    def _show_units(self, assignments: list[UnitAssignment]) -> None:
        seen = set()
        for a in assignments:
            seen.add(a.device)
            item = self._units.get(a.device)
            if item is None:
                item = self._units[a.device] = QTreeWidgetItem([a.device])
                self.units.addTopLevelItem(item)
            item.setData(0, Qt.ItemDataRole.UserRole, a)
            item.setText(1, a.vehicle or "")
            item.setText(2, a.port or "")
            item.setText(3, str(a.baud) if a.baud else "detect")
            item.setText(4, "yes" if a.live else "no")
            item.setText(LAST_FIX, last_fix_words(a.last_fix_ms, self.zone(), now_ms()))
            item.setToolTip(LAST_FIX, times.iso_z(a.last_fix_ms) if a.last_fix_ms else "")
        for name in list(self._units):
            if name not in seen:
                self.units.takeTopLevelItem(self.units.indexOfTopLevelItem(self._units.pop(name)))
        self._show_live_status()
        zone = self.zone()
        self.units.headerItem().setText(LAST_FIX, f"Last fix ({times.zone_name(zone, now_ms())} time)")
        _fit_columns(self.units)

    def _show_live_status(self) -> None:
        running = self.feed.running_units()
        before = [item.text(5) for item in self._units.values()]
        for name, item in self._units.items():
            if name in running:
                _port, status, rate = running[name]
                item.setText(5, status.state.value + (f": {status.message}" if status.message else ""))
                item.setText(6, f"{rate:.1f}")
            else:
                item.setText(5, "not read")
                item.setText(6, "")
        if [item.text(5) for item in self._units.values()] != before:
            _fit_columns(self.units)

    def _unit_picked(self) -> None:
        items = self.units.selectedItems()
        if not items:
            return
        a: UnitAssignment = items[0].data(0, Qt.ItemDataRole.UserRole)
        self.unit_name.setText(a.device)
        self.vehicle.setText(a.vehicle or "")
        self.port.setCurrentText(a.port or "")
        self.baud.setCurrentIndex(max(0, self.baud.findData(a.baud)))

    # Actions
    def attach(self) -> None:
        name, port = self.unit_name.text().strip(), self.port.currentText().strip()
        if not name or not port:
            QMessageBox.warning(self, "GPS units", "Give the unit a name and choose its port.")
            return
        self.feed.attach(name, port, self.vehicle.text().strip() or None, self.baud.currentData(), live=True)

    def _selected(self) -> UnitAssignment | None:
        items = self.units.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def stop_selected(self) -> None:
        unit = self._selected()
        if unit is not None:
            self.feed.stop_unit(unit.device)

    def start_selected(self) -> None:
        unit = self._selected()
        if unit is None:
            return
        if not unit.port:
            QMessageBox.warning(self, "GPS units", f"{unit.device} has no port: choose one and Attach.")
            return
        self.feed.attach(unit.device, unit.port, unit.vehicle, unit.baud, live=True)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._timer.stop()
        super().closeEvent(event)


def _fit_columns(tree: QTreeWidget) -> None:
    """Each column as wide as its contents and a gap, so columns do not run into each other."""
    for col in range(tree.columnCount() - 1):  # the last one takes what is left
        tree.resizeColumnToContents(col)
        tree.setColumnWidth(col, tree.columnWidth(col) + GAP)


def _depot_zone(window: QWidget | None) -> tzinfo | None:
    """The time zone of the depot ``window`` (the main window) is open on; None (this computer's) without one."""
    depot = getattr(window, "depot", None)
    return depot.rules.timezone if depot is not None else None
