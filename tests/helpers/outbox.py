"""The outbox side of the push tests: the endpoint's credentials and notices queued as tracking queues them."""

from __future__ import annotations

from sqlalchemy import Engine

from fleet_desk.push.payload import Notice, PayloadPolicy, enqueue

SECRET = "s3cret-for-tests"
ENDPOINT_TOKEN = "t0ken-0123456789"


def queue_notices(engine: Engine, orders: int, per_order: int, kind: str = "out_for_delivery") -> None:
    """``orders`` x ``per_order`` notices in the outbox, all due at once, in one transaction."""
    notices = [Notice(kind=kind, occurred_ms=1_795_000_000_000 + i, stop_id=None, order_id=f"O-{o}",
                      tracking_number=f"T-{o}", window=(1_795_000_000_000, 1_795_003_600_000),
                      eta=(1_795_001_000_000, 1_795_000_900_000, 1_795_001_200_000), stops_before=2,
                      vehicle=(1, "Van 1"), position=(45.75, 4.85, 1_795_000_000_000),
                      customer=("Élodie Martin", "+33 4 12 34 56 78", "e@example.com"))
               for i in range(per_order) for o in range(orders)]
    with engine.begin() as conn:
        enqueue(conn, notices, PayloadPolicy(), 1_795_000_000_000)
