"""The outbox sender as its own process, killed with SIGKILL mid-send and run again: every event is delivered
once, and at most the one in flight is sent twice, with the same Idempotency-Key. What the killed sender had
claimed waits for its lease to run out (2 s here, FLEET_DESK_OUTBOX_LEASE_S; several desks:
test_outbox_desks.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from sqlalchemy import select

from fleet_desk.cli import main
from fleet_desk.store.models import OutboxEvent
from tests.helpers.outbox import SECRET, queue_notices
from tests.helpers.paths import ROOT
from tests.helpers.waiting import wait_until


def _rows(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(OutboxEvent).order_by(OutboxEvent.id)).all()


def test_killed_mid_send_and_restarted_delivers_everything_once(db_url, engine, receiver):
    db = db_url
    queue_notices(engine, orders=10, per_order=3)
    receiver.faults = ["slow:0.3"] * 30
    env = dict(os.environ, FLEET_DESK_ENDPOINT_URL=receiver.url, FLEET_DESK_SIGNING_SECRET=SECRET,
               FLEET_DESK_ENDPOINT_TOKEN="t0ken-0123456789", FLEET_DESK_OUTBOX_LEASE_S="2")
    cmd = [sys.executable, str(ROOT / "main.py"), "--db", db, "outbox", "send", "--until-empty", "--timeout", "60"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: len(receiver.accepted) >= 3, timeout=30)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert 0 < len(receiver.accepted) < 30
    receiver.faults = []
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(receiver.accepted) == 30 and receiver.problems == []
    assert {d["event_id"] for d in receiver.accepted} == set(receiver.keys)
    assert main(["--db", db, "outbox", "status", "--format", "json"]) == 0


def test_a_sender_killed_mid_round_sends_again_at_most_the_one_in_flight(db_url, engine, receiver):
    queue_notices(engine, orders=30, per_order=1)  # all 30 due in one round
    receiver.faults = ["slow:0.2"] * 30
    env = dict(os.environ, FLEET_DESK_ENDPOINT_URL=receiver.url, FLEET_DESK_SIGNING_SECRET=SECRET,
               FLEET_DESK_ENDPOINT_TOKEN="t0ken-0123456789", FLEET_DESK_OUTBOX_LEASE_S="2")
    cmd = [sys.executable, str(ROOT / "main.py"), "--db", db_url, "outbox", "send"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cmd += ["--until-empty", "--timeout", "60"]  # run again: what the killed one had claimed waits for its lease
    wait_until(lambda: len(receiver.keys) >= 6, timeout=60)
    first.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    receiver.wait_idle()  # the request in flight is answered into a closed socket
    answered = set(receiver.keys)
    assert 6 <= len(answered) < 30
    stored = {r.event_id for r in _rows(engine) if r.status == "sent"}
    assert stored <= answered and len(answered - stored) <= 1  # every answer but the one in flight is stored
    in_flight = answered - stored

    receiver.faults = []
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(receiver.accepted) == 30 and receiver.problems == []  # Idempotency-Key is the event id
    again = {key for key, n in receiver.keys.items() if n > 1}
    assert again == in_flight  # at most one sent again, with the same key
    assert {r.status for r in _rows(engine)} == {"sent"} and {r.claimed_by for r in _rows(engine)} == {None}
