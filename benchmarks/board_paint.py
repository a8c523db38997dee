"""Painting the fleet board while other threads run Python: Fleet Desk's SortProxy against Qt's own
QSortFilterProxyModel (the peer), on the same model of 600 vans.

A view paints each visible cell with about ten roles. Qt's proxy asks the Python model's ``data`` once per
role; each call into Python takes the interpreter lock, and while other threads run Python (the ingest,
change and fleet threads of a desk with hundreds of units) each take waits for the switch interval. SortProxy
hands the cell's roles to the model's ``multiData`` in one call.

Measured: the time of one repaint of the board's visible cells (median and worst of 30), with ``--busy N``
threads spinning in Python (default 2) at the app's switch interval (`fleet_desk.ui.app.tune_interpreter`),
and the calls into Python per paint. Reported as a ratio, Qt's proxy over SortProxy (goal: > 1, faster).

Run: python benchmarks/board_paint.py [--vans 600] [--busy 2] [--paints 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vans", type=int, default=600)
    parser.add_argument("--busy", type=int, default=2, help="threads spinning in Python while painting")
    parser.add_argument("--paints", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSortFilterProxyModel
    from PySide6.QtWidgets import QApplication

    from fleet_desk.fleet.vehicles import FleetVehicle
    from fleet_desk.ui.app import tune_interpreter
    from fleet_desk.ui.models.fleet_board import FleetBoardModel
    from fleet_desk.ui.panels.fleet_board import FleetBoard

    tune_interpreter()
    app = QApplication(sys.argv[:1])
    now = int(time.time() * 1000)
    model = FleetBoardModel(clock=lambda: now)
    model.apply([FleetVehicle(i, f"Van {i}", f"Driver {i}", f"unit-{i:03d}", now - i * 1_000, 48.85 + i / 1e4,
                              2.35, float(i % 12), 90.0) for i in range(1, args.vans + 1)], [])
    calls = [0]
    for name in ("data", "multiData"):
        original = getattr(model, name)

        def counted(*a: object, _original: object = original) -> object:
            calls[0] += 1
            return _original(*a)  # type: ignore[operator]
        setattr(model, name, counted)
    board = FleetBoard(model)
    board.resize(1000, 700)
    board.show()
    app.processEvents()
    stop = threading.Event()

    def spin() -> None:
        x = 0
        while not stop.is_set():
            x += 1

    spinners = [threading.Thread(target=spin, daemon=True) for _ in range(args.busy)]
    for t in spinners:
        t.start()
    results = {}
    try:
        peer = QSortFilterProxyModel(board)
        peer.setSourceModel(model)
        peer.setSortRole(board.proxy.sortRole())
        peer.sort(board.proxy.sortColumn(), board.proxy.sortOrder())
        for label, proxy in (("Qt's QSortFilterProxyModel", peer), ("SortProxy", board.proxy)):
            board.table.setModel(proxy)
            app.processEvents()
            took = []
            for _ in range(args.paints):
                calls[0] = 0
                started = time.perf_counter()
                board.table.viewport().repaint()
                took.append((time.perf_counter() - started) * 1000)
            results[label] = (statistics.median(took), max(took), calls[0])
    finally:
        stop.set()
        for t in spinners:
            t.join()
    print(f"board of {args.vans} vans, {board.table.viewport().width()}x{board.table.viewport().height()} px, "
          f"{args.busy} threads running Python, switch interval {sys.getswitchinterval() * 1000:.1f} ms")
    for label, (median, worst, n) in results.items():
        print(f"  {label:28} repaint median {median:6.1f} ms, worst {worst:6.1f} ms, {n} calls into Python")
    peer_ms, ours_ms = results["Qt's QSortFilterProxyModel"][0], results["SortProxy"][0]
    print(f"ratio (peer / ours, median): {peer_ms / ours_ms:.1f}x")


if __name__ == "__main__":
    main()
