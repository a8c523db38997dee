"""From a fix arriving on a serial line to the customer event it causes arriving at the endpoint (goal < 1 s).

Each of N vans is a pseudo-terminal fed by this script with RMC+GGA at 1 Hz,
stamped with the wall clock at the moment they are written. The vans wait at
the depot, then leave one after another; the fix that takes a van past the
depot radius is the one that makes its stops "out for delivery". The pipeline
is the app's: the serial driver, decoder, batched store, tracker, outbox in
the same transaction, and the sender thread woken when fixes are stored. A
the demo's keep-alive endpoint on 127.0.0.1 notes when each event arrived; latency is
that minus the fix time carried in the event (the van's position "at").

Run: python benchmarks/push_latency.py [--vans 20]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FLEET_DESK_CONFIG_DIR", tempfile.mkdtemp(prefix="fleet-desk-bench-cfg-"))  # default rules

from drivers.framing import sentence  # noqa: E402
from fleet_desk.depot import Depot  # noqa: E402
from fleet_desk.ingest.live import LiveIngest  # noqa: E402
from fleet_desk.push.sender import OutboxSender, SenderThread  # noqa: E402
from fleet_desk.settings import Settings  # noqa: E402
from fleet_desk.sim.day import rows_to_csv, simulate_day  # noqa: E402
from fleet_desk.sim.endpoint import DemoEndpoint  # noqa: E402
from fleet_desk.sim.vans import DEPOT, PtyUnit  # noqa: E402
from fleet_desk.times import parse_utc  # noqa: E402
from fleet_desk.tracking.manifest import read_manifest  # noqa: E402
from fleet_desk.tracking.routes import store_manifest  # noqa: E402

SPEED_MPS = 15.0


def epoch(lat: float, lon: float, speed_mps: float, at: datetime) -> bytes:
    def dm(v: float, width: int) -> str:
        a = abs(v)
        return f"{int(a):0{width}d}{(a - int(a)) * 60:07.4f}"

    hms, dmy = at.strftime("%H%M%S.") + f"{at.microsecond // 10000:02d}", at.strftime("%d%m%y")
    la, lo = dm(lat, 2), dm(lon, 3)
    knots = speed_mps * 1.943844
    return (sentence(f"GPRMC,{hms},A,{la},N,{lo},E,{knots:.1f},45.0,{dmy},,,A")
            + sentence(f"GPGGA,{hms},{la},N,{lo},E,1,09,0.8,170.0,M,47.0,M,,"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vans", type=int, default=20)
    parser.add_argument("--gap", type=float, default=2.0, help="seconds between two vans leaving")
    args = parser.parse_args()
    receiver = DemoEndpoint()
    receiver.start()
    tmp = tempfile.TemporaryDirectory()
    depot = Depot.open(f"sqlite:///{tmp.name}/latency.db", Settings.load())  # the default rules (see above)
    engine = depot.engine
    now = datetime.now(UTC)
    days = [simulate_day(i, now, stops=5, window_minutes=60) for i in range(args.vans)]
    manifest = Path(tmp.name) / "manifest.csv"
    manifest.write_text(rows_to_csv([row for day in days for row in day.rows]), encoding="utf-8")
    store_manifest(engine, depot.tracker, read_manifest(manifest, tz=depot.rules.timezone), depot.rules)

    sender = OutboxSender(engine, receiver.endpoint)
    thread = SenderThread(sender)
    ingest = LiveIngest(engine, depot.tracker, on_fixes=lambda _d, _f: thread.poke())
    ptys = [PtyUnit(None, None) for _ in days]
    ingest.start()
    thread.start()
    for i, (day, pty) in enumerate(zip(days, ptys, strict=True)):
        ingest.add_unit(pty.path, f"unit-{i}", day.vehicle, baud=4800)

    settle_s = 5.0
    leave_at = [settle_s + i * args.gap for i in range(args.vans)]
    end = leave_at[-1] + 30
    start = time.time()
    tick = 0
    while time.time() - start < end:
        target = start + tick
        time.sleep(max(0.0, target - time.time()))
        for i, pty in enumerate(ptys):
            moving = max(0.0, tick - leave_at[i])
            d = moving * SPEED_MPS
            lat = DEPOT[0] + d / 111_320 * math.cos(math.radians(45))
            lon = DEPOT[1] + d / (111_320 * math.cos(math.radians(DEPOT[0]))) * math.sin(math.radians(45))
            pty.write(epoch(lat, lon, SPEED_MPS if moving else 0.0, datetime.now(UTC)))
        tick += 1
    time.sleep(2)
    ingest.stop()
    thread.stop()
    receiver.stop()
    for pty in ptys:
        pty.close()
    engine.dispose()
    tmp.cleanup()

    firsts: dict[str, float] = {}
    every = []
    for arrived, doc in zip(receiver.arrived, receiver.received, strict=True):
        position = (doc.get("vehicle") or {}).get("position")
        if doc["type"] != "out_for_delivery" or not position:
            continue
        latency = arrived - parse_utc(position["at"]).timestamp()
        every.append(latency)
        firsts.setdefault(doc["vehicle"]["label"], latency)
    if not firsts:
        print("no out_for_delivery event arrived")
        return 1
    first = sorted(firsts.values())
    p95 = first[min(len(first) - 1, math.ceil(0.95 * len(first)) - 1)]
    print(f"vans: {args.vans}; out_for_delivery events received: {len(every)} "
          f"({len(firsts)} vans)")
    print(f"fix written -> first event of its van received: median {statistics.median(first) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, max {first[-1] * 1000:.0f} ms (goal < 1000 ms)")
    print(f"all {len(every)} events: median {statistics.median(every) * 1000:.0f} ms, "
          f"max {max(every) * 1000:.0f} ms")
    return 0 if len(firsts) == args.vans and first[-1] < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
