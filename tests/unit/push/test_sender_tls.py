"""A request that got no answer is said one way wherever the user reads it (`check_connection`, behind
`fleet-desk outbox ping` and the dialogs' Test connection, and the error the sender stores): a certificate this
computer does not trust, an address the certificate is not made out to, an expired one, an HTTPS URL to a server
without TLS, a refused port, an unknown host. Real servers on 127.0.0.1 (HTTPS with certificates made here)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fleet_desk.push.endpoint import Endpoint
from fleet_desk.push.outbox import outbox_rows
from fleet_desk.push.sender import OutboxSender, check_connection, headers
from tests.helpers.outbox import ENDPOINT_TOKEN, SECRET, queue_notices
from tests.helpers.receiver import Receiver
from tests.helpers.tls import expired, https_endpoint, self_signed

RAW = ("SSLError", "_ssl.c", "HTTPSConnectionPool", "CERTIFICATE_VERIFY_FAILED", "Caused by", "Errno")
UNTRUSTED = ("so nothing was sent. Ask the endpoint's owner for a certificate from a known authority (or, for the "
             "depot's own authority, name its certificate file in REQUESTS_CA_BUNDLE)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_untrusted_certificate_is_said_in_words_by_ping_and_by_the_stored_error(engine: Engine,
                                                                                   tmp_path: Path) -> None:
    with https_endpoint(*self_signed(tmp_path)) as server:
        target = Endpoint(server.url(), None, SECRET)
        worked, said = check_connection(target)
        queue_notices(engine, orders=1, per_order=1)
        result = OutboxSender(engine, target, timeout=(2.0, 2.0)).send_due()
    assert not worked and server.posts == []  # nothing went past the handshake
    assert said == f"{server.url()}: its certificate is not one this computer trusts (self-signed certificate), " \
                   f"{UNTRUSTED}", said
    assert not [raw for raw in RAW if raw in said]
    (row,) = outbox_rows(engine)
    assert result.retrying == 1 and row.status == "pending" and row.attempts == 1  # kept for a retry
    assert row.last_error == said == result.last_error  # one wording: the stored error is what ping says


def test_a_certificate_for_another_name_and_the_same_one_trusted_at_its_own(monkeypatch: pytest.MonkeyPatch,
                                                                            tmp_path: Path) -> None:
    with https_endpoint(*self_signed(tmp_path)) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server.cert))  # the depot's own authority, as the advice says
        worked, said = check_connection(Endpoint(server.url("127.0.0.1"), None, SECRET))
        assert not worked and said == (
            f"{server.url('127.0.0.1')}: its certificate is not one this computer trusts (IP address mismatch, "
            "certificate is not valid for '127.0.0.1'), so nothing was sent. Use the address the certificate is "
            "made out to"), said
        worked, said = check_connection(Endpoint(server.url("localhost"), None, SECRET))
        assert worked and said.startswith(f"{server.url('localhost')} accepted a signed test event (HTTP 200, "), said
        (post,) = server.posts
        assert post["X-Fleet-Desk-Signature"].startswith("sha256=") and post["X-Fleet-Desk-Event"] == "ping"


def test_an_expired_certificate_says_to_renew_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cert, key = expired(tmp_path)
    with https_endpoint(cert, key) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        worked, said = check_connection(Endpoint(server.url("localhost"), None, SECRET))
    assert not worked and said == (f"{server.url('localhost')}: its certificate is not one this computer trusts "
                                   "(certificate has expired), so nothing was sent. Ask the endpoint's owner to "
                                   "renew it"), said


def test_an_https_url_to_a_server_without_tls(receiver: Receiver) -> None:
    url = receiver.url.replace("http://", "https://")
    worked, said = check_connection(Endpoint(url, None, SECRET))
    assert not worked and said.startswith(f"{url}: a secure (HTTPS) connection could not be made (")
    assert said.endswith("), so nothing was sent. It does not speak HTTPS on that port: is its URL http://?"), said
    assert not [raw for raw in RAW if raw in said] and receiver.accepted == []


def test_a_refused_port_and_an_unknown_host_did_not_answer(engine: Engine) -> None:
    refused = f"http://127.0.0.1:{_free_port()}/hook"
    worked, said = check_connection(Endpoint(refused, None, SECRET))
    assert not worked and said == f"{refused} did not answer: connection refused (nothing listens on that port)"
    worked, said = check_connection(Endpoint("https://no-such-host.invalid/hook", None, SECRET))
    assert not worked and said.startswith("https://no-such-host.invalid/hook did not answer: host not found ("), said
    assert not [raw for raw in RAW if raw in said]


def test_a_missing_ca_bundle_is_said_and_the_event_waits(engine: Engine, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    """requests raises a bare OSError (no RequestException) when REQUESTS_CA_BUNDLE names no file."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "no-such-bundle.pem"))
    target = Endpoint("https://localhost:1/hook", None, SECRET)
    worked, said = check_connection(target)
    assert not worked and said.startswith("https://localhost:1/hook: nothing was sent (Could not find a suitable "
                                          "TLS CA certificate bundle"), said
    queue_notices(engine, orders=1, per_order=1)
    result = OutboxSender(engine, target, timeout=(1.0, 1.0)).send_due()
    (row,) = outbox_rows(engine)
    assert result.retrying == 1 and row.status == "pending" and row.last_error == said


def test_a_ping_without_a_secret_goes_unsigned_and_says_so(receiver: Receiver) -> None:
    worked, said = check_connection(Endpoint(receiver.url, ENDPOINT_TOKEN, ""))
    assert worked and said.startswith(f"{receiver.url} accepted an unsigned test event (HTTP 200"), said
    assert receiver.problems == ["bad signature"] and receiver.accepted[0]["type"] == "ping"
    assert "X-Fleet-Desk-Signature" not in headers(Endpoint(receiver.url, None, ""), "e", "ping", b"{}")
    assert "X-Fleet-Desk-Signature" in headers(Endpoint(receiver.url, None, SECRET), "e", "ping", b"{}")
    assert repr(Endpoint(receiver.url, None, "")).endswith("secret=none)")
