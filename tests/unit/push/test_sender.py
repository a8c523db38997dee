"""Push: outbox rows in the tracking transaction, and a sender that survives a misbehaving real endpoint."""

from __future__ import annotations

import json
import stat
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet_desk.cli import main
from fleet_desk.clock import now_ms
from fleet_desk.push.endpoint import Endpoint, EndpointError, check_url, endpoint, store_secret
from fleet_desk.push.outbox import outbox_status, retry_dead
from fleet_desk.push.sender import _UPDATE, OutboxSender, SendRound
from fleet_desk.settings import Settings, config_dir
from fleet_desk.sim.day import DayTrouble
from fleet_desk.store import open_database
from fleet_desk.store.models import OrderEvent, OutboxEvent
from fleet_desk.store.server_clock import ServerClock
from tests.helpers.days import day_with_trouble
from tests.helpers.outbox import SECRET, queue_notices
from tests.helpers.receiver import VALIDATOR, Receiver


def _sender(engine, receiver: Receiver, **kw) -> OutboxSender:
    return OutboxSender(engine, Endpoint(receiver.url, "t0ken-0123456789", SECRET), timeout=(1.0, 0.5),
                        backoff_base_s=0.05, **kw)


def _drain(sender: OutboxSender, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while outbox_status(sender.engine)["pending"] and time.monotonic() < deadline:
        if not sender.send_due().attempted:
            time.sleep(0.05)


def test_replay_enqueue_writes_schema_valid_notices_in_order_without_customer_contact(tmp_path):
    day, manifest, log = day_with_trouble(tmp_path, 0, DayTrouble(late_departure_s=3600), stops=4, window_h=1.0)
    db = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["--db", db, "manifest", "import", str(manifest)]) == 0
    assert main(["--db", db, "replay", str(log), "--device", "u", "--vehicle", day.vehicle]) == 0
    engine = open_database(db)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(OutboxEvent)) == 0  # old days reach no customer
    assert main(["--db", db, "replay", str(log), "--device", "u2", "--vehicle", "Van 9"]) == 0  # no route: nothing
    db2 = f"sqlite:///{tmp_path / 'd2.db'}"
    assert main(["--db", db2, "manifest", "import", str(manifest)]) == 0
    assert main(["--db", db2, "replay", str(log), "--device", "u", "--vehicle", day.vehicle, "--enqueue"]) == 0
    engine.dispose()
    engine = open_database(db2)
    with Session(engine) as s:
        rows = list(s.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
        facing = s.scalar(select(func.count()).select_from(OrderEvent).where(OrderEvent.customer_facing))
    assert rows and len(rows) == facing  # one notice per customer-facing milestone
    kinds = {r.type for r in rows}
    assert {"out_for_delivery", "eta_updated", "delay_notice", "arriving_soon", "delivered"} <= kinds
    by_order: dict[str, list[int]] = {}
    for r in rows:
        doc = json.loads(r.body)
        assert not list(VALIDATOR.iter_errors(doc)), r.body
        assert "customer" not in doc and "Élodie" not in r.body  # contact stays home unless the setting says so
        assert doc["sequence"] == r.sequence and doc["event_id"] == r.event_id
        by_order.setdefault(r.order_id, []).append(r.sequence)
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_order.values())
    reasons = [json.loads(r.body)["delay"]["reason"] for r in rows if r.type == "delay_notice"]
    assert any("late departure from the depot" in reason for reason in reasons)
    engine.dispose()


def test_every_event_arrives_once_in_order_through_faults(engine, receiver):
    queue_notices(engine, orders=5, per_order=4)
    receiver.faults = ["500", "429:0.2", "drop", "slow:1.5", "503", "ok", "500", "drop"]
    sender = _sender(engine, receiver)
    _drain(sender)
    receiver.wait_idle()  # the slow answer's handler finishes after the client gave up on it and sent it again
    status = outbox_status(engine)
    assert status["pending"] == 0 and status["sent"] == 20 and status["dead"] == 0
    assert receiver.problems == []
    assert len(receiver.accepted) == 20 and all(n >= 1 for n in receiver.keys.values())
    assert any(n > 1 for n in receiver.keys.values())  # the slow answer was sent again, and accepted once
    for order in {d["order"]["order_id"] for d in receiver.accepted}:
        seqs = [d["sequence"] for d in receiver.accepted if d["order"]["order_id"] == order]
        assert seqs == sorted(seqs) == [1, 2, 3, 4]


def test_a_refused_event_is_a_dead_letter_with_the_answer_kept_and_can_be_retried(engine, receiver):
    queue_notices(engine, orders=1, per_order=1)
    receiver.faults = ["400"]
    sender = _sender(engine, receiver)
    _drain(sender)
    status = outbox_status(engine)
    assert status["dead"] == 1 and "HTTP 400" in status["last_error"]
    with Session(engine) as s:
        assert s.scalar(select(OutboxEvent.response_body)) == '{"error": "injected"}'
    assert retry_dead(engine) == 1
    _drain(sender)
    assert outbox_status(engine)["sent"] == 1 and len(receiver.accepted) == 1


