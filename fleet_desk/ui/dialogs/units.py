"""Tools > GPS units: serial ports with their USB details, and which unit reads where.

Attaching a port to a unit (and a vehicle) saves the assignment and starts
live ingestion; assignments persist, so the units restart with the app.
Port listing and database reads run in the background.

On a database several desks share, a unit another desk reads live says so
in its Status ("read by desk-2 since 07:02"; "..., silent for 2 min (can be
taken over)" once that desk has gone quiet) and is not opened here; Take over
reads it here (asking first while that desk still says it reads it), and
that desk stops reading it within a few seconds.
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
from fleet_desk import messages, times
from fleet_desk.clock import now_ms
from fleet_desk.store.units import CLAIM_STALE_S, HEARTBEAT_S, UnitAssignment, claim_text, unit_assignments
from fleet_desk.ui.fleet_feed import FleetFeed
from fleet_desk.ui.tasks import run_in_background

PORT_COLUMNS = ("Port", "USB VID:PID", "Serial number", "Description")
UNIT_COLUMNS = ("Unit", "Vehicle", "Port", "Baud", "Live", "Status", "Fixes/s", "Last fix", "Rejected")
LAST_FIX = UNIT_COLUMNS.index("Last fix")
REJECTED = UNIT_COLUMNS.index("Rejected")
STATUS = UNIT_COLUMNS.index("Status")
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
    """The units of ``engine``'s depot and the ports of this computer; ``feed`` reads the live ones (claimed
    with this desk's name, `FleetFeed.desk`). Times are the depot's (``zone()``)."""

    def __init__(self, feed: FleetFeed, engine: Engine, zone: Callable[[], tzinfo | None],
                 parent: QWidget | None = None, clock: Callable[[], int] = now_ms) -> None:
        """``zone``: the depot's time zone now (None: this computer's); ``clock``: now in ms (tests: a desk gone
        quiet without waiting for it)."""
        super().__init__(parent)
        self.feed = feed
        self.engine = engine
        self.zone = zone
        self.clock = clock
        self.confirm_box: QMessageBox | None = None  # "desk-2 still reads it: take it over?" while asked
        self._ticks = 0
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
        self.take_over_button = QPushButton("Take over", form_box)
        self.take_over_button.setToolTip("Read the selected unit here: one another desk reads live")
        self.take_over_button.setEnabled(False)
        self.take_over_button.clicked.connect(self.take_over_selected)
        close = QPushButton("Close", form_box)
        close.clicked.connect(self.close)
        for b in (self.attach_button, self.start_button, self.stop_button, self.take_over_button):
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
        self._timer.timeout.connect(self._tick)
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

    def _tick(self) -> None:
        """Once a second: the live status; every few seconds the units again (another desk's claims)."""
        self._ticks += 1
        if self._ticks % int(HEARTBEAT_S) == 0:
            self.refresh_units()
        else:
            self._show_live_status()

    def _show_live_status(self) -> None:
        running = self.feed.running_units()
        now, zone, desk = self.clock(), self.zone(), self.feed.desk
        before = [item.text(STATUS) for item in self._units.values()]
        for name, item in self._units.items():
            a: UnitAssignment = item.data(0, Qt.ItemDataRole.UserRole)
            claim = claim_text(a, now, zone, desk)
            stats = self.feed.decode_stats(running[name][0]) if name in running else None
            item.setText(REJECTED, str(stats.rejected) if stats else "")
            item.setToolTip(REJECTED, stats.rejected_words() if stats else "")
            if name in running:
                _port, status, rate = running[name]
                item.setText(STATUS, status.state.value + (f": {status.message}" if status.message else ""))
                item.setText(6, f"{rate:.1f}")
                item.setToolTip(STATUS, claim)
            elif a.read_by and a.read_by != desk:
                item.setText(STATUS, claim)
                item.setText(6, "")
                item.setToolTip(STATUS, f"{claim}: not opened here while that desk reads it; Take over reads it "
                                        "here")
            else:
                item.setText(STATUS, "not read")
                item.setText(6, "")
                item.setToolTip(STATUS, "")
        if [item.text(STATUS) for item in self._units.values()] != before:
            _fit_columns(self.units)
        self._enable_take_over()

    def other_desk(self, unit: UnitAssignment | None) -> str | None:
        """The other desk that reads ``unit`` live (None: none, or this desk)."""
        if unit is None or not unit.read_by or unit.read_by == self.feed.desk:
            return None
        return unit.read_by

    def _enable_take_over(self) -> None:
        unit = self._selected()
        reader = self.other_desk(unit)
        self.take_over_button.setEnabled(reader is not None and self.confirm_box is None)
        if unit is not None and reader is not None:
            quiet = self._quiet(unit)
            self.take_over_button.setToolTip(
                f"Read {unit.device} here: {reader} " + ("has gone quiet" if quiet else
                                                         "still reads it (you will be asked first)"))
        else:
            self.take_over_button.setToolTip("Read the selected unit here: one another desk reads live")

    def _quiet(self, unit: UnitAssignment) -> bool:
        seen = unit.read_seen_ms or unit.read_since_ms or 0
        return self.clock() - seen > CLAIM_STALE_S * 1000

    def _unit_picked(self) -> None:
        self._enable_take_over()
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

    def select_unit(self, device: str) -> bool:
        """Select ``device``'s row (False: no such unit listed yet)."""
        item = self._units.get(device)
        if item is None:
            return False
        self.units.setCurrentItem(item)
        return True

    def take_over_selected(self) -> None:
        unit = self._selected()
        if unit is not None:
            self.take_over(unit.device)

    def take_over(self, device: str) -> None:
        """Read ``device`` here, though another desk reads it: at once when that desk has gone quiet, else once
        the user says so (that desk stops reading it within a few seconds)."""
        item = self._units.get(device)
        unit: UnitAssignment | None = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        if item is not None:
            self.units.setCurrentItem(item)
        reader = self.other_desk(unit)
        if unit is None or reader is None:
            messages.info(f"{device}: no other desk reads it live; Start reads it here")
            return
        if not unit.port:
            QMessageBox.warning(self, "GPS units", f"{unit.device} has no port: choose one and Attach.")
            return
        if self._quiet(unit):
            self._take_over(unit)
            return
        box = self.confirm_box = QMessageBox(
            QMessageBox.Icon.Question, "Take over a GPS unit",
            f"{unit.device} is {claim_text(unit, self.clock(), self.zone())}, and that desk still says so.\n\n"
            f"Take it over? It is read here from now on, and {reader} stops reading it within a few seconds.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText("Take over")

        def answered(_result: int) -> None:
            self.confirm_box = None
            box.deleteLater()
            if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes):
                self._take_over(unit)
            self._enable_take_over()

        box.finished.connect(answered)
        box.open()
        self._enable_take_over()

    def _take_over(self, unit: UnitAssignment) -> None:
        live, port = self.feed.live, unit.port or ""

        def take() -> object:
            return (live.take_over(port)  # waiting here already
                    or live.add_unit(port, unit.device, unit.vehicle, unit.baud, take_over=True))

        def taken(_ref: object) -> None:
            messages.info(f"{unit.device} is read at this desk now; {unit.read_by} stops reading it within a few "
                          "seconds")
            self.feed.unitsChanged.emit()

        def failed(exc: Exception) -> None:
            messages.error(f"{unit.device} could not be taken over: {exc}")

        run_in_background(take, taken, failed, owner=self)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._timer.stop()
        super().closeEvent(event)


def _fit_columns(tree: QTreeWidget) -> None:
    """Each column as wide as its contents and a gap, so columns do not run into each other."""
    for col in range(tree.columnCount() - 1):  # the last one takes what is left
        tree.resizeColumnToContents(col)
        tree.setColumnWidth(col, tree.columnWidth(col) + GAP)
