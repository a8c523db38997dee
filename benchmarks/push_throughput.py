"""Drain 10,000 queued customer events to a tracking endpoint on 127.0.0.1.

The receiver is a plain keep-alive HTTP/1.1 server that checks each event's
signature and counts idempotency keys, the least a real endpoint does. The
figure is events per second from the first POST to the last, through the same
`OutboxSender` the app and `fleet-desk outbox send` use (goal >= 500/s), next
to the same number of bare `requests` POSTs of the same bodies on one
keep-alive session (the peer: what the HTTP stack alone allows).

Run: python benchmarks/push_throughput.py [--events 10000] [--orders 500]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import select  # noqa: E402

from fleet_desk.push.endpoint import Endpoint  # noqa: E402
from fleet_desk.push.outbox import outbox_status  # noqa: E402
from fleet_desk.push.payload import Notice, PayloadPolicy, enqueue  # noqa: E402
from fleet_desk.push.sender import OutboxSender  # noqa: E402
from fleet_desk.store import open_database  # noqa: E402
from fleet_desk.store.models import OutboxEvent  # noqa: E402

SECRET = "benchmark-secret"


class Counter:
    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.bad = 0
        self.lock = threading.Lock()


def serve(counter: Counter) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as any production server: no 40 ms delayed-ACK stall per answer

        def log_message(self, *args) -> None:  # noqa: ANN002
            pass

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            good = hmac.compare_digest(self.headers.get("X-Fleet-Desk-Signature", ""),
                                       "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest())
            with counter.lock:
                counter.bad += not good
                counter.keys.add(self.headers.get("Idempotency-Key", ""))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def queue(engine, events: int, orders: int) -> None:  # noqa: ANN001
    t0 = 1_795_000_000_000
    notices = [Notice(kind="eta_updated" if i % 3 else "delayed", occurred_ms=t0 + i, stop_id=None,
                      order_id=f"O-{i % orders}", tracking_number=f"T-{i % orders}", window=(t0, t0 + 3_600_000),
                      eta=(t0 + 1_800_000, t0 + 1_500_000, t0 + 2_100_000), stops_before=i % 7,
                      vehicle=(1, "Van 1"), position=(45.75, 4.85, t0), delay=(12, "traffic"))
               for i in range(events)]
    with engine.begin() as conn:
        enqueue(conn, notices, PayloadPolicy(), t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=500)
    args = parser.parse_args()
    counter = Counter()
    server = serve(counter)
    url = f"http://127.0.0.1:{server.server_address[1]}/events"
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{tmp}/push.db")
        queue(engine, args.events, args.orders)
        with engine.connect() as conn:
            bodies = [(r.event_id, r.type, r.body.encode()) for r in conn.execute(select(OutboxEvent))]

        sender = OutboxSender(engine, Endpoint(url, "token", SECRET))
        # ETA updates are not superseded here: every event must go on the wire for the figure to mean anything.
        sender.supersede = False
        start = time.perf_counter()
        while sender.send_due().attempted:
            pass
        ours = time.perf_counter() - start
        status = outbox_status(engine)
        engine.dispose()

    session = requests.Session()
    from fleet_desk.push.sender import headers

    endpoint = Endpoint(url, "token", SECRET)
    start = time.perf_counter()
    for event_id, kind, body in bodies:
        session.post(url, data=body, headers=headers(endpoint, event_id + "-peer", kind, body), timeout=(3, 10))
    peer = time.perf_counter() - start
    server.shutdown()

    sent = status["sent"]
    print(f"events queued: {args.events} for {args.orders} orders")
    print(f"outbox sender: {sent} sent, {status['pending']} pending, {status['dead']} dead in {ours:.2f} s "
          f"= {sent / ours:.0f} events/s (goal >= 500)")
    print(f"peer (bare requests loop, same bodies): {len(bodies) / peer:.0f} events/s")
    print(f"receiver: {len(counter.keys)} distinct idempotency keys, {counter.bad} bad signatures")
    print(f"ratio ours / peer: {(sent / ours) / (len(bodies) / peer):.2f}")
    return 0 if sent == args.events and counter.bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
