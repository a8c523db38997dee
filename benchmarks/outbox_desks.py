"""Three desks draining one outbox at once, on SQLite and on PostgreSQL: deliveries, repeats, time.

Issue 17's scenario: three desks on one database, each running a sender, and a
replayed day's customer events queued (four simulated vans, their manifests
imported and their logs replayed with ``--enqueue``: about 200 events). The
three senders are separate processes started at the same moment, each
draining until nothing is pending (as ``fleet-desk outbox send --until-empty``
does), to an endpoint on 127.0.0.1 that answers after ``--latency-ms`` (a real
one on the internet takes tens of milliseconds) and counts every delivery by
Idempotency-Key.

Printed per database and per sender: deliveries, distinct events, repeats (deliveries of an event already
accepted: what a simple endpoint passes on to an SMS gateway), orders whose events arrived out of order, and
the time from the start to the last sender's exit.

"before" is the sender as it was before claims (fleet_desk/push/sender.py at commit BEFORE, read from git and
run unchanged on today's schema); "after" is today's. Without git (or with --after-only) only "after" runs.

Run: python benchmarks/outbox_desks.py [--desks 3] [--vans 4] [--latency-ms 20] [--pg URL] [--after-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import types
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from fleet_desk.push.endpoint import Endpoint  # noqa: E402
from fleet_desk.store import open_database  # noqa: E402
from fleet_desk.store.models import OutboxEvent  # noqa: E402

BEFORE = "a7913914da92b83e62489f67876f6d6b5197ced7"  # the last commit whose sender claimed nothing
PG_URL = os.environ.get("FLEET_DESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "benchmark-secret"
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
COLUMNS = ("event_id", "order_id", "sequence", "type", "created_ms", "body")


class CountingEndpoint:
    """An endpoint on 127.0.0.1 that answers 200 after ``latency_s`` and counts each delivery by its key."""

    def __init__(self, latency_s: float) -> None:
        self.deliveries = 0
        self.keys: dict[str, int] = {}
        self.first: list[tuple[str, int]] = []  # (order, sequence) of each event's first delivery, as they came
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                time.sleep(latency_s)
                key = self.headers.get("Idempotency-Key", "")
                with lock:
                    outer.deliveries += 1
                    outer.keys[key] = outer.keys.get(key, 0) + 1
                    if outer.keys[key] == 1:
                        doc = json.loads(body)
                        outer.first.append((doc["order"]["order_id"], doc["sequence"]))
                answer = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def out_of_order(self) -> int:
        """Orders whose events were first delivered in another order than their sequence."""
        by_order: dict[str, list[int]] = {}
        for order, seq in self.first:
            by_order.setdefault(order, []).append(seq)
        return sum(seqs != sorted(seqs) for seqs in by_order.values())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def replayed_day(folder: Path, vans: int) -> list[dict]:
    """A day of ``vans`` simulated vans, manifests imported and logs replayed with --enqueue: its events."""
    from fleet_desk.cli import main
    from fleet_desk.sim.day import DayTrouble, render_day, simulate_day

    db = f"sqlite:///{folder / 'day.db'}"
    for i in range(vans):
        day = simulate_day(i, START, stops=12, seed=3, trouble=DayTrouble(late_departure_s=1800 * (i % 2)))
        manifest, log = folder / f"manifest{i}.csv", folder / f"van{i}.nmea"
        manifest.write_text(day.manifest_csv(), encoding="utf-8")
        log.write_bytes(render_day(day, 8 * 3600))
        quiet = open(os.devnull, "w")
        saved, sys.stdout = sys.stdout, quiet
        try:
            assert main(["--db", db, "manifest", "import", str(manifest)]) == 0
            assert main(["--db", db, "replay", str(log), "--device", f"unit-{i}", "--vehicle", day.vehicle,
                         "--enqueue"]) == 0
        finally:
            sys.stdout = saved
            quiet.close()
    engine = open_database(db)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(*(getattr(OutboxEvent, c) for c in COLUMNS))
                                                       .order_by(OutboxEvent.id))]
    engine.dispose()
    return rows


def fresh_database(backend: str, folder: Path, events: list[dict], tag: str) -> tuple[str, object]:
    """A new database (SQLite file or PostgreSQL schema) holding ``events``, all pending and due; its URL and
    what to drop afterwards."""
    if backend == "sqlite":
        url, drop = f"sqlite:///{folder / f'{tag}.db'}", None
    else:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url, drop = f"{PG_URL}?options=-csearch_path%3D{schema}", schema
    engine = open_database(url)
    with engine.begin() as conn:
        conn.execute(insert(OutboxEvent), [{**e, "status": "pending", "attempts": 0, "next_attempt_ms": 0}
                                           for e in events])
    engine.dispose()
    return url, drop


def drop_schema(schema: object) -> None:
    if schema:
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def old_sender_module() -> types.ModuleType | None:
    """fleet_desk/push/sender.py as it was at BEFORE (None without git or that commit)."""
    try:
        source = subprocess.run(["git", "-C", str(ROOT), "show", f"{BEFORE}:fleet_desk/push/sender.py"],
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("sender_before_claims")
    module.__file__ = f"{BEFORE[:7]}:fleet_desk/push/sender.py"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def worker(args: argparse.Namespace) -> int:
    """One desk: wait for the common start, then send until nothing is pending (as outbox send --until-empty)."""
    if args.code == "before":
        module = old_sender_module()
        if module is None:
            return 3
        sender = module.OutboxSender(open_database(args.db), Endpoint(args.url, None, SECRET))
    else:
        from fleet_desk.push.sender import OutboxSender

        sender = OutboxSender(open_database(args.db), Endpoint(args.url, None, SECRET), desk=args.desk)
    pending = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.status == "pending")
    time.sleep(max(0.0, args.start_at - time.time()))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        result = sender.send_due()
        with sender.engine.connect() as conn:
            if conn.execute(pending).scalar() == 0:
                return 0
        if result.attempted == 0:
            time.sleep(0.2)
    return 1


def run(backend: str, code: str, events: list[dict], folder: Path, desks: int, latency_s: float) -> dict:
    url, schema = fresh_database(backend, folder, events, f"{backend}-{code}")
    endpoint = CountingEndpoint(latency_s)
    try:
        start_at = time.time() + 4.0  # every desk's interpreter is up by then
        procs = [subprocess.Popen([sys.executable, __file__, "--worker", "--db", url, "--url", endpoint.url,
                                   "--code", code, "--desk", f"desk-{n + 1}", "--start-at", str(start_at)])
                 for n in range(desks)]
        codes = [p.wait(300) for p in procs]
        took = time.time() - start_at
        engine = open_database(url)
        with engine.connect() as conn:
            status = dict(conn.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)).all())
            by_desk = dict(conn.execute(select(OutboxEvent.sent_by, func.count()).where(OutboxEvent.status == "sent")
                                        .group_by(OutboxEvent.sent_by)).all())
        engine.dispose()
    finally:
        endpoint.close()
        drop_schema(schema)
    distinct = len(endpoint.keys)
    return {"backend": backend, "code": code, "queued": len(events), "sent": status.get("sent", 0),
            "superseded": status.get("superseded", 0), "pending": status.get("pending", 0),
            "deliveries": endpoint.deliveries, "distinct": distinct, "repeats": endpoint.deliveries - distinct,
            "out_of_order": endpoint.out_of_order(), "time_s": round(took, 2), "exit": codes,
            "by_desk": {k or "-": v for k, v in sorted(by_desk.items(), key=lambda kv: kv[0] or "")}}


def pg_reachable() -> bool:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def main() -> int:
    global PG_URL
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--desks", type=int, default=3)
    parser.add_argument("--vans", type=int, default=4, help="simulated vans in the replayed day (12 stops each)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the endpoint's time to answer")
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL server to use (a schema of its own per run)")
    parser.add_argument("--after-only", action="store_true", help="only today's sender")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--code", default="after", help=argparse.SUPPRESS)
    parser.add_argument("--desk", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    PG_URL = args.pg
    codes = ["after"] if args.after_only or old_sender_module() is None else ["before", "after"]
    backends = ["sqlite"] + (["postgresql"] if pg_reachable() else [])
    if "postgresql" not in backends:
        print(f"PostgreSQL at {PG_URL} not reachable: SQLite only")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        events = replayed_day(folder, args.vans)
        print(f"replayed day: {args.vans} vans, {len(events)} events queued "
              f"({time.perf_counter() - started:.1f} s to replay); {args.desks} desks, endpoint answers in "
              f"{args.latency_ms:g} ms")
        print(f"{'database':<11} {'sender':<7} {'queued':>6} {'sent':>5} {'supers.':>7} {'deliveries':>10} "
              f"{'repeats':>7} {'out of order':>12} {'time s':>7}  sent by desk")
        results = []
        for backend in backends:
            for code in codes:
                r = run(backend, code, events, folder, args.desks, args.latency_ms / 1000)
                results.append(r)
                desks = ", ".join(f"{k} {v}" for k, v in r["by_desk"].items())
                print(f"{backend:<11} {code:<7} {r['queued']:>6} {r['sent']:>5} {r['superseded']:>7} "
                      f"{r['deliveries']:>10} {r['repeats']:>7} {r['out_of_order']:>12} {r['time_s']:>7}  {desks}"
                      + (f"  (exit codes {r['exit']}, {r['pending']} pending)" if any(r["exit"]) else ""))
    return 0 if all(r["repeats"] == 0 and r["pending"] == 0 for r in results if r["code"] == "after") else 1


if __name__ == "__main__":
    sys.exit(main())
