"""Tools > Road map: which road map ETAs ride on, and importing an OpenStreetMap extract to build a new one.

The build is `fleet_desk.roads.build.build_road_map`, the same function
``fleet-desk roads import`` runs, in a `Job` with a progress dialog and
Cancel. A finished build is put in use by the depot (its live tracker follows)
and the map draws its streets where tiles cannot load; a cancelled or failed
one leaves the map in use as it was.
"""

from __future__ import annotations

import html
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QProgressDialog,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from fleet_desk import messages, times
from fleet_desk.ui.tasks import Cancelled, Job, Report

if TYPE_CHECKING:
    from fleet_desk.depot import Depot
    from fleet_desk.roads.library import MapInfo

EXTRACT_FILTER = "OpenStreetMap extracts (*.osm.pbf *.osm *.osm.bz2);;All files (*)"
NO_MAP_TEXT = ("<p><b>No road map.</b> ETAs use the straight line between stops, stretched by how much "
               "farther the fleet's vans drive than the crow flies.</p>"
               "<p>Import an OpenStreetMap extract of the depot's area (an <tt>.osm.pbf</tt> from "
               "download.geofabrik.de or BBBike, or an export from openstreetmap.org) and ETAs follow its "
               "streets; where map tiles cannot load, the map draws its streets instead.</p>")


def size_text(size_bytes: int) -> str:
    """ "4.2 MB": a size as people read it."""
    size = float(size_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" or size >= 100 else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def map_text(info: MapInfo | None, zone: tzinfo | None, depot: tuple[float, float] | None = None,
             problem: str | None = None) -> str:
    """The dialog's description of ``info`` (rich text): name, area, size, when it was built, from what;
    whether the depot lies within it. ``problem``: why the installation's road map is not in use."""
    if info is None:
        if problem:
            return (f"<p style='color:#b71c1c'>The road map cannot be used: {html.escape(problem)}</p>"
                    + NO_MAP_TEXT)
        return NO_MAP_TEXT
    built = times.date_time(info.built_ms, zone)
    rows = (("Area", info.area_text), ("Streets", f"{info.streets:,}"), ("Size", size_text(info.size_bytes)),
            ("Built", built), ("From", info.source))
    table = "".join(f"<tr><td><b>{label}</b></td><td>{html.escape(value)}</td></tr>" for label, value in rows)
    text = (f"<p><b>{html.escape(info.name)}</b> is the road map in use: ETAs follow its streets, and where map "
            f"tiles cannot load the map draws them.</p><table cellspacing=4>{table}</table>")
    if depot is not None and not info.covers(*depot):
        text += (f"<p style='color:#b71c1c'>The depot ({depot[0]:.4f}, {depot[1]:.4f}) is outside this map's "
                 "area: legs from it use the straight line. Import an extract that covers the depot.</p>")
    return text


def choose_extract(parent: QWidget) -> Path | None:
    """The extract the user picks (None if they cancel)."""
    name, _ = QFileDialog.getOpenFileName(parent, "Import OpenStreetMap extract", "", EXTRACT_FILTER)
    return Path(name) if name else None


def build_and_use(depot: Depot, source: Path, report: Report, cancelled: Cancelled) -> MapInfo:
    """Off the GUI thread: build the road map from ``source`` (reporting ``(fraction, stage)``) and put it in
    use by ``depot``; raises RoadMapError, or BuildCancelled with the map in use unchanged."""
    from fleet_desk.roads.build import build_road_map
    from fleet_desk.roads.library import RoadMapError

    info = build_road_map(source, lambda fraction, stage: report((fraction, stage)), cancelled)
    depot.use_road_map(info)
    if depot.road_problem:  # built, but its graph would not open
        raise RoadMapError(depot.road_problem)
    return info


