"""Docking speed: is the download limited by the serial line or by our code?

A simulated MTK logger on a pseudo-terminal sends no faster than its baud
rate allows (10 bits a byte). Memory travels as hex, so a line of B baud
carries at most B / 20 bytes of memory a second. For each baud rate the
whole dock (`dock_unit`: PMTK182 download, decoding, storing in SQLite,
reconciling) is timed and its memory bytes/s printed against that ceiling;
then the same dock with no line limit shows how fast our side goes.

Run: python benchmarks/dock_download.py
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FLEET_DESK_CONFIG_DIR", tempfile.mkdtemp(prefix="dock-bench-cfg-"))
os.environ.setdefault("FLEET_DESK_CACHE_DIR", tempfile.mkdtemp(prefix="dock-bench-cache-"))

from fleet_desk.depot import Depot  # noqa: E402
from fleet_desk.gps.fix import Fix  # noqa: E402
from fleet_desk.ingest.dock import dock_unit  # noqa: E402
from fleet_desk.settings import Settings  # noqa: E402
from fleet_desk.sim.loggers import SimulatedMtkLogger  # noqa: E402
from fleet_desk.store import open_database  # noqa: E402
from tests.helpers.mtk_image import memory_image  # noqa: E402


def memory(size: int) -> bytes:
    t0 = datetime(2026, 11, 20, 6, tzinfo=UTC)
    seconds = size // 34
    fixes = [Fix(time=t0 + timedelta(seconds=i), lat=45.7 + 0.02 * math.sin(i / 900),
                 lon=4.8 + 0.03 * math.cos(i / 1300), speed_mps=9.0, alt_m=170.0) for i in range(seconds)]
    return memory_image(fixes, size=size + 0x10000)


def dock(data: bytes, baud: int, line_rate: bool) -> tuple[int, float, int]:
    sim = SimulatedMtkLogger(data, baud=baud, line_rate=line_rate).start()
    tmp = tempfile.mkdtemp(prefix="dock-bench-")
    engine = open_database(f"sqlite:///{tmp}/d.db")
    try:
        t = time.perf_counter()
        tracker = Depot(engine, Settings.load()).tracker  # the default rules (see above)
        summary = dock_unit(engine, tracker, sim.path, f"logger-{baud}-{line_rate}", family="mtk", baud=baud)
        elapsed = time.perf_counter() - t
    finally:
        sim.close()
        engine.dispose()
    assert summary.complete
    return summary.bytes_read, elapsed, summary.ingest.result.stored


def main() -> int:
    print(f"{'line':<18}{'memory bytes':>13}{'fixes':>8}{'seconds':>9}{'bytes/s':>10}{'line max':>10}{'of max':>8}")
    for baud, size in ((38400, 48 << 10), (115200, 160 << 10)):
        n, seconds, fixes = dock(memory(size), baud, True)
        ceiling = baud / 20
        print(f"{f'{baud} baud':<18}{n:>13,}{fixes:>8,}{seconds:>9.1f}{n / seconds:>10,.0f}{ceiling:>10,.0f}"
              f"{n / seconds / ceiling:>8.0%}")
    n, seconds, fixes = dock(memory(4 << 20), 115200, False)
    print(f"{'no line limit':<18}{n:>13,}{fixes:>8,}{seconds:>9.1f}{n / seconds:>10,.0f}{'-':>10}{'-':>8}")
    print(f"(921600 baud, the fastest serial rate GPS units use, would carry {921600 / 20:,.0f} bytes/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