def test_a_superseded_eta_update_is_not_sent_and_a_refused_connection_waits(engine, receiver):
    queue_notices(engine, orders=1, per_order=3, kind="eta_updated")
    down = OutboxSender(engine, Endpoint("http://127.0.0.1:9/events", None, SECRET), timeout=(0.5, 0.5),
                        backoff_base_s=0.05)
    result = down.send_due()
    assert result.superseded == 2 and result.retrying == 1 and "connection refused" in result.last_error
    assert outbox_status(engine)["pending"] == 1  # kept, not lost
    _drain(_sender(engine, receiver))  # once its backoff is over
    assert [d["sequence"] for d in receiver.accepted] == [3]


def test_endpoint_rules_https_keyring_and_environment(tmp_path, monkeypatch, capsys, no_keyring):
    assert check_url("http://127.0.0.1:8080/x") and check_url("http://localhost/x") and check_url("https://a.b/x")
    with pytest.raises(EndpointError, match="HTTPS is required"):
        check_url("http://tracking.example.com/events")
    assert main(["config", "set", "endpoint_url", "http://tracking.example.com/e"]) == 2
    assert "HTTPS is required" in capsys.readouterr().err
    settings = Settings(endpoint_url="https://tracking.example.com/e")
    # This machine has no OS keyring: the secret is refused unless the user opts in to a private file.
    with pytest.raises(EndpointError, match="no OS keyring"):
        store_secret("signing_secret", "abc-signing-key", settings)
    settings.allow_plaintext_secrets = True
    with pytest.raises(EndpointError, match="a signing_secret of 3 characters is too short; give at least 12"):
        store_secret("signing_secret", "abc", settings)  # masked wherever it appears, it would garble messages
    where = store_secret("signing_secret", "abc-signing-key", settings)
    path = config_dir() / "secrets.json"
    assert str(path) in where and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "abc-signing-key" not in json.dumps(Settings.load().__dict__)  # never in the settings file
    assert endpoint(settings).secret == "abc-signing-key" and "abc-signing-key" not in repr(endpoint(settings))
    monkeypatch.setenv("FLEET_DESK_SIGNING_SECRET", "from-env")
    monkeypatch.setenv("FLEET_DESK_ENDPOINT_URL", "http://127.0.0.1:1/e")
    assert endpoint(Settings()).secret == "from-env" and endpoint(Settings()).url == "http://127.0.0.1:1/e"
    path.unlink()


def test_ping_is_signed_and_status_reports(db_url, engine, receiver, capsys):
    code, _ = _sender(engine, receiver).ping()
    assert code == 200 and receiver.accepted[0]["type"] == "ping" and receiver.problems == []
    queue_notices(engine, orders=2, per_order=1)
    assert main(["--db", db_url, "outbox", "status", "--format", "json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["pending"] == 2 and status["sent"] == 0 and status["oldest_pending_age_s"] > 0


def test_the_sender_reads_time_as_the_database_server_does(engine):
    """A desk's clock five minutes slow: PostgreSQL's clock is read instead (the server here runs on this
    computer, so its clock is the right one); SQLite is on this computer, whose clock is the database's."""
    def slow() -> int:
        return now_ms() - 300_000

    read = ServerClock(engine, local=slow)()
    expected = now_ms() if engine.dialect.name == "postgresql" else slow()
    assert abs(read - expected) < 2_000, (read - now_ms()) / 1000


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_desk_whose_clock_is_behind_keeps_its_lease_from_a_desk_whose_clock_is_right(engine, receiver):
    """Desks on several machines: desk A's clock is five minutes slow. Its lease on the events it is sending
    must hold for desk B too, so B does not send them as well (read by each desk's own clock, A's lease had
    run out for B before it was taken)."""
    queue_notices(engine, orders=3, per_order=1)
    slow = _sender(engine, receiver, desk="desk-a", clock=ServerClock(engine, local=lambda: now_ms() - 300_000))
    with engine.connect() as conn:
        due = sorted(conn.scalars(select(OutboxEvent.id)))
    claimed = slow._claim(due)  # desk A has taken them and is about to send them
    assert [c.id for c in claimed] == due
    right = _sender(engine, receiver, desk="desk-b")
    assert right.send_due().attempted == 0 and receiver.accepted == []  # held by desk A: not B's to send
    for claim in claimed:  # A sends them: each reaches the endpoint once
        values = slow._attempt(claim, SendRound())
        with engine.begin() as conn:
            assert conn.execute(_UPDATE, values).rowcount == 1
    assert sorted(d["order"]["order_id"] for d in receiver.accepted) == ["O-0", "O-1", "O-2"]
    assert right.send_due().attempted == 0
