"""The app's nightly maintenance: old positions thinned and the change log pruned, once a night per depot.

A timer looks every few minutes whether the run is due (from 02:00 at the
depot, or at start-up when the last run, by any desk or by ``fleet-desk db
maintain``, is more than a day old: `fleet_desk.store.retention.night_due`).
If it is, this desk claims tonight's run in the database
(`fleet_desk.store.retention.claim_night`): of several desks on one
database only one gets it, the others do nothing. The run goes off the GUI
thread as a `Job` (stopped between unit-days when the window closes) and
its result is said in the message bar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from fleet_desk import messages
from fleet_desk.clock import now_ms
from fleet_desk.store.retention import Maintained, claim_night, maintain
from fleet_desk.ui.tasks import Cancelled, Job, Report

if TYPE_CHECKING:
    from fleet_desk.depot import Depot

log = logging.getLogger(__name__)

FIRST_LOOK_MS = 180_000  # after start-up, once the desk has settled (and its live units and routes are up)
LOOK_EVERY_MS = 5 * 60_000


class NightlyMaintenance(QObject):
    """Runs the depot's maintenance once a night from this desk, when no other desk has; ``ran`` carries what
    it did (a `Maintained`)."""

    ran = Signal(object)

    def __init__(self, depot: Depot, parent: QObject | None = None, clock: Callable[[], int] = now_ms,
                 first_look_ms: int = FIRST_LOOK_MS, look_every_ms: int = LOOK_EVERY_MS) -> None:
        """``clock``: now in ms (tests: a night without waiting for it)."""
        super().__init__(parent)
        self.depot = depot
        self.clock = clock
        self.look_every_ms = look_every_ms
        self.job: Job | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(first_look_ms)
        self._timer.timeout.connect(self.look)

    def start(self) -> None:
        """Look soon, then every few minutes."""
        self._timer.start()

    def stop(self) -> None:
        """No more looks; a run under way stops after the unit-day it is thinning (the rest goes next time)."""
        self._timer.stop()
        if self.job is not None:
            self.job.cancel()

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.running

    def look(self) -> None:
        """Run the maintenance now if it is due and this desk gets tonight's run (in the background)."""
        self._timer.setInterval(self.look_every_ms)
        if self.running:
            return
        engine, zone, desk = self.depot.engine, self.depot.rules.timezone, self.depot.desk
        keep_days = max(1, self.depot.settings.keep_full_days)
        clock = self.clock

        def work(_report: Report, cancelled: Cancelled) -> Maintained | None:
            now = clock()
            if not claim_night(engine, desk, now, zone):
                return None  # not due, or another desk runs it tonight
            log.info("%s runs tonight's maintenance (positions kept at full rate for %d days)", desk, keep_days)
            return maintain(engine, keep_days, now, cancelled=cancelled)

        self.job = Job(work, self)
        self.job.done.connect(self._done)
        self.job.failed.connect(self._failed)
        self.job.start()

    def _done(self, result: Maintained | None) -> None:
        if result is None:
            return
        messages.info(f"Nightly maintenance: {result.report()}")
        self.ran.emit(result)

    def _failed(self, exc: Exception) -> None:
        lines = str(exc).strip().splitlines()
        messages.warning(f"Nightly maintenance failed ({type(exc).__name__}: {lines[0] if lines else ''}); the next "
                         "night's run carries on, or run fleet-desk db maintain")
