"""File > Import manifest: read and check in the background, show every bad row, store only what the user agrees to.

The same core as `fleet-desk manifest import`: a file with errors imports
nothing unless the dispatcher chooses to import the valid rows.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fleet_desk import messages
from fleet_desk.clock import now_ms
from fleet_desk.tracking.manifest import Manifest, ManifestError, check_stored, read_manifest
from fleet_desk.tracking.routes import store_manifest
from fleet_desk.ui.tasks import run_in_background

MANIFEST_FILTER = "Manifests (*.csv *.json);;All files (*)"


class ManifestProblems(QDialog):
    """The rows that are wrong, with line, column and reason; import the valid rows, or nothing."""

    def __init__(self, manifest: Manifest, parent: QWidget | None = None):
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


def import_manifest(window, path: Path | None = None) -> None:  # noqa: ANN001
    """File > Import manifest. ``HH:MM`` times are read as today's, at the depot."""
    if path is None:
        name, _ = QFileDialog.getOpenFileName(window, "Import manifest", "", MANIFEST_FILTER)
        if not name:
            return
        path = Path(name)
    rules, engine, tracker = window.rules, window.engine, window.depot.tracker
    today = date.fromisoformat(rules.local_day(now_ms()))

    def store(manifest: Manifest) -> None:
        def done(result) -> None:  # noqa: ANN001
            skipped = f"; {len(manifest.skipped_lines)} invalid row(s) skipped" if manifest.skipped_lines else ""
            messages.info(f"Manifest {path.name}: {result.report()}{skipped}")
            window.routes.refresh()

        run_in_background(lambda: store_manifest(engine, tracker, manifest, rules), done,
                          lambda exc: messages.error(f"Manifest {path.name} was not imported: {exc}"), owner=window)

    def checked(manifest: Manifest) -> None:
        if not manifest.problems:
            store(manifest)
            return
        window.manifest_problems = ManifestProblems(manifest, window)
        window.manifest_problems.accepted.connect(lambda: store(manifest))
        window.manifest_problems.rejected.connect(
            lambda: messages.warning(f"Manifest {path.name}: nothing imported ({len(manifest.problems)} problems)"))
        window.manifest_problems.open()

    def unreadable(exc: Exception) -> None:
        reason = str(exc) if isinstance(exc, ManifestError) else f"{path}: {exc}"
        messages.error(f"{reason}; nothing was imported.")

    def read_and_check() -> Manifest:
        manifest = read_manifest(path, day=today, tz=rules.timezone)
        with engine.connect() as conn:  # a tracking number stored for another order: a row problem, line and column
            check_stored(manifest, conn)
        return manifest

    run_in_background(read_and_check, checked, unreadable, owner=window)
