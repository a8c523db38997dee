"""Claims on outbox events, on both backends: what another desk holds is left to it until its lease runs out,
a later event of an order waits for the earlier one wherever it is being sent, an outcome is written only while
the claim is still the sender's own, and what the sender could not send goes back to the queue at once."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from fleet_desk.push.endpoint import Endpoint
from fleet_desk.push.outbox import outbox_status
from fleet_desk.push.sender import OutboxSender, default_lease_s
from fleet_desk.store.models import OutboxEvent
from tests.helpers.outbox import SECRET, queue_notices
from tests.helpers.receiver import Receiver

T0 = 1_795_000_100_000


class Clock:
    """A clock the test moves."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _sender(engine, receiver: Receiver, desk: str, clock: Clock, **kw) -> OutboxSender:
    return OutboxSender(engine, Endpoint(receiver.url, "t0ken-0123456789", SECRET), clock=clock, timeout=(1.0, 1.0),
                        backoff_base_s=0.05, desk=desk, lease_s=60, **kw)


def _rows(engine) -> dict[int, OutboxEvent]:
    with engine.connect() as conn:
        return {r.id: r for r in conn.execute(select(OutboxEvent).order_by(OutboxEvent.id))}


def test_what_another_desk_holds_waits_for_its_lease_then_goes_once(engine, receiver):
    queue_notices(engine, orders=4, per_order=2)
    clock = Clock()
    one = _sender(engine, receiver, "desk-1", clock, claim_size=2)
    two = _sender(engine, receiver, "desk-2", clock)
    held = one._claim([1, 2, 3, 4])  # desk-1 claims two (the first of orders 0 and 1), then dies
    assert [(c.id, c.until) for c in held] == [(1, T0 + 60_000), (2, T0 + 60_000)]
    assert two.send_due().sent == 2 and not {c.event_id for c in held} & set(receiver.keys)  # orders 2 and 3
    assert two.send_due().sent == 2  # their second events
    assert two.send_due().sent == 0  # the held ones' orders wait: their later events are not claimed either
    clock.now = T0 + 60_001  # the lease ran out
    assert two.send_due().sent == 2 and two.send_due().sent == 2
    assert len(receiver.keys) == 8 and set(receiver.keys.values()) == {1}
    rows = _rows(engine).values()
    assert {r.sent_by for r in rows} == {"desk-2"} and {r.claimed_by for r in rows} == {None}
    by_order: dict[str, list[int]] = {}
    for doc in receiver.accepted:
        by_order.setdefault(doc["order"]["order_id"], []).append(doc["sequence"])
    assert all(seqs == [1, 2] for seqs in by_order.values())


def test_an_outcome_is_not_written_over_a_claim_taken_since(engine, receiver, caplog):
    queue_notices(engine, orders=1, per_order=1)
    clock = Clock()
    one = _sender(engine, receiver, "desk-1", clock)
    (claim,) = one._claim([1])
    with engine.begin() as conn:  # desk-1's lease ran out while it was sending, and desk-2 took the event
        conn.execute(update(OutboxEvent).values(claimed_by="desk-2", claimed_until_ms=T0 + 120_000))
    assert one._keep(claim) is claim  # half its lease is left, as desk-1 sees it: sent without asking
    clock.now = T0 + 40_000  # less than half left: renewing finds the claim gone, nothing is sent
    assert one._keep(claim) is None and receiver.keys == {}
    assert "its claim ran out before it was sent" in caplog.text
    (row,) = _rows(engine).values()
    assert (row.status, row.claimed_by, row.attempts) == ("pending", "desk-2", 0)


def test_a_lease_is_renewed_while_half_is_gone(engine, receiver):
    queue_notices(engine, orders=1, per_order=1)
    clock = Clock()
    one = _sender(engine, receiver, "desk-1", clock)
    (claim,) = one._claim([1])
    clock.now = T0 + 31_000
    kept = one._keep(claim)
    assert kept is not None and kept.until == T0 + 91_000
    (row,) = _rows(engine).values()
    assert (row.claimed_by, row.claimed_until_ms) == ("desk-1", T0 + 91_000)


def test_a_round_that_fails_gives_back_what_it_did_not_send(engine, receiver):
    queue_notices(engine, orders=3, per_order=1)

    class StackBrokenError(Exception):
        pass

    class Session:
        def post(self, *args, **kwargs):
            raise StackBrokenError("the HTTP stack broke")

    one = _sender(engine, receiver, "desk-1", Clock(), session=Session())
    with pytest.raises(StackBrokenError):
        one.send_due()
    claimed = [r.claimed_by for r in _rows(engine).values()]
    assert claimed == ["desk-1", None, None]  # the one in the air keeps its lease; the two others are free


def test_status_says_which_desk_sent_what_and_holds_what(engine, receiver):
    queue_notices(engine, orders=3, per_order=2)
    receiver.faults = ["ok", "400"]
    clock = Clock()
    _sender(engine, receiver, "desk-1", clock).send_due(limit=2)
    _sender(engine, receiver, "desk-2", clock)._claim([3])
    with engine.begin() as conn:  # sent before desks were recorded
        conn.execute(update(OutboxEvent).where(OutboxEvent.id == 6).values(status="sent"))
    status = outbox_status(engine, now=T0)
    assert status["sent"] == 2 and status["dead"] == 1
    assert status["desks"] == [{"desk": "desk-1", "sent": 1, "dead": 1, "sending": 0},
                               {"desk": "desk-2", "sent": 0, "dead": 0, "sending": 1},
                               {"desk": None, "sent": 1, "dead": 0, "sending": 0}]
    assert outbox_status(engine, now=T0 + 60_001)["desks"][1]["sending"] == 0  # its lease ran out


def test_the_lease_comes_from_the_environment_when_set(monkeypatch):
    monkeypatch.setenv("FLEET_DESK_OUTBOX_LEASE_S", "2.5")
    assert default_lease_s() == 2.5
    for bad in ("", "soon", "-1", "0"):
        monkeypatch.setenv("FLEET_DESK_OUTBOX_LEASE_S", bad)
        assert default_lease_s() == 60.0


def test_desks_that_read_the_same_due_events_claim_different_ones(engine, receiver):
    queue_notices(engine, orders=5, per_order=2)
    clock = Clock()
    one = _sender(engine, receiver, "desk-1", clock, claim_size=2)
    two = _sender(engine, receiver, "desk-2", clock, claim_size=2)
    due = [1, 2, 3, 4, 5, 6]  # both read these; 6 is the second event of order 0, not due while 1 waits
    assert [c.id for c in one._claim(due)] == [1, 2]
    assert [c.id for c in two._claim(due)] == [3, 4]
    assert [c.id for c in one._claim(due)] == [5]
    assert two._claim(due) == []
