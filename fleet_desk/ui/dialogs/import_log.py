"""File > Import log: pick files, name the unit, watch the progress, read the summary.

The import itself is `fleet_desk.ingest.pipeline.import_log`, the same function the
CLI runs, file after file in a `Job`; cancelling keeps everything already read.
"""

from __future__ import annotations

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
    QLabel,
    QMessageBox,
    QProgressDialog,
    QWidget,
)
from sqlalchemy import Engine

from fleet_desk import messages
from fleet_desk.clock import now_ms
from fleet_desk.depot import Depot
from fleet_desk.ingest.pipeline import IngestSummary, NotNmeaError, import_log
from fleet_desk.store.units import UnitAssignment, unit_assignments
from fleet_desk.tracking.tracker import RouteTracker
from fleet_desk.ui.tasks import Cancelled, Job, Report, run_in_background

LOG_FILTER = "NMEA logs (*.nmea *.log *.txt *.gz);;All files (*)"


@dataclass(slots=True)
class FileOutcome:
    """What importing one file came to: its summary, or the error that stopped it; kept per file, so one
    bad file does not hide what the others stored."""

    path: Path
    summary: IngestSummary | None
    error: str | None


@dataclass(frozen=True, slots=True)
class ImportProgress:
    """How far the import is: per mille of the file being read, which file (from 1), its name."""

    per_mille: int
    number: int
    name: str


def import_files(engine: Engine, tracker: RouteTracker, paths: list[Path], device: str, vehicle: str | None,
                 day: date | None, report: Report, cancelled: Cancelled) -> list[FileOutcome]:
    """Import ``paths`` one after the other through ``tracker`` (the depot's live one, which carries on from each
    imported track), reporting `ImportProgress`; a file that fails is named and the next one is read."""
    outcomes = []
    for number, path in enumerate(paths, 1):
        if cancelled():
            break

        def progress(done: int, total: int, number: int = number, name: str = path.name) -> None:
            report(ImportProgress(int(1000 * done / total) if total else 1000, number, name))

        try:
            summary = import_log(engine, tracker, path, device, vehicle, day, progress=progress, cancelled=cancelled)
        except (OSError, NotNmeaError) as exc:
            outcomes.append(FileOutcome(path, None, f"{exc}; nothing more was imported from it"))
        except Exception as exc:  # a database error: named, earlier batches stay stored
            outcomes.append(FileOutcome(path, None, f"{path}: import failed: {exc}. Positions stored before "
                                                    "this error stay stored; import the file again to finish."))
        else:
            outcomes.append(FileOutcome(path, summary, None))
    return outcomes


