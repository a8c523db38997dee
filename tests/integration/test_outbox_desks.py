"""Several desks draining one outbox, each its own process on the same database (PostgreSQL and SQLite): every
event reaches the endpoint once, none is lost, per-order order holds, and a desk killed mid-send leaves its
event to another once its lease runs out, sent with the same Idempotency-Key."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from fleet_desk.cli import main
from fleet_desk.store.models import OutboxEvent
from tests.helpers.outbox import ENDPOINT_TOKEN, SECRET, queue_notices
from tests.helpers.paths import ROOT
from tests.helpers.receiver import Receiver
from tests.helpers.waiting import wait_until


class TimedReceiver(Receiver):
    """The test endpoint, also noting when (wall-clock ms) each delivery of each key arrived."""

    def __init__(self, secret: str, token: str | None = None) -> None:
        super().__init__(secret, token)
        self.arrivals: dict[str, list[int]] = {}

    def take(self, headers, body: bytes) -> None:
        with self.lock:
            self.arrivals.setdefault(headers.get("Idempotency-Key"), []).append(int(time.time() * 1000))
        super().take(headers, body)


@pytest.fixture
def timed_receiver():
    r = TimedReceiver(SECRET, token=ENDPOINT_TOKEN)
    yield r
    r.close()


def _desk_env(tmp_path: Path, name: str, url: str, lease_s: float | None = None) -> dict[str, str]:
    """A desk's environment: its own settings folder naming it, the endpoint and its secrets."""
    config = tmp_path / name
    config.mkdir()
    (config / "settings.json").write_text(json.dumps({"desk_name": name}), encoding="utf-8")
    env = dict(os.environ, FLEET_DESK_CONFIG_DIR=str(config), FLEET_DESK_ENDPOINT_URL=url,
               FLEET_DESK_SIGNING_SECRET=SECRET, FLEET_DESK_ENDPOINT_TOKEN=ENDPOINT_TOKEN)
    if lease_s is not None:
        env["FLEET_DESK_OUTBOX_LEASE_S"] = str(lease_s)
    return env


def _send(db_url: str, env: dict[str, str], stdout=subprocess.PIPE) -> subprocess.Popen:
    cmd = [sys.executable, str(ROOT / "main.py"), "--db", db_url, "outbox", "send", "--until-empty", "--timeout",
           "90"]
    return subprocess.Popen(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True)


def _rows(engine: Engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(OutboxEvent).order_by(OutboxEvent.id)).all()


def _in_order(receiver: Receiver) -> None:
    by_order: dict[str, list[int]] = {}
    for doc in receiver.accepted:
        by_order.setdefault(doc["order"]["order_id"], []).append(doc["sequence"])
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_order.values()), by_order


