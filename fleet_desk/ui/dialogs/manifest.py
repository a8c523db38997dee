"""File > Import manifest: read and check in the background, show every bad row, store only what the user agrees to.

The same core as `fleet-desk manifest import`: a file with errors imports
nothing unless the dispatcher chooses to import the valid rows.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fleet_desk import messages, times
from fleet_desk.clock import now_ms
from fleet_desk.depot import Depot
from fleet_desk.tracking.manifest import Manifest, ManifestError, check_stored, read_manifest
from fleet_desk.tracking.routes import ManifestResult, store_manifest
from fleet_desk.ui.tasks import run_in_background

MANIFEST_FILTER = "Manifests (*.csv *.json);;All files (*)"


class ManifestProblems(QDialog):
    """The rows that are wrong, with line, column and reason; import the valid rows, or nothing."""

    def __init__(self, manifest: Manifest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Manifest has problems")
        self.resize(640, 380)
        layout = QVBoxLayout(self)
        bad, good = len(manifest.skipped_lines), len(manifest.stops)
        layout.addWidget(QLabel(
            f"<b>{Path(manifest.path).name}</b>: {len(manifest.problems)} problem(s) in {bad} row(s); "
            f"{good} row(s) are fine. Nothing has been imported yet.", self))
        self.details = QPlainTextEdit("\n".join(str(p) for p in manifest.problems), self)
        self.details.setReadOnly(True)
        layout.addWidget(self.details, 1)
        layout.addWidget(QLabel("Fix the file and import it again, or import the valid rows now "
                                "(importing the fixed file later updates them in place).", self))
        buttons = QDialogButtonBox(self)
        self.import_valid = QPushButton(f"Import the {good} valid rows", self)
        self.import_valid.setEnabled(good > 0)
        buttons.addButton(self.import_valid, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("Import nothing", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.details.setFocus(Qt.FocusReason.OtherFocusReason)


NO_DATE = "has no date"  # the reader's word for an HH:MM time read with no day given


class DayQuestion(QDialog):
    """The manifest's times are ``HH:MM`` with no date: which day are they (today at the depot, unless changed)?
    The command line asks the same with --date."""

    def __init__(self, name: str, today: date, times_without_date: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Manifest date")
        form = QFormLayout(self)
        label = QLabel(f"<b>{name}</b> gives {times_without_date} time(s) as HH:MM, without a date. "
                       "Which day are its routes for?", self)
        label.setWordWrap(True)
        form.addRow(label)
        self.day = QDateEdit(QDate(today.year, today.month, today.day), self, calendarPopup=True)
        self.day.setDisplayFormat("ddd d MMM yyyy")
        form.addRow("Day (at the depot):", self.day)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Read the manifest for this day")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def chosen(self) -> date:
        """The day picked."""
        return self.day.date().toPython()


def choose_manifest(parent: QWidget) -> Path | None:
    """The manifest file the user picks (None if they cancel)."""
    name, _ = QFileDialog.getOpenFileName(parent, "Import manifest", "", MANIFEST_FILTER)
    return Path(name) if name else None


class ManifestImport(QObject):
    """File > Import manifest on ``depot``: a file whose times are ``HH:MM`` asks which day first (`DayQuestion`,
    today at the depot proposed); a file with problems opens `ManifestProblems` over ``parent`` first.
    ``stored`` once routes changed."""

    stored = Signal()

    def __init__(self, depot: Depot, path: Path, parent: QWidget) -> None:
        super().__init__(parent)
        self.depot = depot
        self.path = path
        self.parent_widget = parent
        self.problems: ManifestProblems | None = None
        self.day_question: DayQuestion | None = None
        self.day: date | None = None  # the day HH:MM times were read on, once asked

    def start(self, day: date | None = None) -> None:
        """Read and check the file in the background (a tracking number stored for another order is a row
        problem too, with its line and column); ``day``: the date of its HH:MM times (None: ask if it has any)."""
        engine, rules, path = self.depot.engine, self.depot.rules, self.path
        self.day = day

        def read_and_check() -> Manifest:
            manifest = read_manifest(path, day=day, tz=rules.timezone)
            if day is None and any(NO_DATE in p.reason for p in manifest.problems):
                return manifest  # asked first; checked once the day is known
            with engine.connect() as conn:
                check_stored(manifest, conn)
            return manifest

        run_in_background(read_and_check, self._checked, self._unreadable, owner=self)

    def _ask_day(self, undated: int) -> None:
        today = date.fromisoformat(self.depot.rules.local_day(now_ms()))
        self.day_question = DayQuestion(self.path.name, today, undated, self.parent_widget)
        self.day_question.accepted.connect(lambda: self.start(self.day_question.chosen() if self.day_question
                                                              else today))
        self.day_question.rejected.connect(lambda: messages.warning(
            f"Manifest {self.path.name}: nothing imported (no day chosen for its HH:MM times)"))
        self.day_question.open()

    def _checked(self, manifest: Manifest) -> None:
        undated = sum(1 for p in manifest.problems if NO_DATE in p.reason)
        if self.day is None and undated:
            self._ask_day(undated)
            return
        if not manifest.problems:
            self._store(manifest)
            return
        name = self.path.name
        self.problems = ManifestProblems(manifest, self.parent_widget)
        self.problems.accepted.connect(lambda: self._store(manifest))
        self.problems.rejected.connect(
            lambda: messages.warning(f"Manifest {name}: nothing imported ({len(manifest.problems)} problems)"))
        self.problems.open()

    def _unreadable(self, exc: Exception) -> None:
        reason = str(exc) if isinstance(exc, ManifestError) else f"{self.path}: {exc}"
        messages.error(f"{reason}; nothing was imported.")

    def _store(self, manifest: Manifest) -> None:
        engine, tracker, rules, name = self.depot.engine, self.depot.tracker, self.depot.rules, self.path.name

        day = f" for {times.long_day(self.day)}" if self.day is not None else ""

        depot = self.depot

        def store() -> tuple[ManifestResult, list[str]]:
            return store_manifest(engine, tracker, manifest, rules), depot.road_problems(manifest.stops)

        def done(outcome: tuple[ManifestResult, list[str]]) -> None:
            result, off_the_map = outcome
            skipped = f"; {len(manifest.skipped_lines)} invalid row(s) skipped" if manifest.skipped_lines else ""
            messages.info(f"Manifest {name}{day}: {result.report()}{skipped}")
            for line in off_the_map:  # their ETAs fall back to the straight line: the dispatcher knows why
                messages.warning(f"Manifest {name}: {line}")
            self.stored.emit()

        run_in_background(store, done,
                          lambda exc: messages.error(f"Manifest {name} was not imported: {exc}"), owner=self)
