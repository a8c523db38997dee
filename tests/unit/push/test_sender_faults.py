"""Push under faults, on both backends: endpoints that redirect, fail or are down,
credentials in the endpoint URL, and a secrets file that others could read (a sender killed mid-round:
tests/integration/test_sender_killed.py)."""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from fleet_desk.cli import main
from fleet_desk.clock import now_ms
from fleet_desk.push.endpoint import Endpoint, read_secret, store_secret
from fleet_desk.push.outbox import outbox_status
from fleet_desk.push.sender import BATCH, OutboxSender, SenderThread, SendRound, check_connection
from fleet_desk.settings import Settings, config_dir
from fleet_desk.store.models import OutboxEvent
from tests.helpers.outbox import ENDPOINT_TOKEN, SECRET, queue_notices
from tests.helpers.waiting import wait_until

PASSWORD, TOKEN = "hunter2-pw", "tok-4711-secret"


class Recorder:
    """A real HTTP server on 127.0.0.1 that gives every request, of any method, one fixed answer and keeps it."""

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None, echo: bool = False):
        self.requests: list[tuple[str, str, dict, bytes]] = []  # method, path, headers, body
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recorder.requests.append((self.command, self.path, dict(self.headers), body))
                answer = f"no such place: {self.path}".encode() if echo else b"moved"
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_HEAD = _any  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rows(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(OutboxEvent).order_by(OutboxEvent.id)).all()


def _everything_stored(engine) -> str:
    """Every value of every outbox row, as text: what a credential must not be in."""
    return json.dumps([list(r) for r in _rows(engine)], default=str)


# -- 5. redirects ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_the_event_is_a_dead_letter_saying_where(db_url, engine, code):
    elsewhere = Recorder(200)  # plain http, and it must receive nothing
    location = elsewhere.url.replace("http://", f"http://spy:{PASSWORD}@") + f"/catch?token={TOKEN}"
    moved = Recorder(code, {"Location": location})
    try:
        queue_notices(engine, orders=2, per_order=1)
        sender = OutboxSender(engine, Endpoint(moved.url + "/events", "t0ken-0123456789", SECRET), timeout=(1.0, 1.0))
        result = sender.send_due()
        assert (result.dead, result.sent, result.retrying) == (2, 0, 0)
        assert elsewhere.requests == [] and [r[0] for r in moved.requests] == ["POST", "POST"]
        rows = _rows(engine)
        assert {r.status for r in rows} == {"dead"} and {r.response_status for r in rows} == {code}
        assert rows[0].response_body == "moved"  # the answer kept
        where = f"http://spy:***@127.0.0.1:{elsewhere.url.rsplit(':', 1)[1]}/catch?token=***"
        assert f"HTTP {code} from {moved.url}/events: redirected to {where}; not followed" in rows[0].last_error
        assert PASSWORD not in _everything_stored(engine) and TOKEN not in _everything_stored(engine)

        worked, message = check_connection(sender.endpoint)  # Settings' Test connection does not follow either
        assert not worked and f"redirected to {where}" in message and elsewhere.requests == []
    finally:
        moved.close()
        elsewhere.close()


# -- 500, 429, down: one line naming the endpoint (masked), kept for a retry -----------------------------------

