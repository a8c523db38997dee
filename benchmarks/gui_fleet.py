"""N simulated units at 1 Hz into the running desktop app (offscreen).

The simulator runs in its own process (`fleet-desk simulate`), each unit on a
pseudo-terminal attached as a live unit; this process is the app: main
window, fleet board, map page in QtWebEngine, live ingestion threads.

Measured inside the app:
- event-loop responsiveness: a 20 ms timer's lateness (goal: p99 under 50 ms);
- the map keeping up: markers on the page, and how old the oldest marker's
  fix is when sampled (should stay within a few seconds);
- CPU use of the app process.

Run: python benchmarks/gui_fleet.py [--units 500] [--seconds 40]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")

PROBE_MS = 20


def cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--warmup", type=float, default=15)
    args = parser.parse_args()

    from PySide6.QtCore import QElapsedTimer, Qt, QTimer
    from PySide6.QtWebEngineWidgets import QWebEngineView  # noqa: F401 - before the QApplication
    from PySide6.QtWidgets import QApplication

    from fleet_desk.depot import Depot
    from fleet_desk.settings import Settings
    from fleet_desk.store import open_database
    from fleet_desk.store.units import assign_unit
    from fleet_desk.ui.app import tune_interpreter
    from fleet_desk.ui.main_window import MainWindow
    from fleet_desk.ui.tasks import wait_for_background

    sim = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "simulate", "--vehicles", str(args.units)],
                           stdout=subprocess.PIPE, text=True)
    paths = [sim.stdout.readline().split("\t")[1].strip() for _ in range(args.units)]
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{tmp.name}/fleet.db"
    engine = open_database(url)
    for i, path in enumerate(paths):
        assign_unit(engine, f"unit-{i + 1:03d}", path, f"Van {i + 1}", baud=4800, live=True)

    tune_interpreter()  # as fleet-desk does at start-up
    app = QApplication(sys.argv[:1])
    window = MainWindow(url, Settings(tile_url=""), "benchmark", remember_layout=False)
    window.show()
    window.start(Depot(engine, window.settings))

    lateness: list[float] = []
    samples: list[dict] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]
    measuring = [False]
    marks: dict[str, float] = {}

    def probe() -> None:
        now = clock.elapsed()
        if measuring[0]:
            lateness.append(max(0.0, now - last[0] - PROBE_MS))
        last[0] = now

    def sample_map() -> None:
        if not window.map.is_ready:
            return

        def got(result: str) -> None:
            stats = json.loads(result)
            if measuring[0] and stats["oldest"]:
                stats["oldest_age_s"] = time.time() - stats["oldest"] / 1000
                stats["newest_age_s"] = time.time() - stats["newest"] / 1000
                samples.append(stats)

        window.map.evaluate("JSON.stringify(fleetMap.stats())", got)

    def begin() -> None:
        measuring[0] = True
        marks["cpu"], marks["wall"] = cpu(), time.monotonic()

    def end() -> None:
        marks["cpu_share"] = (cpu() - marks["cpu"]) / (time.monotonic() - marks["wall"])
        measuring[0] = False
        app.quit()

    probe_timer = QTimer(timerType=Qt.TimerType.PreciseTimer)
    probe_timer.timeout.connect(probe)
    probe_timer.start(PROBE_MS)
    map_timer = QTimer()
    map_timer.timeout.connect(sample_map)
    map_timer.start(2000)
    QTimer.singleShot(int(args.warmup * 1000), begin)
    QTimer.singleShot(int((args.warmup + args.seconds) * 1000), end)
    app.exec()

    rows = window.board_model.rowCount()
    fps = window.feed.fixes_per_second()
    window.close()
    wait_for_background()
    engine.dispose()
    sim.terminate()
    sim.wait(5)
    tmp.cleanup()

    print(f"{args.units} live units at 1 Hz into the running app, "
          f"{args.seconds:.0f} s after {args.warmup:.0f} s warm-up")
    print(f"  fleet board rows          {rows}")
    print(f"  fixes per second stored   {fps:.0f}")
    print(f"  event-loop lateness (20 ms timer, {len(lateness)} ticks): p50 {percentile(lateness, 50):.1f} ms, "
          f"p99 {percentile(lateness, 99):.1f} ms, max {max(lateness):.1f} ms (goal p99 < 50 ms)")
    if samples:
        print(f"  map markers               {min(s['count'] for s in samples)}..{max(s['count'] for s in samples)}")
        print(f"  map: oldest marker's fix  median {statistics.median(s['oldest_age_s'] for s in samples):.1f} s, "
              f"worst {max(s['oldest_age_s'] for s in samples):.1f} s old when sampled")
        print(f"  map: newest marker's fix  median {statistics.median(s['newest_age_s'] for s in samples):.1f} s old")
    print(f"  app CPU                   {marks['cpu_share']:.2f} of one core")


if __name__ == "__main__":
    main()