def test_three_desks_at_once_deliver_every_event_once_in_order(db_url, engine, receiver, tmp_path, capsys):
    queue_notices(engine, orders=50, per_order=4)  # 200 events, 4 per order
    receiver.faults = ["slow:0.02"] * 200  # each answer takes a moment, so the three overlap
    desks = [_send(db_url, _desk_env(tmp_path, f"desk-{n}", receiver.url)) for n in (1, 2, 3)]
    outputs = [desk.communicate(timeout=120) for desk in desks]
    for desk, (out, errors) in zip(desks, outputs, strict=True):
        assert desk.returncode == 0, errors
        assert "locked" not in errors.lower() and "Traceback" not in errors
        assert out.startswith("sent ") and out.rstrip().endswith("pending 0"), out
    receiver.wait_idle()
    assert receiver.problems == []
    assert len(receiver.keys) == 200 and set(receiver.keys.values()) == {1}  # every event once, none lost
    _in_order(receiver)
    rows = _rows(engine)
    assert {r.status for r in rows} == {"sent"} and {r.claimed_by for r in rows} == {None}
    by_desk = {name: sum(r.sent_by == name for r in rows) for name in ("desk-1", "desk-2", "desk-3")}
    assert sum(by_desk.values()) == 200 and all(by_desk.values()), by_desk  # all three sent a share

    capsys.readouterr()
    assert main(["--db", db_url, "outbox", "status", "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["sent"] == 200 and status["superseded"] == 0
    assert {d["desk"]: d["sent"] for d in status["desks"]} == by_desk
    assert main(["--db", db_url, "outbox", "status"]) == 0
    text = capsys.readouterr().out
    assert all(f"  {name}: sent {n}" in text for name, n in by_desk.items()), text


def test_two_desks_with_eta_updates_send_only_the_newest_once(db_url, engine, receiver, tmp_path, capsys):
    queue_notices(engine, orders=40, per_order=3, kind="eta_updated")  # the first two of each are stale
    receiver.faults = ["slow:0.02"] * 40
    desks = [_send(db_url, _desk_env(tmp_path, f"desk-{n}", receiver.url)) for n in (1, 2)]
    for desk in desks:
        _, errors = desk.communicate(timeout=120)
        assert desk.returncode == 0 and "locked" not in errors.lower(), errors
    receiver.wait_idle()
    assert receiver.problems == [] and len(receiver.keys) == 40 and set(receiver.keys.values()) == {1}
    assert {d["sequence"] for d in receiver.accepted} == {3}
    capsys.readouterr()
    assert main(["--db", db_url, "outbox", "status", "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert (status["sent"], status["superseded"], status["pending"]) == (40, 80, 0)


def test_a_desk_killed_mid_send_leaves_its_event_to_another_after_its_lease(db_url, engine, timed_receiver,
                                                                             tmp_path):
    receiver = timed_receiver
    queue_notices(engine, orders=3, per_order=2)
    receiver.faults = ["slow:3"]  # the first request is held while desk-1 is killed
    first = _send(db_url, _desk_env(tmp_path, "desk-1", receiver.url, lease_s=2), stdout=subprocess.DEVNULL)
    wait_until(lambda: not receiver.faults and receiver.in_flight, timeout=30)  # the endpoint holds its request
    first.send_signal(signal.SIGKILL)
    assert first.wait(10) == -signal.SIGKILL
    first.stderr.close()
    held = [r for r in _rows(engine) if r.claimed_by == "desk-1"]
    assert held and {r.status for r in held} == {"pending"}  # its claims outlive it, until their lease ends
    until = {r.event_id: r.claimed_until_ms for r in held}

    second = _send(db_url, _desk_env(tmp_path, "desk-2", receiver.url, lease_s=2))
    _, errors = second.communicate(timeout=120)
    assert second.returncode == 0, errors
    receiver.wait_idle()
    assert receiver.problems == [] and len(receiver.keys) == 6
    twice = [key for key, n in receiver.keys.items() if n > 1]
    assert len(twice) == 1 and receiver.keys[twice[0]] == 2 and twice[0] in until  # the held one, same key
    assert receiver.arrivals[twice[0]][1] >= until[twice[0]]  # sent again only once desk-1's lease ran out
    for key in until:  # desk-1's other claims waited for its lease too
        assert receiver.arrivals[key][-1] >= until[key]
    _in_order(receiver)
    rows = _rows(engine)
    assert {r.status for r in rows} == {"sent"} and {r.sent_by for r in rows} == {"desk-2"}
    assert {r.claimed_by for r in rows} == {None}


def test_a_desk_name_is_a_setting(tmp_path, capsys, monkeypatch):
    from fleet_desk.settings import Settings, host_name

    monkeypatch.setenv("FLEET_DESK_CONFIG_DIR", str(tmp_path))
    assert Settings.load().desk_name == host_name() != ""
    assert main(["config", "set", "desk_name", "desk-2"]) == 0
    assert Settings.load().desk_name == "desk-2"
    assert main(["config", "set", "desk_name", " "]) == 2
    assert "desk_name" in capsys.readouterr().err and Settings.load().desk_name == "desk-2"
