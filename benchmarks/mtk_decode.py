"""Decoding MTK logger dumps, side by side with GPSBabel (``gpsbabel -i mtk-bin`` / ``m241-bin``).

Both run as a fresh process on the same file, wall time, best of 5 (interpreter start and imports included):
    our decoder (fleet_desk.gps.mtk.decode, every point) / gpsbabel      goal <= 1.0
and, for information, decoding plus making the store's `Fix` of every point (what an import does before
writing). GPSBabel writes GPX to /dev/null. Dumps: the two
recorded ones in ../shared/testdata/mtk-loggers (64 KiB each) and full-size memories written from a
simulated 1 Hz track (2 MiB, a Holux M-241's flash; 16 MiB, the largest MTK loggers').

Run: python benchmarks/mtk_decode.py
"""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fleet_desk.gps.fix import Fix  # noqa: E402
from tests.helpers.mtk_image import memory_image  # noqa: E402

OURS = """
import sys
from fleet_desk.gps.mtk import decode
points = list(decode(open(sys.argv[1], "rb").read()))
if sys.argv[2] == "fixes":
    points = [f for f in (p.fix() for p in points) if f is not None]
print(len(points))
"""


def track(seconds: int) -> list[Fix]:
    t0 = datetime(2026, 11, 20, 6, tzinfo=UTC)
    return [Fix(time=t0 + timedelta(seconds=i), lat=45.7 + 0.02 * math.sin(i / 900),
                lon=4.8 + 0.03 * math.cos(i / 1300), speed_mps=9.0 + math.sin(i / 60),
                alt_m=170.0 + 5 * math.sin(i / 400)) for i in range(seconds)]


def best_of(cmd: list[str], runs: int = 5) -> tuple[float, str]:
    best, out = float("inf"), ""
    for _ in range(runs):
        t = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> int:
    gpsbabel = shutil.which("gpsbabel")
    if gpsbabel is None:
        print("gpsbabel is not installed (apt-get install gpsbabel)")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="mtk-bench-"))
    dumps = [(p, "m241-bin" if "m241" in p.name else "mtk-bin")
             for p in sorted((ROOT.parent / "shared" / "testdata" / "mtk-loggers").glob("*.bin"))]
    for size, seconds in ((2 << 20, 62_000), (16 << 20, 500_000)):
        path = tmp / f"simulated-{size >> 20}MiB.bin"
        path.write_bytes(memory_image(track(seconds), size=size))
        dumps.append((path, "mtk-bin"))
    print(f"{'dump':<26}{'bytes':>11}{'points':>9}{'decode s':>10}{'gpsbabel s':>12}{'ratio':>7}"
          f"{'+Fix s':>8}{'ratio':>7}")
    for path, fmt in dumps:
        ours, points = best_of([sys.executable, "-c", OURS, str(path), "points"])
        fixes, _ = best_of([sys.executable, "-c", OURS, str(path), "fixes"])
        theirs, _ = best_of([gpsbabel, "-t", "-w", "-i", fmt, "-f", str(path), "-o", "gpx", "-F", "/dev/null"])
        print(f"{path.name:<26}{path.stat().st_size:>11,}{int(points):>9,}{ours:>10.3f}{theirs:>12.3f}"
              f"{ours / theirs:>7.2f}{fixes:>8.3f}{fixes / theirs:>7.2f}")
    shutil.rmtree(tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
