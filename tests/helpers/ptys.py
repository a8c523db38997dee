"""A simulated unit talking on a real pseudo-terminal, for the live ingest tests."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from fleet_desk.sim.vans import PtyUnit


class Feeder:
    """Writes a simulated unit's epochs to a pty, faster than real time, until the ``with`` block ends."""

    def __init__(self, pty: PtyUnit, start: datetime, rate_hz: float = 20.0):
        self.pty, self.start, self.rate = pty, start, rate_hz
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.pty.write(self.pty.unit.sentences(self.start + timedelta(seconds=self.sent), float(self.sent)))
            self.sent += 1
            self._stop.wait(1 / self.rate)

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)