@pytest.mark.parametrize("fault", ["500", "429:30", "down", "drop", "timeout"])
def test_a_failing_endpoint_is_said_in_one_line_and_the_event_waits(db_url, engine, receiver, fault):
    port = _free_port() if fault == "down" else receiver.url.split(":")[2].split("/")[0]
    url = f"http://depot:{PASSWORD}@127.0.0.1:{port}/events?site=lyon&token={TOKEN}"
    shown = f"http://depot:***@127.0.0.1:{port}/events?site=lyon&token=***"
    receiver.faults = {"timeout": ["slow:1.5"], "down": []}.get(fault, [fault])
    queue_notices(engine, orders=1, per_order=1)
    before = now_ms()
    result = OutboxSender(engine, Endpoint(url, None, SECRET), timeout=(1.0, 0.5)).send_due()
    assert result.retrying == 1 and outbox_status(engine)["pending"] == 1  # kept, not lost
    (row,) = _rows(engine)
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_ms > before
    error = row.last_error
    assert "\n" not in error and len(error) < 400 and shown in error
    expected = {"500": f"HTTP 500 from {shown}: ", "429:30": f"HTTP 429 from {shown}: slow down",
                "down": f"{shown} did not answer: connection refused (nothing listens on that port)",
                "drop": f"{shown} did not answer: ConnectionError: Remote end closed connection",
                "timeout": f"{shown} did not answer: no answer within 0.5 s"}[fault]
    assert error.startswith(expected), error
    if fault == "429:30":
        assert 29_000 <= row.next_attempt_ms - before <= 32_000  # Retry-After honoured
    assert PASSWORD not in _everything_stored(engine) and TOKEN not in _everything_stored(engine)


def test_a_long_endpoint_url_still_stores_its_error(db_url, engine, receiver):
    """The stored error is cut to its column (PostgreSQL refuses a longer one and the round would fail)."""
    receiver.faults = ["500"]
    queue_notices(engine, orders=1, per_order=1)
    url = receiver.url + "?" + "&".join(f"depot{i}=lyon-part-dieu" for i in range(30))
    assert len(url) > 500
    result = OutboxSender(engine, Endpoint(url, None, SECRET), timeout=(1.0, 1.0)).send_due()
    assert result.retrying == 1
    (row,) = _rows(engine)
    assert row.status == "pending" and len(row.last_error) == 500 and row.last_error.startswith("HTTP 500 from")


# -- 7. credentials: masked everywhere, secrets file 0600 ------------------------------------------------------

def test_credentials_in_the_endpoint_url_are_masked_in_output_logs_and_the_database(
        db_url, engine, monkeypatch, capsys, caplog):
    echo = Recorder(400, echo=True)  # a refusal quoting the path and query it was sent to
    try:
        url = f"{echo.url.replace('http://', f'http://depot:{PASSWORD}@')}/events?signature={TOKEN}&site=lyon"
        monkeypatch.setenv("FLEET_DESK_ENDPOINT_URL", url)
        monkeypatch.setenv("FLEET_DESK_SIGNING_SECRET", SECRET)
        queue_notices(engine, orders=1, per_order=1)
        assert main(["--db", db_url, "outbox", "send"]) == 0
        assert echo.requests[0][1] == f"/events?signature={TOKEN}&site=lyon"  # it did go to the real URL
        assert main(["--db", db_url, "outbox", "ping"]) == 1
        (row,) = _rows(engine)
        assert row.status == "dead" and "no such place: /events?signature=***&site=lyon" in row.response_body
        assert PASSWORD not in _everything_stored(engine) and TOKEN not in _everything_stored(engine)
        # A row stored by an older version, with the URL as it was: shown masked all the same.
        with engine.begin() as conn:
            conn.execute(update(OutboxEvent).values(last_error=f"HTTP 404 from {url}: gone; url: /events?"
                                                               f"signature={TOKEN}"))
        assert main(["--db", db_url, "outbox", "status"]) == 0
        assert main(["--db", db_url, "outbox", "status", "--format", "json"]) == 0
        assert main(["--db", db_url, "outbox", "show", str(row.id)]) == 0
        out = capsys.readouterr()
        assert "depot:***@127.0.0.1" in out.out and "signature=***" in out.out
        assert "HTTP 400 from http://depot:***@127.0.0.1" in out.out + out.err
        everything = out.out + out.err + " ".join(r.getMessage() for r in caplog.records)
        assert PASSWORD not in everything and TOKEN not in everything

        monkeypatch.delenv("FLEET_DESK_ENDPOINT_URL")
        assert main(["config", "set", "endpoint_url", url]) == 2  # a password is not saved in plain settings
        err = capsys.readouterr().err
        assert "set-secret endpoint_token" in err and PASSWORD not in err
        assert PASSWORD not in (Settings.path().read_text() if Settings.path().exists() else "")
        assert main(["config", "set", "endpoint_url", url.replace(f":{PASSWORD}", "")]) == 0
        assert TOKEN not in capsys.readouterr().out
        assert stat.S_IMODE(Settings.path().stat().st_mode) == 0o600  # a token in its query string stays private
        assert main(["config", "set", "endpoint_url", f"http://depot:{PASSWORD}@tracking.example.com/e"]) == 2
        err = capsys.readouterr().err
        assert "HTTPS is required" in err and "depot:***@tracking.example.com" in err and PASSWORD not in err
        assert repr(Endpoint(url, TOKEN, SECRET)).count("***") == 2 and PASSWORD not in repr(Endpoint(url, None, ""))
    finally:
        Settings().save()
        echo.close()


