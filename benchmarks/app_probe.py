"""Measuring a running Fleet Desk window from inside, for the GUI benchmarks (gui_fleet.py, gui_desks.py).

- event-loop responsiveness: a 20 ms precise timer's lateness (the goal: p99 under 50 ms);
- the map keeping up: every 2 s the page is asked how many markers it has and how old its oldest and newest
  markers' fixes are;
- CPU of this process over the measured span, in shares of one core.

Nothing is measured during the warm-up; at its end ``on_end`` (if given) runs and the application quits.
"""

from __future__ import annotations

import json
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

PROBE_MS = 20


def cpu() -> float:
    """CPU seconds of this process so far."""
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class AppProbe:
    """Timers on ``window``'s event loop measuring from ``warmup_s`` for ``seconds``, then quitting the app."""

    def __init__(self, app: Any, window: Any, warmup_s: float, seconds: float,
                 on_begin: Callable[[], None] | None = None, on_end: Callable[[], None] | None = None) -> None:
        from PySide6.QtCore import QElapsedTimer, Qt, QTimer

        self.app, self.window = app, window
        self.on_begin, self.on_end = on_begin, on_end
        self.lateness: list[float] = []
        self.samples: list[dict[str, float]] = []
        self.cpu_share: float | None = None
        self.wall_s = 0.0
        self._measuring = False
        self._clock = QElapsedTimer()
        self._clock.start()
        self._last = self._clock.elapsed()
        self._cpu = self._wall = 0.0
        self._probe = QTimer(timerType=Qt.TimerType.PreciseTimer)
        self._probe.timeout.connect(self._tick)
        self._probe.start(PROBE_MS)
        self._map = QTimer()
        self._map.timeout.connect(self._sample_map)
        self._map.start(2000)
        QTimer.singleShot(int(warmup_s * 1000), self._begin)
        QTimer.singleShot(int((warmup_s + seconds) * 1000), self._end)

    def _tick(self) -> None:
        now = self._clock.elapsed()
        if self._measuring:
            self.lateness.append(max(0.0, now - self._last - PROBE_MS))
        self._last = now

    def _sample_map(self) -> None:
        if not self.window.map.is_ready:
            return

        def got(result: str) -> None:
            stats = json.loads(result)
            if self._measuring and stats["oldest"]:
                self.samples.append({"count": stats["count"], "oldest_age_s": time.time() - stats["oldest"] / 1000,
                                     "newest_age_s": time.time() - stats["newest"] / 1000})

        self.window.map.evaluate("JSON.stringify(fleetMap.stats())", got)

    def _begin(self) -> None:
        self._measuring = True
        self._cpu, self._wall = cpu(), time.monotonic()
        if self.on_begin:
            self.on_begin()

    def _end(self) -> None:
        self.wall_s = time.monotonic() - self._wall
        self.cpu_share = (cpu() - self._cpu) / self.wall_s
        self._measuring = False
        self._probe.stop()
        self._map.stop()
        if self.on_end:
            self.on_end()
        self.app.quit()

    def summary(self) -> dict[str, float | int | None]:
        """The figures: lateness percentiles (ms), markers (min, max), fix ages (s), CPU share."""
        late, samples = self.lateness, self.samples
        return {
            "ticks": len(late),
            "p50": percentile(late, 50) if late else None,
            "p99": percentile(late, 99) if late else None,
            "max": max(late) if late else None,
            "markers_min": min((s["count"] for s in samples), default=0),
            "markers_max": max((s["count"] for s in samples), default=0),
            "oldest_median_s": statistics.median(s["oldest_age_s"] for s in samples) if samples else None,
            "oldest_worst_s": max(s["oldest_age_s"] for s in samples) if samples else None,
            "newest_median_s": statistics.median(s["newest_age_s"] for s in samples) if samples else None,
            "samples": len(samples),
            "cpu": self.cpu_share,
        }
