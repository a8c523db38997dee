"""What a test must not leave behind: a running thread, an active QTimer, a busy Qt thread pool, an open
serial port, pty, pipe or socket.

napari's dangling-QThread and dangling-QTimer fixtures are the model: a leak left by one test fails a later
one far away (a thread still writing to a closed database, a timer firing into a deleted window), so the
test that leaks is the one that fails, naming what it left.
"""

from __future__ import annotations

import gc
import os
import re
import threading
import time
import traceback
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import shiboken6
from PySide6.QtCore import QThreadPool, QTimer

#: Python threads that are not the test's: started once per process by the libraries named, not by a
#: test or by Fleet Desk, and kept for the life of the process. (SQLAlchemy's pools and pytest start none:
#: faulthandler's timeout watchdog is not a Python thread.)
IGNORED_THREADS: tuple[tuple[str, str], ...] = (
    # (name prefix, whose and why)
    ("MainThread", "the interpreter"),
    ("pydevd.", "a debugger attached to pytest"),
)
#: Threads Python did not start (``threading._DummyThread``): Qt's thread-pool workers and QtWebEngine's
#: threads appear so once they have run Python code. The pool's own work is checked apart, by
#: ``QThreadPool.activeThreadCount``; its idle workers expire on their own.

#: Open files that are not leaks, each with why: everything else a test opens (a unit's serial port or
#: pty, a subprocess's pipe, a server's or a database's socket, a file) must be closed when it ends.
IGNORED_FDS: tuple[tuple[str, str], ...] = (
    (r"(\.db|\.sqlite3?)(-wal|-shm|-journal)?$", "a SQLite database a pool keeps until it is collected"),
    (r"^/tmp/pytest-of-|/pytest-\d+/|\(deleted\)$", "pytest's own capture and temporary files"),
    (r"^anon_inode:|^memfd:", "Qt's event loop and QtWebEngine's shared memory"),
    (r"^/dev/(null|u?random)$", "the null and random devices"),
)
_IGNORED = re.compile("|".join(f"(?:{pattern})" for pattern, _ in IGNORED_FDS))
#: How long threads and ports that are stopping may take to go.
GRACE_S = 3.0


def _where(skip: int = 2) -> str:
    """The line that started a timer (the first frame outside this module)."""
    for frame in reversed(traceback.extract_stack()[:-skip]):
        if "/helpers/leaks.py" not in frame.filename:
            return f"{frame.filename}:{frame.lineno} ({frame.name})"
    return "?"


@dataclass
class TimerLog:
    """Every QTimer started during one test, with where it was started."""

    started: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary)
    #: Single shots with no context object, kept alive here until they fire (Qt's own keep themselves).
    unowned: list[QTimer] = field(default_factory=list)

    def active(self) -> list[str]:
        out = []
        for timer, where in list(self.started.items()):
            if shiboken6.isValid(timer) and timer.isActive():
                out.append(f"QTimer ({timer.interval()} ms) started at {where}")
        return out

    def stop_all(self) -> None:
        """Stop what a failing test left, so it cannot fire into the next test."""
        for timer in list(self.started):
            if shiboken6.isValid(timer):
                timer.stop()


@contextmanager
def tracking_timers() -> Iterator[TimerLog]:
    """Record each QTimer started (``start`` and the static ``singleShot``) while the block runs."""
    log = TimerLog()
    base_start: Callable[..., None] = QTimer.start
    base_single_shot: Callable[..., None] = QTimer.singleShot

    def start(self: QTimer, *args: Any) -> None:
        log.started[self] = _where()
        base_start(self, *args)

    def single_shot(*args: Any) -> None:
        # singleShot(msec, functor) or singleShot(msec, context, functor): one timer, deleted once fired,
        # owned by the context object when there is one (so it goes with it, as Qt's own does).
        msec, *rest = args
        context, functor = (rest[0], rest[1]) if len(rest) == 2 else (None, rest[0])
        timer = QTimer(context) if context is not None else QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(functor)
        timer.timeout.connect(timer.deleteLater)
        log.started[timer] = _where()
        base_start(timer, msec)
        if context is None:
            log.unowned.append(timer)

    QTimer.start = start  # type: ignore[method-assign]
    QTimer.singleShot = staticmethod(single_shot)  # type: ignore[method-assign, assignment]
    try:
        yield log
    finally:
        QTimer.start = base_start  # type: ignore[method-assign]
        QTimer.singleShot = base_single_shot  # type: ignore[method-assign]


def _port(end: str) -> int:
    """The port of an address as /proc/net/tcp writes it (``0100007F:1538``)."""
    return int(end.rsplit(":", 1)[1], 16)


def _socket_ends(inode: str) -> str:
    """A TCP socket's local and remote port (a PostgreSQL connection is the one to PG_PORT)."""
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(table, encoding="ascii") as f:
                rows = [line.split() for line in f.read().splitlines()[1:]]
        except OSError:
            continue
        for cols in rows:
            if cols[9] == inode:
                return f" (TCP port {_port(cols[1])} to port {_port(cols[2])})"
    return ""


def _described(target: str) -> str:
    if target.startswith("socket:["):
        return target + _socket_ends(target[8:-1])
    return target


def _test_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate()
            if t not in before and t.is_alive() and not isinstance(t, threading._DummyThread)
            and not t.name.startswith(tuple(prefix for prefix, _ in IGNORED_THREADS))]


def _open_fds() -> dict[int, str]:
    out = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed while listing (the listing's own fd)
            continue
        target = _described(target)
        if not _IGNORED.search(target):
            out[int(fd)] = target
    return out


@dataclass
class Snapshot:
    """Threads and ports open before a test, to compare with after it."""

    threads: set[threading.Thread]
    ports: dict[int, str]

    @classmethod
    def take(cls) -> Snapshot:
        return cls(set(threading.enumerate()), _open_fds())

    def left_behind(self, timers: TimerLog) -> list[str]:
        """What the test left running or open, after giving what is stopping ``GRACE_S`` to go."""
        deadline = time.monotonic() + GRACE_S
        collected = False
        while True:
            threads = _test_threads(self.threads)
            ports = {fd: t for fd, t in _open_fds().items() if self.ports.get(fd) != t}
            busy_pool = QThreadPool.globalInstance().activeThreadCount()
            if not (threads or ports or busy_pool) or time.monotonic() >= deadline:
                break
            if ports and not collected:
                # An engine nothing refers to any more still holds its pool's connections until the cycle
                # collector frees it (SQLAlchemy's engine, pool and dialect refer to each other): collect
                # once, so what is left is held by something alive.
                gc.collect()
                collected = True
                continue
            time.sleep(0.05)
        found = [f"thread {t.name!r} (daemon={t.daemon}) still running" for t in threads]
        found += [f"fd {fd} still open: {target}" for fd, target in sorted(ports.items())]
        if busy_pool:
            found.append(f"{busy_pool} task(s) still running in Qt's global thread pool")
        found += timers.active()
        return found
