"""Drain 10,000 queued customer events to a tracking endpoint on 127.0.0.1.

The receiver is the demo's endpoint (`fleet_desk.sim.endpoint`): a
keep-alive HTTP/1.1 server that checks each event's signature (401 if it
does not verify) and keeps each idempotency key once, the least a real
endpoint does. The
figure is events per second from the first POST to the last, through the same
`OutboxSender` the app and `fleet-desk outbox send` use (goal >= 500/s), next
to the same number of bare `requests` POSTs of the same bodies on one
keep-alive session (the peer: what the HTTP stack alone allows).

Run: python benchmarks/push_throughput.py [--events 10000] [--orders 500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from sqlalchemy import select  # noqa: E402

from fleet_desk.push.outbox import outbox_status  # noqa: E402
from fleet_desk.push.payload import Notice, PayloadPolicy, enqueue  # noqa: E402
from fleet_desk.push.sender import OutboxSender, headers  # noqa: E402
from fleet_desk.sim.endpoint import DemoEndpoint  # noqa: E402
from fleet_desk.store import open_database  # noqa: E402
from fleet_desk.store.models import OutboxEvent  # noqa: E402

KINDS = ("out_for_delivery", "delayed", "arriving_soon", "delivered")  # none superseded: every event is sent


def queue(engine, events: int, orders: int) -> None:
    t0 = 1_795_000_000_000
    notices = [Notice(kind=KINDS[i % len(KINDS)], occurred_ms=t0 + i, stop_id=None,
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
    receiver = DemoEndpoint()
    receiver.start()
    endpoint = receiver.endpoint
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{tmp}/push.db")
        queue(engine, args.events, args.orders)
        with engine.connect() as conn:
            bodies = [(r.event_id, r.type, r.body.encode()) for r in conn.execute(select(OutboxEvent))]

        sender = OutboxSender(engine, endpoint)
        start = time.perf_counter()
        while sender.send_due().attempted:
            pass
        ours = time.perf_counter() - start
        status = outbox_status(engine)
        engine.dispose()

    session = requests.Session()
    start = time.perf_counter()
    for event_id, kind, body in bodies:
        session.post(endpoint.url, data=body, headers=headers(endpoint, event_id + "-peer", kind, body),
                     timeout=(3, 10))
    peer = time.perf_counter() - start
    receiver.stop()

    sent = status["sent"]
    print(f"events queued: {args.events} for {args.orders} orders")
    print(f"outbox sender: {sent} sent, {status['pending']} pending, {status['dead']} refused "
          f"(a bad signature is refused) in {ours:.2f} s = {sent / ours:.0f} events/s (goal >= 500)")
    print(f"peer (bare requests loop, same bodies): {len(bodies) / peer:.0f} events/s")
    print(f"receiver: {len(receiver.received)} distinct idempotency keys")
    print(f"ratio ours / peer: {(sent / ours) / (len(bodies) / peer):.2f}")
    return 0 if sent == args.events and len(receiver.received) == 2 * args.events else 1


if __name__ == "__main__":
    sys.exit(main())
