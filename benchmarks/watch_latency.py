"""How soon another process's new position shows in `fleet-desk watch` (goal: under a second, median).

Two processes besides this one: `fleet-desk watch --format jsonl` (as a user or an integration runs it) and a
writer storing fixes through the product's PositionWriter, one transaction per batch. For each batch the writer
notes the wall clock when its transaction committed; this script notes when watch's line for it arrived (same
computer, same clock). Latency = arrival - commit. Two loads, on a SQLite file (the listener polls the newest
change id every 250 ms) and on PostgreSQL (LISTEN/NOTIFY):

- one van, a fix every 0.3 s (each batch its own change);
- a busy depot: 200 vans, every van's fix each second in one transaction (as live ingestion stores them),
  each van's line timed.

Run: python benchmarks/watch_latency.py [--pg URL] [--seconds 20]
(PostgreSQL: default the test server, postgresql+psycopg://postgres@127.0.0.1:5432/test, in a schema of its
own that is dropped afterwards.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FLEET_DESK_CONFIG_DIR", tempfile.mkdtemp(prefix="watch-bench-cfg-"))

WRITER = """
import sys, time
from datetime import UTC, datetime
from fleet_desk.gps.fix import Fix
from fleet_desk.store import PositionWriter, ensure_device, open_database
from fleet_desk.store.positions import write_batches
from fleet_desk.times import to_ms

url, vans, every, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
engine = open_database(url)
writers = [PositionWriter(engine, ensure_device(engine, f"unit {n}", f"Van {n}"), "live") for n in range(vans)]
print("ready", flush=True)
time.sleep(1.0)
end = time.monotonic() + seconds
i = 0
while time.monotonic() < end:
    started = time.monotonic()
    now = datetime.now(UTC)
    batches = [(w, [Fix(now, 60.17 + n / 1000 + i / 1e5, 24.94, 8.0)]) for n, w in enumerate(writers)]
    with engine.begin() as conn:
        write_batches(conn, batches)
    committed = time.time()
    print(to_ms(now), committed, flush=True)
    i += 1
    time.sleep(max(0.0, every - (time.monotonic() - started)))
engine.dispose()
"""


def _ms(iso: str) -> int:
    from fleet_desk.times import parse_utc, to_ms

    return to_ms(parse_utc(iso))


def measure(url: str, vans: int, every: float, seconds: float) -> list[float]:
    """Latencies (s) of every van's line, from its batch's commit to watch's line."""
    watch = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--db", url, "watch", "--format", "jsonl"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    arrivals: dict[tuple[str, int], float] = {}

    def read() -> None:
        for line in watch.stdout:
            doc = json.loads(line)
            if doc["kind"] == "position":
                arrivals.setdefault((doc["vehicle"], _ms(doc["time_utc"])), time.time())

    reader = threading.Thread(target=read, daemon=True)
    try:
        banner = watch.stderr.readline()
        if not banner.startswith("watching"):
            raise SystemExit(f"watch did not start: {banner}{watch.stderr.read()}")
        reader.start()
        writer = subprocess.run([sys.executable, "-c", WRITER, url, str(vans), str(every), str(seconds)],
                                capture_output=True, text=True, timeout=seconds + 120)
        if writer.returncode:
            raise SystemExit(writer.stderr)
        time.sleep(3.0)  # the last lines
    finally:
        watch.terminate()
        watch.wait(10)
        reader.join(5)
    commits = [line.split() for line in writer.stdout.splitlines()[1:]]
    latencies, missing = [], 0
    for fix_time, committed in commits:
        for n in range(vans):
            arrived = arrivals.get((f"Van {n}", int(fix_time)))
            if arrived is None:
                missing += 1  # coalesced with the van's next batch (read together): its newest shown
            else:
                latencies.append(arrived - float(committed))
    if missing:
        print(f"    ({missing} of {len(commits) * vans} batches shown only as the van's next position: read "
              "together with it)")
    return latencies


def report(name: str, latencies: list[float]) -> None:
    if not latencies:
        print(f"  {name}: no lines")
        return
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    print(f"  {name}: {len(ordered)} lines, median {statistics.median(ordered) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default=os.environ.get("FLEET_DESK_TEST_PG",
                                                       "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    from sqlalchemy import create_engine, text

    from fleet_desk.store import open_database

    with tempfile.TemporaryDirectory(prefix="watch-bench-") as folder:
        schema = f"watch_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            for label, url in (("SQLite", f"sqlite:///{Path(folder) / 'depot.db'}"),
                               ("PostgreSQL", f"{args.pg}?options=-csearch_path%3D{schema}")):
                open_database(url).dispose()
                print(f"{label}:")
                report("one van, a fix every 0.3 s", measure(url, 1, 0.3, args.seconds))
                report("200 vans at 1 Hz, one transaction a second", measure(url, 200, 1.0, args.seconds))
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
