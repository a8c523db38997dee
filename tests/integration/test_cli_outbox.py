"""`fleet-desk outbox` as a user meets it after a send went wrong: which events need attention, every event listed
(all, or in one state), each one shown by the number status and list print or by the UUID the sender's messages
name, all in the app's words (an event the endpoint refused for good is "refused", never "dead"); and `ping`
against an endpoint that cannot be reached, in one line each (real servers on 127.0.0.1, HTTPS with a
self-signed certificate)."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fleet_desk.cli import main
from fleet_desk.push.outbox import outbox_rows
from fleet_desk.settings import host_name
from tests.helpers.outbox import ENDPOINT_TOKEN, SECRET, queue_notices
from tests.helpers.receiver import Receiver
from tests.helpers.tls import https_endpoint, self_signed


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
    refused = [i for i, row in rows.items() if row.status == "dead"]  # the store's word; never the user's
    tried = [i for i, row in rows.items() if row.status == "pending" and row.attempts]
    assert len(refused) == 1 and len(tried) == 1
    capsys.readouterr()
    assert main(["--db", db_url, "outbox", "status"]) == 0
    out = capsys.readouterr().out
    listed = {int(m[0]): m[1] for m in re.findall(r"^\s+(\d+)\s+(refused|retrying)\s", out, re.MULTILINE)}
    assert "needing attention" in out and listed == {refused[0]: "refused", tried[0]: "retrying"}
    assert "HTTP 400" in out and "1 attempt " in out
    assert re.match(r"pending 1, oldest waiting \d+ s; sent 1; refused 1; superseded 0\n", out), out
    assert f"by desk:\n  {host_name()}: sent 1, refused 1\n" in out
    assert "dead" not in out
    assert main(["--db", db_url, "outbox", "status", "--format", "json"]) == 0
    said = capsys.readouterr().out
    status = json.loads(said)
    assert status["refused"] == 1 and {e["id"] for e in status["attention"]} == set(refused + tried)
    assert {e["status"] for e in status["attention"]} == {"refused", "retrying"}
    assert status["superseded"] == 0 and status["retrying"] == 1 and status["pending"] == 1
    assert status["desks"] == [{"desk": host_name(), "sent": 1, "refused": 1, "sending": 0}]  # this desk's name
    assert "dead" not in said


def test_show_takes_the_uuid_the_sender_named_or_the_number(db_url: str, engine: Engine,
                                                            refused_and_retrying: list[str],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    said = next(m for m in refused_and_retrying if "was refused" in m)
    named = re.search(r"outbox event (\S+) was refused \(kept, not retried; fleet-desk outbox show (\d+)\)", said)
    assert named and "dead" not in said
    uuid = named[1]
    (refused,) = [row for row in outbox_rows(engine) if row.status == "dead"]
    assert named[2] == str(refused.id)
    capsys.readouterr()
    for key in (uuid, uuid.upper(), str(refused.id)):
        assert main(["--db", db_url, "outbox", "show", key]) == 0
        out = capsys.readouterr().out
        assert re.search(rf"^id\s+{refused.id}$", out, re.MULTILINE) and f"event_id         {uuid}" in out
        assert re.search(r"^status\s+refused$", out, re.MULTILINE)
    assert main(["--db", db_url, "outbox", "show", "00000000-0000-4000-8000-000000000000"]) == 1
    assert "no outbox event 00000000-0000-4000-8000-000000000000 (fleet-desk outbox list prints their numbers)" \
        in capsys.readouterr().err
    assert main(["--db", db_url, "outbox", "show"]) == 2
    assert "its number as `fleet-desk outbox list` prints it, or its UUID" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["--db", db_url, "outbox", "show", "ORD-1"])
    assert usage.value.code == 2 and "not an event's number or UUID: 'ORD-1'" in capsys.readouterr().err


def _listed(out: str) -> list[tuple[int, str, str, str, int, str]]:
    """(id, order, type, status, tries, desk) of each line `outbox list` prints under its header."""
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "ORDER", "TYPE", "STATUS", "TRIES", "DESK", "LAST", "ERROR"]
    return [(int(f[0]), f[1], f[2], f[3], int(f[4]), f[5]) for f in (line.split() for line in lines[1:])
            if f[0].isdigit()]


def test_list_prints_every_event_or_those_in_one_state_newest_first(db_url: str, engine: Engine,
                                                                    refused_and_retrying: list[str],
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    rows = {row.id: row for row in outbox_rows(engine)}
    (refused,) = [i for i, row in rows.items() if row.status == "dead"]
    (tried,) = [i for i, row in rows.items() if row.status == "pending"]
    (sent,) = [i for i, row in rows.items() if row.status == "sent"]
    queue_notices(engine, orders=1, per_order=1)  # one more, never tried
    (fresh,) = set(row.id for row in outbox_rows(engine)) - set(rows)
    capsys.readouterr()
    assert main(["--db", db_url, "outbox", "list"]) == 0
    out = capsys.readouterr().out
    assert [(i, status, tries) for i, _o, _t, status, tries, _d in _listed(out)] == sorted(
        [(fresh, "pending", 0), (sent, "sent", 1), (refused, "refused", 1), (tried, "retrying", 1)], reverse=True)
    desks = {i: desk for i, _o, _t, _s, _n, desk in _listed(out)}
    assert desks == {fresh: "-", sent: host_name(), refused: host_name(), tried: "-"}
    assert "HTTP 400" in out and "HTTP 500" in out and "dead" not in out
    for state, ids in {"refused": [refused], "retrying": [tried], "pending": [fresh, tried], "sent": [sent],
                       "superseded": []}.items():
        assert main(["--db", db_url, "outbox", "list", "--status", state]) == 0
        out = capsys.readouterr().out
        if ids:
            assert [i for i, *_ in _listed(out)] == sorted(ids, reverse=True), (state, out)
        else:
            assert out == f"no {state} outbox events\n"
    assert main(["--db", db_url, "outbox", "list", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert [i for i, *_ in _listed(out)] == [fresh, max(sent, refused, tried)]
    assert out.endswith("(the newest 2 of 4 events; --limit N for more)\n")
    assert main(["--db", db_url, "outbox", "list", "--status", "refused", "--format", "json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["total"] == 1 and [e["id"] for e in listing["events"]] == [refused]
    (event,) = listing["events"]
    assert event["status"] == "refused" and event["desk"] == host_name() and "HTTP 400" in event["last_error"]
    assert event["order_id"] == rows[refused].order_id and event["attempts"] == 1
    with pytest.raises(SystemExit) as usage:
        main(["--db", db_url, "outbox", "list", "--status", "dead"])
    assert usage.value.code == 2 and "invalid choice: 'dead'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["--db", db_url, "outbox", "list", "--limit", "0"])
    assert usage.value.code == 2 and "not a whole number above 0: '0'" in capsys.readouterr().err


def test_retry_refused_puts_them_back_and_its_old_name_still_works(db_url: str, engine: Engine,
                                                                  refused_and_retrying: list[str],
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["--db", db_url, "outbox", "retry-refused"]) == 0
    assert capsys.readouterr().out == "1 refused event(s) back in the queue\n"
    assert not [row for row in outbox_rows(engine) if row.status == "dead"]
    assert main(["--db", db_url, "outbox", "retry-dead"]) == 0  # the name docs and scripts may still use
    assert capsys.readouterr().out == "0 refused event(s) back in the queue\n"


def _ping(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str,
          secret: str | None) -> tuple[int, str, str]:
    monkeypatch.setenv("FLEET_DESK_ENDPOINT_URL", url)
    if secret is None:
        monkeypatch.delenv("FLEET_DESK_SIGNING_SECRET", raising=False)
    else:
        monkeypatch.setenv("FLEET_DESK_SIGNING_SECRET", secret)
    capsys.readouterr()
    code = main(["outbox", "ping"])
    said = capsys.readouterr()
    return code, said.out, said.err


NOTE = ("fleet-desk: note: no signing secret is set, so the test event went unsigned, and no customer notice is sent "
        "until one is: `fleet-desk config set-secret signing_secret` (or FLEET_DESK_SIGNING_SECRET)\n")


def test_ping_tries_the_url_without_a_secret_and_says_what_is_missing_after(receiver: Receiver,
                                                                           monkeypatch: pytest.MonkeyPatch,
                                                                           capsys: pytest.CaptureFixture[str],
                                                                           no_keyring: None) -> None:
    monkeypatch.setenv("FLEET_DESK_ENDPOINT_TOKEN", ENDPOINT_TOKEN)
    code, out, err = _ping(monkeypatch, capsys, receiver.url, None)
    assert code == 1 and out.startswith(f"{receiver.url} accepted an unsigned test event (HTTP 200, ") and err == NOTE
    assert receiver.accepted[-1]["type"] == "ping" and receiver.problems == ["bad signature"]  # it was tried
    code, out, err = _ping(monkeypatch, capsys, receiver.url, SECRET)
    assert code == 0 and out.startswith(f"{receiver.url} accepted a signed test event (HTTP 200, ") and err == ""
    assert receiver.problems == ["bad signature"]  # the signed one checked out


def test_ping_to_an_endpoint_it_cannot_reach_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str],
                                                         no_keyring: None) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    with https_endpoint(*self_signed(tmp_path)) as server:
        untrusted = _ping(monkeypatch, capsys, server.url(), SECRET)
        unsigned = _ping(monkeypatch, capsys, server.url(), None)
    assert untrusted == (1, "", f"fleet-desk: {server.url()}: its certificate is not one this computer trusts "
                                "(self-signed certificate), so nothing was sent. Ask the endpoint's owner for a "
                                "certificate from a known authority (or, for the depot's own authority, name its "
                                "certificate file in REQUESTS_CA_BUNDLE)\n")
    assert unsigned == (1, "", untrusted[2] + NOTE)  # the URL tried first; the secret said after
    assert _ping(monkeypatch, capsys, closed, SECRET) == (
        1, "", f"fleet-desk: {closed} did not answer: connection refused (nothing listens on that port)\n")
    code, out, err = _ping(monkeypatch, capsys, "https://no-such-host.invalid/hook", SECRET)
    assert code == 1 and out == "" and len(err.splitlines()) == 1
    assert err.startswith("fleet-desk: https://no-such-host.invalid/hook did not answer: host not found ("), err
    assert "Traceback" not in err and "Error" not in err


def test_status_says_nothing_is_sent_while_no_endpoint_is_set(capsys, tmp_path, monkeypatch):
    """The trial saw "pending 1, oldest waiting 329 s" and nothing saying why it waited."""
    from fleet_desk.cli import main
    from fleet_desk.store import open_database
    from tests.helpers.outbox import queue_notices

    monkeypatch.delenv("FLEET_DESK_ENDPOINT_URL", raising=False)
    url = f"sqlite:///{tmp_path / 'depot.db'}"
    engine = open_database(url)
    queue_notices(engine, 1, 1)
    engine.dispose()
    assert main(["--db", url, "outbox", "status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("pending 1") and "nothing is sent while no endpoint URL is set" in out