class ImportOptions(QDialog):
    """Which unit the log belongs to, and a date if the log lacks one."""

    def __init__(self, paths: list[Path], units: list[str], vehicles: list[str],
                 parent: QWidget | None = None, today: date | None = None) -> None:
        """``today``: the depot's date, proposed for a log without dates (this computer's if not given)."""
        super().__init__(parent)
        self.setWindowTitle("Import log")
        form = QFormLayout(self)
        names = ", ".join(p.name for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        form.addRow("Files:", _label(names))
        self.unit = QComboBox(self, editable=True)
        self.unit.addItems(units)
        self.unit.setCurrentText("")  # never a guess: the first unit listed may be one a van carries live now
        self.unit.lineEdit().setPlaceholderText("the unit's name, e.g. holux-3 (pick or type)")
        form.addRow("GPS unit:", self.unit)
        self.vehicle = QComboBox(self, editable=True)
        self.vehicle.addItems([""] + vehicles)
        self.vehicle.lineEdit().setPlaceholderText("optional: assigns the unit to this vehicle")
        form.addRow("Vehicle:", self.vehicle)
        self.use_date = QCheckBox("Date for epochs before the log gives one", self)
        self.date = QDateEdit(QDate(today.year, today.month, today.day) if today else QDate.currentDate(), self,
                              calendarPopup=True)
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


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def summary_text(outcomes: list[FileOutcome]) -> str:
    """The import's outcome as the rich text of the summary box: each file's report as a table, or its
    error."""
    parts = []
    for outcome in outcomes:
        if outcome.error:
            parts.append(f"<p><b>{outcome.path.name}</b>: {outcome.error}</p>")
            continue
        rows = "".join(f"<tr><td>{label}</td><td>{value}</td></tr>"
                       for label, value in (outcome.summary.report() if outcome.summary else []))
        parts.append(f"<p><b>{outcome.path.name}</b></p><table cellspacing=4>{rows}</table>")
    return "".join(parts) or "Nothing was imported."


def choose_logs(parent: QWidget) -> list[Path]:
    """The log files the user picks (none if they cancel)."""
    names, _ = QFileDialog.getOpenFileNames(parent, "Import NMEA log", "", LOG_FILTER)
    return [Path(n) for n in names]


class ImportFlow(QObject):
    """File > Import log on ``depot``: options (`ask`), then progress with Cancel, then the summary; ``done``
    carries the outcomes. Dialogs open over ``parent``."""

    done = Signal(list)

    def __init__(self, depot: Depot, paths: list[Path], parent: QWidget) -> None:
        super().__init__(parent)
        self.depot = depot
        self.paths = paths
        self.parent_widget = parent
        self.job: Job | None = None
        self.options: ImportOptions | None = None
        self.progress: QProgressDialog | None = None
        self.summary_box: QMessageBox | None = None

    def ask(self) -> None:
        """Which unit (and vehicle, and date) the files belong to, offering the known ones; then `begin`."""
        engine = self.depot.engine
        run_in_background(lambda: unit_assignments(engine), self._ask, owner=self)

    def _ask(self, assignments: list[UnitAssignment]) -> None:
        # Units read live are on their vans now: a log to import comes from a logger, so those come last.
        units = [a.device for a in assignments if not a.live] + [a.device for a in assignments if a.live]
        vehicles = sorted({a.vehicle for a in assignments if a.vehicle})
        today = date.fromisoformat(self.depot.rules.local_day(now_ms()))
        self.options = ImportOptions(self.paths, units, vehicles, self.parent_widget, today)
        if self.options.exec() == QDialog.DialogCode.Accepted:
            self.begin(*self.options.values())

    def begin(self, device: str, vehicle: str | None, day: date | None) -> None:
        engine, tracker, paths = self.depot.engine, self.depot.tracker, self.paths

        def work(report: Report, cancelled: Cancelled) -> list[FileOutcome]:
            return import_files(engine, tracker, paths, device, vehicle, day, report, cancelled)

        self.job = Job(work, self)
        self.progress = QProgressDialog("Importing…", "Cancel", 0, 1000, self.parent_widget)
        self.progress.setWindowTitle("Import log")
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(0)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.canceled.connect(self.job.cancel)
        self.job.progress.connect(self._on_progress)
        self.job.done.connect(self._on_finished)
        self.job.failed.connect(self._on_failed)
        self.progress.show()
        self.job.start()

    def _on_progress(self, p: ImportProgress) -> None:
        if self.progress is not None:
            self.progress.setLabelText(f"Importing {p.name} ({p.number} of {len(self.paths)})…")
            self.progress.setValue(p.per_mille)

    def _on_finished(self, outcomes: list[FileOutcome]) -> None:
        if self.progress is not None:
            self.progress.close()
        for outcome in outcomes:  # a file that could not be read: one line in the message bar
            if outcome.error:
                messages.error(outcome.error)
        if not any(o.summary for o in outcomes):  # nothing was read: no box to close
            self.done.emit(outcomes)
            return
        failed = any(o.error for o in outcomes)
        self.summary_box = QMessageBox(QMessageBox.Icon.Warning if failed else QMessageBox.Icon.Information,
                                       "Import log", summary_text(outcomes), QMessageBox.StandardButton.Ok,
                                       self.parent_widget)
        self.summary_box.setTextFormat(Qt.TextFormat.RichText)
        self.summary_box.setModal(False)
        self.summary_box.show()
        self.done.emit(outcomes)

    def _on_failed(self, exc: Exception) -> None:
        if self.progress is not None:
            self.progress.close()
        messages.error(str(exc))
