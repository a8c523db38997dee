"""Waiting on a condition, for tests without a Qt event loop (with one, use qtbot.waitUntil/waitSignal)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], timeout: float = 15.0, interval: float = 0.02,
               state: Callable[[], object] | None = None) -> None:
    """Return as soon as ``condition()`` is true; fail the test if it is not within ``timeout`` seconds,
    saying what ``state()`` was then."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s" + (f": {state()!r}" if state else ""))
        time.sleep(interval)
