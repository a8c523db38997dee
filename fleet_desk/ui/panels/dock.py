"""Tools > Dock a unit: a driver plugs in the vehicle's GPS unit and its stored track comes in.

Ports are watched (`PortWatcher`); a known unit that appears is named with
its vehicle and offered for download (or downloaded at once when the
setting says so); an unknown one gets the short register dialog. The
download is `fleet_desk.ingest.dock.dock_unit`, the same as ``fleet-desk dock``,
run off the GUI thread as a `Job` with a progress bar (bytes, records, time
left) and Cancel; the summary says what came in and which stops it filled in.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from drivers.base import PortInfo
from drivers.mtk import LoggerIdentity
from fleet_desk import messages, times
from fleet_desk.depot import Depot
from fleet_desk.ingest.dock import DockError, DockProgress, DockSummary, dock_unit
from fleet_desk.ingest.dock.recognise import which_unit
from fleet_desk.store.units import UnitAssignment, register_dock_unit, unit_assignments
from fleet_desk.ui.dialogs.register_unit import RegisterUnitDialog
from fleet_desk.ui.tasks import Cancelled, Job, Report, run_in_background

FAMILIES = (("Ask the unit", None), ("MTK data logger (Holux, Qstarz, i-Blue…)", "mtk"),
            ("NMEA logger (plays its log back)", "nmea"))
PHASES = {"connecting": "Connecting to the unit…", "downloading": "Downloading the stored track…",
          "storing": "Storing the track…", "reconciling": "Filling in the day's stop visits…",
          "erasing": "Erasing the unit's memory…"}


class DockView(QWidget):
    """The Dock a unit panel, on ``depot``: its database, the live tracker that carries on from a docked track,
    the depot's time zone, and the settings whose docking choices (erase, download at once) it shows and saves."""

    docked = Signal(object)  # DockSummary, once a dock is over

    def __init__(self, depot: Depot, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.depot = depot
        self.job: Job | None = None
        self._job_port = ""  # the port the running job reads
        self.summary: DockSummary | None = None
        self.units: list[UnitAssignment] = []
        self.register_dialog: RegisterUnitDialog | None = None
        self.bauds: dict[str, int] = {}  # port -> the baud rate a unit answered at when it was asked

        self.title = QLabel("Plug in a GPS unit: it is recognised and its stored track is offered for download.")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-size: 14px; font-weight: 600; padding: 4px 0;")
        form = QFormLayout()
        self.port = QComboBox(self, editable=True)
        self.port.lineEdit().setPlaceholderText("e.g. /dev/ttyUSB0, COM5")
        form.addRow("Port:", self.port)
        self.unit = QComboBox(self, editable=True)
        self.unit.lineEdit().setPlaceholderText("the unit's name; a new name registers it")
        self.unit.currentTextChanged.connect(self._unit_picked)
        form.addRow("GPS unit:", self.unit)
        self.vehicle = QComboBox(self, editable=True)
        self.vehicle.lineEdit().setPlaceholderText("the vehicle it rode in (keeps the unit's vehicle if empty)")
        form.addRow("Vehicle:", self.vehicle)
        self.family = QComboBox(self)
        for label, value in FAMILIES:
            self.family.addItem(label, value)
        form.addRow("Unit family:", self.family)
        self.erase = QCheckBox("Erase the unit's memory once the whole track is stored", self)
        self.erase.setChecked(depot.settings.dock_erase)
        self.erase.toggled.connect(lambda on: self._save_setting("dock_erase", on))
        form.addRow("", self.erase)
        self.auto = QCheckBox("Start the download as soon as a known unit is plugged in", self)
        self.auto.setChecked(depot.settings.dock_auto_download)
        self.auto.toggled.connect(lambda on: self._save_setting("dock_auto_download", on))
        form.addRow("", self.auto)

        self.download = QPushButton("Download", self)
        self.download.setDefault(True)
        self.download.clicked.connect(self.start_download)
        self.cancel = QPushButton("Cancel", self)
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.cancel_download)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.download)

        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.bar.setTextVisible(True)
        self.progress_text = QLabel("", self)
        self.report = QTextBrowser(self)
        self.report.setPlaceholderText("The summary of the last dock appears here.")

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.bar)
        layout.addWidget(self.progress_text)
        layout.addWidget(self.report, 1)
        self.refresh_units()

    # -- units and ports --------------------------------------------------------------------------------

    def refresh_units(self) -> None:
        engine = self.depot.engine
        run_in_background(lambda: unit_assignments(engine), self._units_loaded, owner=self)

    def _units_loaded(self, units: list[UnitAssignment]) -> None:
        self.units = units
        current, vehicle = self.unit.currentText(), self.vehicle.currentText()
        self.unit.clear()
        self.unit.addItems([u.device for u in units if not u.live])
        self.unit.setCurrentText(current)
        self.vehicle.clear()
        self.vehicle.addItems([""] + sorted({u.vehicle for u in units if u.vehicle}))
        self.vehicle.setCurrentText(vehicle)

    def set_ports(self, ports: list[PortInfo]) -> None:
        current = self.port.currentText()
        self.port.clear()
        for p in ports:
            self.port.addItem(p.device)
        self.port.setCurrentText(current or (ports[0].device if ports else ""))

    def _unit_picked(self, name: str) -> None:
        unit = next((u for u in self.units if u.device == name), None)
        if unit is not None:
            self.vehicle.setCurrentText(unit.vehicle or "")
            index = self.family.findData(unit.family if unit.family in ("mtk", "nmea") else None)
            self.family.setCurrentIndex(max(0, index))

    def offer(self, port: PortInfo) -> None:
        """A unit appeared on ``port``: find out whose it is (asking it if its USB details do not say)."""
        if self.busy:
            return
        self.title.setText(f"A unit was plugged in on {port.device}; recognising it…")
        engine = self.depot.engine
        run_in_background(lambda: which_unit(engine, port),
                          lambda found: self._recognised(port, *found), owner=self)

    def _recognised(self, port: PortInfo, unit: UnitAssignment | None, identity: LoggerIdentity | None) -> None:
        if self.busy:
            return
        self.port.setCurrentText(port.device)
        if identity is not None:
            self.bauds[port.device] = identity.baud
        if unit is None:
            self._register(port, identity)
            return
        self._known_unit(port.device, unit)

    def _known_unit(self, port: str, unit: UnitAssignment) -> None:
        self.unit.setCurrentText(unit.device)
        self._unit_picked(unit.device)
        whose = f"{unit.device}" + (f" of {unit.vehicle}" if unit.vehicle else "")
        if self.auto.isChecked():
            self.title.setText(f"{whose} is plugged in on {port}: downloading its track.")
            self.start_download()
        else:
            self.title.setText(f"{whose} is plugged in on {port}. Download its stored track?")
            self.download.setFocus()
        messages.info(f"GPS unit {whose} plugged in on {port}")

    def _register(self, port: PortInfo, identity: LoggerIdentity | None) -> None:
        if self.register_dialog is not None and self.register_dialog.isVisible():
            return  # one unknown unit at a time; the next is offered when it is plugged in again
        self.title.setText(f"An unknown unit was plugged in on {port.device}.")
        dialog = RegisterUnitDialog(port, identity.text if identity else None, "mtk" if identity else "nmea",
                                    [u.device for u in self.units], sorted({u.vehicle for u in self.units
                                                                           if u.vehicle}), self)
        self.register_dialog = dialog
        dialog.accepted.connect(lambda: self._registered(port, identity, dialog.values()))
        dialog.open()

    def _registered(self, port: PortInfo, identity: LoggerIdentity | None, values: tuple[str, str, str | None]) -> None:
        name, family, vehicle = values
        engine, desk = self.depot.engine, self.depot.desk

        def work() -> UnitAssignment:
            register_dock_unit(engine, name, family, vehicle, port.serial_number, port.vid_pid,
                               identity.text if identity else None, desk=desk)
            return next(u for u in unit_assignments(engine) if u.device == name)

        def done(unit: UnitAssignment) -> None:
            self.units = [u for u in self.units if u.device != name] + [unit]
            self.unit.addItem(name)
            messages.info(f"GPS unit {name} registered" + (f" for {vehicle}" if vehicle else ""))
            self._known_unit(port.device, unit)

        run_in_background(work, done, lambda exc: messages.error(f"Registering {name} failed: {exc}"), owner=self)

    # -- the download -----------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start_download(self) -> None:
        port, device = self.port.currentText().strip(), self.unit.currentText().strip()
        if not port or not device:
            self.title.setText("Choose the port the unit is on and name the unit.")
            return
        if self.busy:
            return
        engine, tracker = self.depot.engine, self.depot.tracker
        family, vehicle_name = self.family.currentData(), self.vehicle.currentText().strip() or None
        erase, baud = self.erase.isChecked(), self.bauds.get(port)

        def dock(report: Report, cancelled: Cancelled) -> DockSummary:
            return dock_unit(engine, tracker, port, device, family, vehicle_name, erase, baud, progress=report,
                             cancelled=cancelled)

        self.job, self._job_port = Job(dock, self), port
        self.job.progress.connect(self._on_progress)
        self.job.done.connect(self._on_finished)
        self.job.failed.connect(lambda exc: self._on_failed(self._failure_text(exc, port, device)))
        self._set_running(True)
        vehicle = self.vehicle.currentText().strip()
        self.title.setText(f"Downloading {device}" + (f" ({vehicle})" if vehicle else "") + f" from {port}…")
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.progress_text.setText(PHASES["connecting"])
        self.report.clear()
        self.job.start()

    def cancel_download(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.progress_text.setText("Cancelling: storing what was read…")

    def _set_running(self, running: bool) -> None:
        for widget in (self.port, self.unit, self.vehicle, self.family, self.erase, self.download):
            widget.setEnabled(not running)
        self.cancel.setEnabled(running)

    def _on_progress(self, p: DockProgress) -> None:
        if p.phase != "downloading":
            self.progress_text.setText(PHASES.get(p.phase, p.phase))
            if p.phase in ("reconciling", "erasing"):
                self.bar.setRange(0, 0)  # busy
            return
        if p.bytes_total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * p.bytes_done / p.bytes_total))
            left = p.time_left_s
            self.progress_text.setText(
                f"{p.bytes_done:,} of {p.bytes_total:,} bytes · {p.records:,} records · "
                f"{p.rate_bps / 1000:,.1f} kB/s" + (f" · {times.duration(left)} left" if left is not None else ""))
        else:
            self.bar.setRange(0, 0)
            self.progress_text.setText(f"{p.bytes_done:,} bytes · {p.records:,} fixes so far "
                                       "(the unit does not say how much it holds)")

    def _on_finished(self, summary: DockSummary) -> None:
        self._job_over()
        self.summary = summary
        self._set_running(False)
        self.bar.setRange(0, 1000)
        self.bar.setValue(1000 if summary.complete else self.bar.value())
        stored = summary.ingest.result.stored
        filled = sum(1 for s in summary.stops if s.filled_in)
        whose = summary.device + (f" ({summary.vehicle})" if summary.vehicle else "")
        if summary.complete:
            self.title.setText(f"{whose} docked: {stored:,} new fixes, {len(summary.stops)} stops visited"
                               + (f", {filled} filled in" if filled else "") + ". The unit can be unplugged.")
            self.progress_text.setText("Done" + (": the unit's memory was erased" if summary.erased else ""))
            messages.info(f"Docked {whose}: {stored:,} new fixes" + (f", {filled} stop visits filled in"
                                                                      if filled else ""))
        else:
            why = summary.problem or "cancelled"
            self.title.setText(f"{whose}: the download stopped early ({why}). What was read is stored; "
                               "dock again to finish.")
            self.progress_text.setText("Stopped early; nothing was erased")
            messages.warning(f"Docking {whose} stopped early: {why}. What was read is stored.")
        self.report.setHtml(self._report_html(summary))
        self.refresh_units()
        self.docked.emit(summary)

    def _on_failed(self, text: str) -> None:
        self._job_over()
        self._set_running(False)
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.title.setText(text)
        self.progress_text.setText("")
        messages.error(text)

    @staticmethod
    def _failure_text(exc: Exception, port: str, device: str) -> str:
        if isinstance(exc, DockError):
            return str(exc)
        # a database error: what was stored before it stays stored
        return (f"{port}: docking {device} failed: {exc}. What was read before this stays stored; dock again to "
                "finish.")

    def _job_over(self) -> None:
        self.bauds.pop(self._job_port, None)  # the unit is asked again next time it is plugged in
        if self.job is not None:
            self.job.deleteLater()
        self.job = None

    def _report_html(self, summary: DockSummary) -> str:
        tz = self.depot.rules.timezone
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in summary.report())
        parts = [f"<table cellspacing=3>{rows}</table>"]
        if summary.stops:
            items = "".join(
                f"<tr><td>{s.service_date}</td><td>#{s.sequence}</td><td>{times.hhmm(s.arrived_ms, tz)}"
                f"{' – ' + times.hhmm(s.departed_ms, tz) if s.departed_ms else ''}</td>"
                f"<td>{html.escape(s.address)}</td><td>{'<b>filled in</b>' if s.filled_in else 'already known'}</td>"
                "</tr>" for s in summary.stops)
            parts.append(f"<p><b>Stops the track shows were visited</b></p><table cellspacing=3>{items}</table>")
        return "".join(parts)

    def _save_setting(self, name: str, value: bool) -> None:
        """A docking choice is kept at once (in the depot's settings, the window's own)."""
        setattr(self.depot.settings, name, value)
        try:
            self.depot.settings.save()
        except OSError as exc:
            messages.error(f"Settings could not be saved to {self.depot.settings.path()}: {exc}")

