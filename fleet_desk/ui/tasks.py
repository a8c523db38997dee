"""Slow work off the GUI thread: run a function in the thread pool, get the result back on the GUI thread.

Like Anki's QueryOp: the function must not touch widgets; ``on_done`` and
``on_failed`` run on the GUI thread with the result or the exception.
"""

from __future__ import annotations

import logging
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
    def __init__(self, fn: Callable[[], Any], relay: _Relay):
        super().__init__()
        self.fn = fn
        self.relay = relay

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # noqa: BLE001 - handed to on_failed on the GUI thread
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


def _unhandled(exc: Exception) -> None:
    from fleet_desk import messages

    messages.error(str(exc))


def wait_for_background(msecs: int = 10000) -> bool:
    """At shutdown: let running tasks finish."""
    return QThreadPool.globalInstance().waitForDone(msecs)
