"""File > Import log: pick files, name the unit, watch the progress, read the summary.

The import itself is `fleet_desk.ingest.pipeline.import_log`, the same function the
CLI runs, in a worker thread; cancelling keeps everything already read.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QMessageBox,
    QProgressDialog,
    QWidget,
)
from sqlalchemy import Engine

from fleet_desk.ingest.pipeline import IngestSummary, NotNmeaError, import_log
from fleet_desk.store.units import unit_assignments
from fleet_desk.tracking.tracker import RouteTracker
from fleet_desk.ui.tasks import run_in_background

LOG_FILTER = "NMEA logs (*.nmea *.log *.txt *.gz);;All files (*)"


@dataclass(slots=True)
class FileOutcome:
    path: Path
    summary: IngestSummary | None
    error: str | None


class ImportJob(QObject):
    """Imports files one after the other in a worker thread."""

    progress = Signal(int, int, str)  # per mille done, file number, file name
    finished = Signal(list)  # FileOutcome per file

    def __init__(self, engine: Engine, tracker: RouteTracker, paths: list[Path], device: str, vehicle: str | None,
                 day: date | None):
        """``tracker``: the depot's live tracker, which carries on from each imported track."""
        super().__init__()
        self.engine, self.tracker = engine, tracker
        self.paths, self.device, self.vehicle, self.day = paths, device, vehicle, day
        self.cancel_event = threading.Event()

    def start(self) -> None:
        run_in_background(self._run, self.finished.emit, owner=self)

    def cancel(self) -> None:
        self.cancel_event.set()

    def _run(self) -> list[FileOutcome]:
        outcomes = []
        for number, path in enumerate(self.paths, 1):
            if self.cancel_event.is_set():
                break

            def progress(done: int, total: int, number: int = number, name: str = path.name) -> None:
                self.progress.emit(int(1000 * done / total) if total else 1000, number, name)

            try:
                summary = import_log(self.engine, self.tracker, path, self.device, self.vehicle, self.day,
                                     progress=progress, cancelled=self.cancel_event.is_set)
            except (OSError, NotNmeaError) as exc:
                outcomes.append(FileOutcome(path, None, f"{exc}; nothing more was imported from it"))
            except Exception as exc:  # noqa: BLE001 - a database error: named, earlier batches stay stored
                outcomes.append(FileOutcome(path, None, f"{path}: import failed: {exc}. Positions stored before "
                                                        "this error stay stored; import the file again to finish."))
            else:
                outcomes.append(FileOutcome(path, summary, None))
        return outcomes


class ImportOptions(QDialog):
    """Which unit the log belongs to, and a date if the log lacks one."""

    def __init__(self, paths: list[Path], units: list[str], vehicles: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Import log")
        form = QFormLayout(self)
        names = ", ".join(p.name for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        form.addRow("Files:", _label(names))
        self.unit = QComboBox(self, editable=True)
        self.unit.addItems(units)
        self.unit.setCurrentText(units[0] if units else "")
        self.unit.lineEdit().setPlaceholderText("unit name, e.g. unit-07")
        form.addRow("GPS unit:", self.unit)
        self.vehicle = QComboBox(self, editable=True)
        self.vehicle.addItems([""] + vehicles)
        self.vehicle.lineEdit().setPlaceholderText("optional: assigns the unit to this vehicle")
        form.addRow("Vehicle:", self.vehicle)
        self.use_date = QCheckBox("Date for epochs before the log gives one", self)
        self.date = QDateEdit(QDate.currentDate(), self, calendarPopup=True)
        self.date.setEnabled(False)
        self.use_date.toggled.connect(self.date.setEnabled)
        form.addRow(self.use_date, self.date)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _accept(self) -> None:
        if not self.unit.currentText().strip():
            QMessageBox.warning(self, "Import log", "Name the GPS unit the log comes from.")
            return
        self.accept()

    def values(self) -> tuple[str, str | None, date | None]:
        day = self.date.date().toPython() if self.use_date.isChecked() else None
        return self.unit.currentText().strip(), self.vehicle.currentText().strip() or None, day


def _label(text: str):  # noqa: ANN202
    from PySide6.QtWidgets import QLabel

    label = QLabel(text)
    label.setWordWrap(True)
    return label


def summary_text(outcomes: list[FileOutcome]) -> str:
    parts = []
    for outcome in outcomes:
        if outcome.error:
            parts.append(f"<p><b>{outcome.path.name}</b>: {outcome.error}</p>")
            continue
        rows = "".join(f"<tr><td>{label}</td><td>{value}</td></tr>" for label, value in outcome.summary.report())
        parts.append(f"<p><b>{outcome.path.name}</b></p><table cellspacing=4>{rows}</table>")
    return "".join(parts) or "Nothing was imported."


class ImportFlow(QObject):
    """Options, then progress with cancel, then the summary; emits ``done`` with the outcomes."""

    done = Signal(list)

    def __init__(self, window, paths: list[Path]):  # noqa: ANN001
        super().__init__(window)
        self.window = window
        self.paths = paths
        self.job: ImportJob | None = None
        self.progress: QProgressDialog | None = None
        self.summary_box: QMessageBox | None = None

    def begin(self, device: str, vehicle: str | None, day: date | None) -> None:
        self.job = ImportJob(self.window.engine, self.window.depot.tracker, self.paths, device, vehicle, day)
        self.progress = QProgressDialog("Importing…", "Cancel", 0, 1000, self.window)
        self.progress.setWindowTitle("Import log")
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(0)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.canceled.connect(self.job.cancel)
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.progress.show()
        self.job.start()

    def _on_progress(self, per_mille: int, number: int, name: str) -> None:
        if self.progress is not None:
            self.progress.setLabelText(f"Importing {name} ({number} of {len(self.paths)})…")
            self.progress.setValue(per_mille)

    def _on_finished(self, outcomes: list[FileOutcome]) -> None:
        if self.progress is not None:
            self.progress.close()
        self.window.feed.watch.poll_now()
        failed = any(o.error for o in outcomes)
        self.summary_box = QMessageBox(QMessageBox.Icon.Warning if failed else QMessageBox.Icon.Information,
                                       "Import log", summary_text(outcomes), QMessageBox.StandardButton.Ok,
                                       self.window)
        self.summary_box.setTextFormat(Qt.TextFormat.RichText)
        self.summary_box.setModal(False)
        self.summary_box.show()
        self.done.emit(outcomes)


def import_logs(window, paths: list[Path] | None = None) -> None:  # noqa: ANN001
    """File > Import log."""
    if paths is None:
        names, _ = QFileDialog.getOpenFileNames(window, "Import NMEA log", "", LOG_FILTER)
        paths = [Path(n) for n in names]
    if not paths:
        return

    def ask(assignments: list) -> None:
        units = [a.device for a in assignments]
        vehicles = sorted({a.vehicle for a in assignments if a.vehicle})
        options = ImportOptions(paths, units, vehicles, window)
        if options.exec() == QDialog.DialogCode.Accepted:
            window.import_flow = ImportFlow(window, paths)
            window.import_flow.begin(*options.values())

    run_in_background(lambda: unit_assignments(window.engine), ask, owner=window)