class RoadMapDialog(QDialog):
    """Tools > Road map on ``depot``: the map in use (or none) and "Import OpenStreetMap extract…". ``changed``
    carries the new `MapInfo` once a build is in use."""

    changed = Signal(object)

    def __init__(self, depot: Depot, depot_position: tuple[float, float] | None, parent: QWidget | None = None,
                 ) -> None:
        super().__init__(parent)
        self.depot = depot
        self.depot_position = depot_position
        self.job: Job | None = None
        self.progress: QProgressDialog | None = None
        self.stages: list[str] = []  # what the build said it was doing, in order (tests read it)
        self.setWindowTitle("Road map")
        self.resize(560, 300)
        layout = QVBoxLayout(self)
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        self.description.setTextFormat(Qt.TextFormat.RichText)
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.description)
        self.problem = QLabel(self)  # why the last import failed, in one line
        self.problem.setObjectName("roadMapProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("#roadMapProblem { background:#ffebee; color:#b71c1c; border:1px solid #ef9a9a;"
                                   " border-radius:3px; padding:4px; }")
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problem.hide()
        layout.addWidget(self.problem)
        layout.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.import_button = QPushButton("Import OpenStreetMap extract…", self)
        self.import_button.setToolTip("Build a road map from an extract of the depot's area (.osm.pbf, .osm, "
                                      ".osm.bz2); a region can take minutes")
        self.import_button.clicked.connect(lambda: self.import_extract())
        buttons.addButton(self.import_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.refresh()

    def refresh(self) -> None:
        """Describe the map the depot uses now."""
        depot = self.depot
        self.description.setText(map_text(depot.road_info, depot.rules.timezone, self.depot_position,
                                          depot.road_problem))

    def import_extract(self, path: Path | None = None) -> Job | None:
        """Build a road map from ``path`` (else the extract the user picks) with progress and Cancel."""
        if self.job is not None and self.job.running:
            return self.job
        path = choose_extract(self) if path is None else path
        if path is None:
            return None
        depot = self.depot
        self.problem.hide()
        self.stages = []
        job = self.job = Job(lambda report, cancelled: build_and_use(depot, path, report, cancelled), self)
        self.progress = QProgressDialog(f"Reading {path.name}…", "Cancel", 0, 1000, self)
        self.progress.setWindowTitle("Importing a road map")
        self.progress.setWindowModality(Qt.WindowModality.WindowModal)
        self.progress.setMinimumDuration(0)
        self.progress.setMinimumWidth(420)
        self.progress.setAutoClose(False)
        self.progress.setAutoReset(False)
        self.progress.canceled.connect(self._cancel)
        job.progress.connect(self._on_progress)
        job.done.connect(self._on_built)
        job.failed.connect(self._on_failed)
        self.import_button.setEnabled(False)
        self.progress.show()
        job.start()
        return job

    def cancel_import(self) -> None:
        """Stop a build under way (the window closes): nothing of it stays, the map in use stays in use."""
        if self.job is not None and self.job.running:
            self.job.cancel()

    def _cancel(self) -> None:
        self.cancel_import()
        if self.progress is not None:
            self.progress.setLabelText("Cancelling…")

    def _on_progress(self, step: tuple[float, str]) -> None:
        fraction, stage = step
        if not self.stages or self.stages[-1] != stage:
            self.stages.append(stage)
        if self.progress is not None and not self.progress.wasCanceled():
            self.progress.setLabelText(f"{stage}…")
            self.progress.setValue(round(1000 * min(1.0, max(0.0, fraction))))

    def _finish(self) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None
        self.import_button.setEnabled(True)

    def _on_built(self, info: MapInfo) -> None:
        self._finish()
        self.refresh()
        messages.info(f"Road map {info.name} in use: ETAs follow its streets ({info.streets:,} streets, "
                      f"{info.area_text})")
        self.changed.emit(info)

    def _on_failed(self, error: Exception) -> None:
        from fleet_desk.roads.build import BuildCancelled

        self._finish()
        self.refresh()
        in_use = self.depot.road_info
        if isinstance(error, BuildCancelled):
            messages.info("Road map import cancelled: " + (f"{in_use.name} stays in use" if in_use else
                                                            "ETAs stay on the straight line"))
            return
        line = " ".join(str(error).split()) or type(error).__name__  # one line, whatever the error said
        self.problem.setText(f"Not imported: {line}")
        self.problem.show()
        messages.error(f"Road map not imported: {line}")
