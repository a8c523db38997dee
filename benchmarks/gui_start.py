"""Cold start of the desktop app: window shown, map ready, vehicles on the map.

Runs `fleet-desk --demo --screenshot` as a whole process several times (the
app prints its own start-up figures, measured from process start) and
reports the medians. Goals: window under 2 s, map ready under 3 s.

Run: python benchmarks/gui_start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = re.compile(r"window shown ([\d.]+) s, map ready ([\d.]+) s, vehicles on the map ([\d.]+) s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        env.setdefault("FLEET_DESK_CONFIG_DIR", tmp)
        for i in range(args.runs):
            done = subprocess.run([sys.executable, str(ROOT / "main.py"), "--demo", "--screenshot",
                                   f"{tmp}/shot{i}.png", "--after", "60"], env=env, capture_output=True, text=True)
            found = FIGURES.search(done.stderr)
            if done.returncode != 0 or not found:
                sys.exit(f"run {i + 1} failed:\n{done.stderr[-2000:]}")
            runs.append(tuple(float(x) for x in found.groups()))
    window, page, vehicles = (statistics.median(column) for column in zip(*runs, strict=True))
    print(f"cold start, median of {args.runs} runs (from process start):")
    print(f"  window shown        {window:.2f} s  (goal < 2 s)")
    print(f"  map ready           {page:.2f} s  (goal < 3 s)")
    print(f"  vehicles on the map {vehicles:.2f} s")


if __name__ == "__main__":
    main()
