"""`fleet-desk outbox list`'s rows: states in the app's words, the desk that sent, refused or holds each event."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, update

from fleet_desk.clock import now_ms
from fleet_desk.push.listing import listed, state_word
from fleet_desk.store.models import OutboxEvent
from tests.helpers.outbox import queue_notices


def test_states_and_desks_as_the_list_says_them(engine: Engine) -> None:
    queue_notices(engine, orders=5, per_order=1)
    now = now_ms()
    with engine.begin() as conn:
        for event_id, values in {1: {"status": "dead", "attempts": 1, "sent_by": "desk-a"},
                                 2: {"status": "sent", "attempts": 1, "sent_by": "desk-b"},
                                 3: {"attempts": 2, "claimed_by": "desk-c", "claimed_until_ms": now + 60_000},
                                 4: {"attempts": 1, "claimed_by": "desk-d", "claimed_until_ms": now - 1}}.items():
            conn.execute(update(OutboxEvent).where(OutboxEvent.id == event_id).values(**values))
    events, total = listed(engine, now=now)
    assert total == 5 and [(e.id, e.state, e.desk) for e in events] == [
        (5, "pending", None), (4, "retrying", None),  # its lease ran out: no desk holds it
        (3, "retrying", "desk-c"), (2, "sent", "desk-b"), (1, "refused", "desk-a")]
    assert [e.id for e in listed(engine, "pending", now=now)[0]] == [5, 4, 3]
    assert [e.id for e in listed(engine, "refused", now=now)[0]] == [1]
    assert listed(engine, "retrying", limit=1, now=now)[0][0].id == 4 and listed(engine, "retrying", now=now)[1] == 2
    with pytest.raises(ValueError, match="not an outbox state: 'dead'"):
        listed(engine, "dead")
    assert state_word("dead", 3) == "refused" and state_word("superseded", 1) == "superseded"
