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
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")

from app_probe import AppProbe  # noqa: E402 - benchmarks/ beside this script


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--warmup", type=float, default=15)
    args = parser.parse_args()

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

    probe = AppProbe(app, window, args.warmup, args.seconds)
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
    r = probe.summary()
    print(f"  event-loop lateness (20 ms timer, {r['ticks']} ticks): p50 {r['p50']:.1f} ms, "
          f"p99 {r['p99']:.1f} ms, max {r['max']:.1f} ms (goal p99 < 50 ms)")
    if r["samples"]:
        print(f"  map markers               {r['markers_min']}..{r['markers_max']}")
        print(f"  map: oldest marker's fix  median {r['oldest_median_s']:.1f} s, "
              f"worst {r['oldest_worst_s']:.1f} s old when sampled")
        print(f"  map: newest marker's fix  median {r['newest_median_s']:.1f} s old")
    print(f"  app CPU                   {r['cpu']:.2f} of one core")

if __name__ == "__main__":
    main()
