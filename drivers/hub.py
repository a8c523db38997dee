"""One thread that reads every open serial port, instead of one thread per port.

A depot app with hundreds of live units would otherwise run hundreds of
reader threads, each needing Python's interpreter lock once a second just to
move a few hundred bytes; they fall behind. The hub waits on all ports at
once (epoll where available, no 1024-descriptor limit) and hands each port's
bytes to its callback in the order received.
"""

from __future__ import annotations

import logging
import os
import selectors
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

OnData = Callable[[bytes], None]
OnLost = Callable[[str], None]  # why the port went away
OnIdle = Callable[[float], None]  # seconds without data

IDLE_CHECK_S = 1.0

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Watch:
    """One port the hub reads: where its bytes, its loss and a silence longer than ``idle_after_s`` are
    reported, and what the hub's thread keeps to report that silence once.

    `PortHub.watch` returns it; pass it to `PortHub.unwatch` to stop reading the port.
    """

    fd: int
    on_data: OnData
    on_lost: OnLost
    on_idle: OnIdle
    idle_after_s: float
    last_data: float = field(default_factory=time.monotonic)
    idle_reported: bool = False


class PortHub:
    """Reads registered file descriptors in one daemon thread, running while any is watched.

    Whoever reads many units owns one hub (live ingestion does) and closes it when done; a unit read on
    its own gets a hub of its own.
    """

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_r, False)
        self._selector.register(self._wakeup_r, selectors.EVENT_READ, None)
        #: Changes for the hub's thread to make: ("add" or "remove", the watch, set once it is removed).
        self._pending: list[tuple[str, Watch, threading.Event | None]] = []
        self._thread: threading.Thread | None = None
        self._closed = False

    def watch(self, fd: int, on_data: OnData, on_lost: OnLost, on_idle: OnIdle, idle_after_s: float) -> Watch:
        """Start reading ``fd``: its bytes go to ``on_data``, its loss to ``on_lost``, a silence longer than
        ``idle_after_s`` to ``on_idle`` (once); returns the `Watch` that `unwatch` takes."""
        w = Watch(fd, on_data, on_lost, on_idle, idle_after_s)
        self._change("add", w)
        return w

    def unwatch(self, w: Watch) -> None:
        """Stop reading ``w``; when this returns no callback for it is running or will run."""
        done = threading.Event()
        self._change("remove", w, done)
        if threading.current_thread() is not self._thread:
            done.wait(5)

    def _change(self, action: str, w: Watch, done: threading.Event | None = None) -> None:
        with self._lock:
            self._pending.append((action, w, done))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="serial-hub", daemon=True)
                self._thread.start()
        os.write(self._wakeup_w, b"x")

    def _apply_changes(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for action, w, done in pending:
            if action == "add":
                self._selector.register(w.fd, selectors.EVENT_READ, w)
            else:
                try:
                    self._selector.unregister(w.fd)
                except (KeyError, ValueError):
                    pass  # already dropped after an error
                if done is not None:
                    done.set()

    def _run(self) -> None:
        next_idle_check = time.monotonic() + IDLE_CHECK_S
        while True:
            for key, _mask in self._selector.select(IDLE_CHECK_S):
                if key.data is None:
                    try:
                        os.read(self._wakeup_r, 4096)
                    except BlockingIOError:
                        pass
                    self._apply_changes()
                    if self._idle_ends_thread():
                        return
                    continue
                if self._selector.get_map().get(key.fd) is key:  # not removed earlier in this round
                    self._read(key.data)
            now = time.monotonic()
            if now >= next_idle_check:
                next_idle_check = now + IDLE_CHECK_S
                for key in list(self._selector.get_map().values()):
                    w = key.data
                    if w is not None and not w.idle_reported and now - w.last_data > w.idle_after_s:
                        w.idle_reported = True
                        w.on_idle(now - w.last_data)

    def _idle_ends_thread(self) -> bool:
        """With nothing watched and nothing asked, the thread ends (the next watch starts another)."""
        with self._lock:
            if not self._closed and (self._pending or len(self._selector.get_map()) > 1):  # the pipe stays
                return False
            self._thread = None
            return True

    def close(self) -> None:
        """Stop reading (every watch should have been removed) and release the wakeup pipe."""
        with self._lock:
            thread, self._closed = self._thread, True
            self._pending.clear()
        os.write(self._wakeup_w, b"x")
        if thread is not None and thread is not threading.current_thread():
            thread.join(2)
        self._selector.close()
        os.close(self._wakeup_r)
        os.close(self._wakeup_w)

    def _read(self, w: Watch) -> None:
        try:
            data = os.read(w.fd, 65536)
            if not data:
                raise OSError("device disconnected (end of file)")
        except BlockingIOError:
            return
        except OSError as exc:
            try:
                self._selector.unregister(w.fd)
            except (KeyError, ValueError):
                pass
            w.on_lost(str(exc))
            return
        w.last_data = time.monotonic()
        w.idle_reported = False
        try:
            w.on_data(data)
        except Exception:  # one port's consumer failing must not stop every other port
            log.exception("handling data from file descriptor %d failed", w.fd)
