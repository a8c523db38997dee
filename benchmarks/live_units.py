"""Live ingestion of N simulated units at 1 Hz through pseudo-terminals.

The simulator runs in its own process (`fleet-desk simulate`); this process
runs the live ingest only, and reports its CPU use as a share of one core
(goal for 200 units: under 0.5).

Run: python benchmarks/live_units.py [--units 200] [--seconds 20]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fleet_desk.depot import Depot  # noqa: E402
from fleet_desk.ingest.live import LiveIngest  # noqa: E402
from fleet_desk.settings import Settings  # noqa: E402


def cpu() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    sim = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "simulate", "--vehicles", str(args.units)],
                           stdout=subprocess.PIPE, text=True)
    paths = [sim.stdout.readline().split("\t")[1].strip() for _ in range(args.units)]
    with tempfile.TemporaryDirectory() as tmp:
        depot = Depot.open(f"sqlite:///{tmp}/live.db", Settings.load())
        stored = [0]
        live = LiveIngest(depot.engine, depot.tracker, on_fixes=lambda d, f: stored.__setitem__(0, stored[0] + len(f)))
        live.start()
        for i, path in enumerate(paths):
            live.add_unit(path, f"unit-{i}", f"Van {i}", baud=4800)
        time.sleep(5)  # settle
        c0, w0, s0 = cpu(), time.monotonic(), stored[0]
        time.sleep(args.seconds)
        c1, w1, s1 = cpu(), time.monotonic(), stored[0]
        live.stop()
        depot.close()
    sim.terminate()
    sim.wait(5)
    share = (c1 - c0) / (w1 - w0)
    print(f"{args.units} units at 1 Hz: {(s1 - s0) / (w1 - w0):.0f} fixes/s stored, "
          f"CPU {share:.2f} of one core (goal < 0.5)")


if __name__ == "__main__":
    main()
