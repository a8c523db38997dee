"""Slow work off the GUI thread: run a function in the thread pool, get the result back on the GUI thread.

`run_in_background` is Anki's QueryOp: the function must not touch widgets;
``on_done`` and ``on_failed`` run on the GUI thread with the result or the
exception. `Job` is the long kind a user watches and may cancel (a dock, an
import): progress as it goes, then done or failed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)
_running: set[_Relay] = set()


class _Relay(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.fn = fn
        self.relay = relay

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # handed to on_failed on the GUI thread
            log.info("background task failed: %s", exc, exc_info=True)
            self.relay.failed.emit(exc)
        else:
            self.relay.done.emit(result)


def run_in_background(
    fn: Callable[[], Any],
    on_done: Callable[[Any], None] | None = None,
    on_failed: Callable[[Exception], None] | None = None,
    owner: QObject | None = None,
) -> None:
    """Run ``fn()`` in the global thread pool; report back on the GUI thread.

    The callbacks are skipped if ``owner`` (by default the object a bound
    ``on_done`` belongs to) was deleted meanwhile, e.g. a closed window.
    """
    relay = _Relay()
    _running.add(relay)
    if owner is None and isinstance(getattr(on_done, "__self__", None), QObject):
        owner = on_done.__self__

    def finish(callback: Callable[[Any], None] | None, value: Any) -> None:
        _running.discard(relay)
        if owner is not None and not shiboken6.isValid(owner):
            return
        if callback is not None:
            callback(value)

    relay.done.connect(lambda result: finish(on_done, result))
    relay.failed.connect(lambda exc: finish(on_failed or _unhandled, exc))
    QThreadPool.globalInstance().start(_Task(fn, relay))


Report = Callable[[Any], None]
"""What a job's work calls with its progress (any value; the job's ``progress`` signal carries it)."""
Cancelled = Callable[[], bool]
"""What a job's work asks between steps: has the user cancelled?"""


class Job(QObject):
    """Work a user watches and may cancel, in the thread pool: one class for every such job (a dock, an import).

    Anki's CollectionOp with a Cancel button. ``work(report, cancelled)`` runs off the GUI thread: it calls
    ``report(progress)`` as it goes and asks ``cancelled()`` between steps; cancelled work stops early and
    returns what it did (nothing is lost by cancelling, so it is not a failure). ``progress``, then ``done``
    (the result) or ``failed`` (the exception) arrive on the GUI thread, and not at all once the job is deleted.
    """

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(object)  # the exception

    def __init__(self, work: Callable[[Report, Cancelled], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()
        self.running = False

    def start(self) -> None:
        """Run the work once."""
        if self.running:
            raise RuntimeError("this job is running already")
        self.running = True
        work, report, cancelled = self._work, self.progress.emit, self._cancel.is_set
        run_in_background(lambda: work(report, cancelled), self._done, self._failed, owner=self)

    def cancel(self) -> None:
        """Ask the work to stop at its next step (what it did stays done)."""
        self._cancel.set()

    def _done(self, result: object) -> None:
        self.running = False
        self.done.emit(result)

    def _failed(self, exc: Exception) -> None:
        self.running = False
        self.failed.emit(exc)


def _unhandled(exc: Exception) -> None:
    from fleet_desk import messages

    messages.error(str(exc))


def wait_for_background(msecs: int = 10000) -> bool:
    """At shutdown: let running tasks finish."""
    return QThreadPool.globalInstance().waitForDone(msecs)