def test_a_secrets_file_others_could_read_is_made_private(no_keyring, caplog):
    path = config_dir() / "secrets.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = Settings(allow_plaintext_secrets=True)
    try:
        path.write_text(json.dumps({"endpoint_token": "kept"}), encoding="utf-8")
        os.chmod(path, 0o644)
        where = store_secret("signing_secret", "abc-signing-key", settings)
        assert "readable only by you" in where and stat.S_IMODE(path.stat().st_mode) == 0o600  # and now true
        assert json.loads(path.read_text(encoding="utf-8")) == {"endpoint_token": "kept",
                                                                "signing_secret": "abc-signing-key"}

        os.chmod(path, 0o664)  # loosened by hand later: reading it tightens it again, and says so
        with caplog.at_level(logging.WARNING, logger="fleet_desk"):
            assert read_secret("endpoint_token", settings) == "kept"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert any("now readable only by you" in r.getMessage() for r in caplog.records)
    finally:
        path.unlink(missing_ok=True)


# -- the sender thread supervises itself ------------------------------------------------------------------------

def test_the_sender_thread_goes_on_when_a_round_or_its_report_raises(engine, receiver, monkeypatch):
    """Fault injection: two rounds raise an error nobody expected (RuntimeError in `send_due`) and every report
    of a round (``on_round``) raises. The thread goes on: the notices queued before and after all reach the
    real endpoint, and each trouble is told once."""
    queue_notices(engine, orders=3, per_order=2)
    sender = OutboxSender(engine, Endpoint(receiver.url, ENDPOINT_TOKEN, SECRET), timeout=(1.0, 0.5))
    real_send_due = OutboxSender.send_due
    failed_rounds = 0

    def send_due(self: OutboxSender, limit: int = BATCH) -> SendRound:
        nonlocal failed_rounds
        if failed_rounds < 2:
            failed_rounds += 1
            raise RuntimeError("injected round fault")
        return real_send_due(self, limit)

    reports: list[SendRound] = []

    def on_round(result: SendRound) -> None:
        reports.append(result)
        raise RuntimeError("injected report fault")

    monkeypatch.setattr(OutboxSender, "send_due", send_due)
    errors: list[str] = []
    thread = SenderThread(sender, on_round=on_round, on_error=errors.append)
    thread.start()
    try:
        wait_until(lambda: len(receiver.accepted) == 6, state=lambda: (failed_rounds, errors))
        queue_notices(engine, orders=3, per_order=1, kind="delivered")
        thread.poke()
        wait_until(lambda: len(receiver.accepted) == 9, state=lambda: outbox_status(engine))
    finally:
        thread.stop()
        sender.session.close()
    assert thread._thread.is_alive() is False  # stopped by us, not by a fault
    assert failed_rounds == 2 and sum(r.sent for r in reports) == 9
    assert outbox_status(engine)["pending"] == 0 and receiver.problems == []
    assert errors == [
        "Sending customer notices failed (RuntimeError: injected round fault); customer notices are kept and "
        "Fleet Desk goes on sending.",
        "Reporting what the outbox sent failed (RuntimeError: injected report fault); customer notices are kept "
        "and Fleet Desk goes on sending."], errors
