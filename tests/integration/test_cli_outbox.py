"""`fleet-desk outbox` as a user meets it after a send went wrong: which events need attention, and each one shown
by the number status lists or by the UUID the sender's messages name."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import Engine

from fleet_desk.cli import main
from fleet_desk.push.outbox import outbox_rows
from fleet_desk.settings import host_name
from tests.helpers.outbox import ENDPOINT_TOKEN, SECRET, queue_notices
from tests.helpers.receiver import Receiver


@pytest.fixture
def refused_and_retrying(db_url: str, engine: Engine, receiver: Receiver, monkeypatch: pytest.MonkeyPatch,
                         caplog: pytest.LogCaptureFixture) -> list[str]:
    """Three notices sent once: the endpoint refuses the first for good (400) and the second for now (500); what
    the sender said, one message a line."""
    monkeypatch.setenv("FLEET_DESK_ENDPOINT_URL", receiver.url)
    monkeypatch.setenv("FLEET_DESK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("FLEET_DESK_ENDPOINT_TOKEN", ENDPOINT_TOKEN)
    queue_notices(engine, orders=3, per_order=1)
    receiver.faults = ["400", "500"]
    assert main(["--db", db_url, "outbox", "send"]) == 0
    return [r.getMessage() for r in caplog.records if r.name.startswith("fleet_desk.push")]


def test_status_lists_the_events_needing_attention(db_url: str, engine: Engine, refused_and_retrying: list[str],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    rows = {row.id: row for row in outbox_rows(engine)}
    dead = [i for i, row in rows.items() if row.status == "dead"]
    tried = [i for i, row in rows.items() if row.status == "pending" and row.attempts]
    assert len(dead) == 1 and len(tried) == 1
    capsys.readouterr()
    assert main(["--db", db_url, "outbox", "status"]) == 0
    out = capsys.readouterr().out
    listed = [int(m) for m in re.findall(r"^\s+(\d+)\s+(?:dead|pending)\s", out, re.MULTILINE)]
    assert "needing attention" in out and sorted(listed) == sorted(dead + tried)
    assert "HTTP 400" in out and "1 attempt " in out
    assert f"by desk:\n  {host_name()}: sent 1, dead 1\n" in out
    assert main(["--db", db_url, "outbox", "status", "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["dead"] == 1 and {e["id"] for e in status["attention"]} == set(dead + tried)
    assert {e["status"] for e in status["attention"]} == {"dead", "pending"}
    assert status["superseded"] == 0 and status["retrying"] == 1
    assert status["desks"] == [{"desk": host_name(), "sent": 1, "dead": 1, "sending": 0}]  # this desk's name


def test_show_takes_the_uuid_the_sender_named_or_the_number(db_url: str, engine: Engine,
                                                            refused_and_retrying: list[str],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    said = next(m for m in refused_and_retrying if "is a dead letter" in m)
    named = re.search(r"outbox event (\S+) is a dead letter", said)
    assert named
    uuid = named[1]
    (dead,) = [row for row in outbox_rows(engine) if row.status == "dead"]
    capsys.readouterr()
    for key in (uuid, uuid.upper(), str(dead.id)):
        assert main(["--db", db_url, "outbox", "show", key]) == 0
        out = capsys.readouterr().out
        assert re.search(rf"^id\s+{dead.id}$", out, re.MULTILINE) and f"event_id         {uuid}" in out
    assert main(["--db", db_url, "outbox", "show", "00000000-0000-4000-8000-000000000000"]) == 1
    assert "no outbox event 00000000-0000-4000-8000-000000000000" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["--db", db_url, "outbox", "show", "ORD-1"])
    assert usage.value.code == 2 and "not an event's number or UUID: 'ORD-1'" in capsys.readouterr().err
