"""Draining the outbox to the tracking endpoint.

Per order, events go out in order: a later event waits while an earlier one
is pending. An ETA update superseded by a newer one for the same order before
it went out is not sent. 2xx: sent. 408, 429, 5xx, timeouts and connection
errors: retried with exponential backoff and jitter, honouring Retry-After.
Any other 4xx, and any 3xx: a dead letter, with the answer kept for the user
to see. A redirect is never followed: the body and its signature go only to
the configured URL (the one the HTTPS rule checked).
Every attempt carries the same Idempotency-Key and an HMAC of the exact body.
Each event's outcome is stored as soon as its answer arrives, so a sender
stopped mid-round sends again at most the one event that was in flight.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import requests
from sqlalchemy import Connection, Engine, Row, and_, bindparam, func, select, update

from fleet_desk.clock import now_ms
from fleet_desk.push.endpoint import Endpoint, shown
from fleet_desk.store.models import OutboxEvent
from fleet_desk.times import iso_z

log = logging.getLogger(__name__)

TIMEOUT = (3.05, 10.0)  # connect, read (seconds)
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 600.0
RETRYABLE = {408, 429}
BATCH = 200


def signature(secret: str, body: bytes) -> str:
    """The ``X-Fleet-Desk-Signature`` value: an HMAC-SHA256 of the exact body with the signing secret, so the
    endpoint can tell an event came from this depot unaltered."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def headers(endpoint: Endpoint, event_id: str, kind: str, body: bytes) -> dict[str, str]:
    """The headers of every attempt at one event: the same ``Idempotency-Key`` each time (so the endpoint keeps
    one copy of a retried event), the event type, the body's signature and the bearer token if there is one."""
    out = {
        "Content-Type": "application/json",
        "Idempotency-Key": event_id,
        "X-Fleet-Desk-Event": kind,
        "X-Fleet-Desk-Signature": signature(endpoint.secret, body),
        "User-Agent": "fleet-desk",
    }
    if endpoint.token:
        out["Authorization"] = f"Bearer {endpoint.token}"
    return out


def backoff_s(attempts: int, retry_after: str | None, rng: random.Random, base_s: float = BACKOFF_BASE_S) -> float:
    """Seconds to wait before the next attempt: the server's Retry-After if it gave one, else exponential."""
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(retry_after).timestamp() - time.time())
            except (TypeError, ValueError):
                pass
    return min(BACKOFF_MAX_S, base_s * 2 ** max(0, attempts - 1)) * rng.uniform(0.8, 1.2)


@dataclass
class SendRound:
    """What one round of `OutboxSender.send_due` did: events sent, left to retry, dead and superseded, with
    the last error and the endpoint's last refusal, so the user can be told why events are not going out."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0
    superseded: int = 0
    last_error: str | None = None
    refusal: str | None = None  # the endpoint's answer to the last event it refused

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.dead


@dataclass
class OutboxSender:
    """One round at a time: `send_due` sends what is due, in order per order."""

    engine: Engine
    endpoint: Endpoint
    clock: Callable[[], int] = now_ms
    session: requests.Session = field(default_factory=requests.Session)
    rng: random.Random = field(default_factory=random.Random)
    timeout: tuple[float, float] = TIMEOUT
    backoff_base_s: float = BACKOFF_BASE_S

    def send_due(self, limit: int = BATCH) -> SendRound:
        result = SendRound()
        now = self.clock()
        with self.engine.begin() as conn:
            result.superseded = _supersede(conn)
            first = (select(OutboxEvent.order_id, func.min(OutboxEvent.sequence).label("seq"))
                     .where(OutboxEvent.status == "pending").group_by(OutboxEvent.order_id).subquery())
            rows = conn.execute(
                select(OutboxEvent.id, OutboxEvent.event_id, OutboxEvent.type, OutboxEvent.body,
                       OutboxEvent.attempts)
                .join(first, and_(first.c.order_id == OutboxEvent.order_id, first.c.seq == OutboxEvent.sequence))
                .where(OutboxEvent.status == "pending", OutboxEvent.next_attempt_ms <= now)
                .order_by(OutboxEvent.id).limit(limit)
            ).all()
        for row in rows:
            values = self._attempt(row, result)
            with self.engine.begin() as conn:  # this event's outcome, before the next one goes
                conn.execute(_UPDATE, values)
        return result

    def _attempt(self, row: Row[int, str, str, str, int], result: SendRound) -> dict[str, Any]:
        body = row.body.encode()
        attempts = row.attempts + 1
        values = {"oid": row.id, "attempts": attempts, "status": "pending", "sent_ms": None,
                  "next_attempt_ms": 0, "last_error": None, "response_status": None, "response_body": None}
        target = self.endpoint
        try:
            response = self.session.post(target.url, data=body, timeout=self.timeout, allow_redirects=False,
                                         headers=headers(target, row.event_id, row.type, body))
        except requests.RequestException as exc:
            error = f"{target.shown} did not answer: {why(exc, self.timeout)}"
            retry_after = None
            status = None
            text = None
        else:
            status, text = response.status_code, target.scrub(response.text[:2000])
            if 200 <= status < 300:
                values.update(status="sent", sent_ms=self.clock(), response_status=status)
                result.sent += 1
                return values
            error = refusal(target, response) or f"HTTP {status} from {target.shown}: {_short(text)}"
            retry_after = response.headers.get("Retry-After")
            if 300 <= status < 400 or not (status in RETRYABLE or status >= 500):
                error = _stored(target, error)
                values.update(status="dead", last_error=error, response_status=status, response_body=text)
                result.dead += 1
                result.last_error = result.refusal = error
                log.warning("outbox event %s is a dead letter: %s", row.event_id, error)
                return values
        error = _stored(target, error)
        wait = backoff_s(attempts, retry_after, self.rng, self.backoff_base_s)
        values.update(next_attempt_ms=self.clock() + int(wait * 1000), last_error=error,
                      response_status=status, response_body=text)
        result.retrying += 1
        result.last_error = error
        log.info("outbox event %s not sent (%s); retry in %.0f s", row.event_id, error, wait)
        return values

    def ping(self) -> tuple[int, str]:
        return ping(self.endpoint, self.session, self.timeout, self.clock)


def ping(endpoint: Endpoint, session: requests.Session | None = None, timeout: tuple[float, float] = TIMEOUT,
         clock: Callable[[], int] = now_ms) -> tuple[int, str]:
    """A signed test event; returns the answer's status and text (raises `requests.RequestException` on none)."""
    event_id = str(uuid.uuid4())
    now = iso_z(clock())
    body = json.dumps({"schema_version": 1, "event_id": event_id, "type": "ping", "occurred_at": now,
                       "sequence": 0, "order": {"order_id": "ping", "tracking_number": "ping"},
                       "window": {"start": now, "end": now}},
                      separators=(",", ":"), sort_keys=True).encode()
    response = (session or requests).post(endpoint.url, data=body, timeout=timeout, allow_redirects=False,
                                          headers=headers(endpoint, event_id, "ping", body))
    return response.status_code, refusal(endpoint, response) or endpoint.scrub(response.text[:500])


def check_connection(endpoint: Endpoint) -> tuple[bool, str]:
    """Send a signed ping; (worked, what to tell the user)."""
    started = time.monotonic()
    try:
        code, text = ping(endpoint)
    except requests.RequestException as exc:
        return False, f"{endpoint.shown} did not answer: {why(exc, TIMEOUT)}"
    took = (time.monotonic() - started) * 1000
    if 200 <= code < 300:
        return True, f"{endpoint.shown} accepted a signed test event (HTTP {code}, {took:.0f} ms)"
    if 300 <= code < 400:
        return False, text
    hint = " (check the token and the signing secret)" if code in (401, 403) else ""
    return False, f"{endpoint.shown} answered HTTP {code}{hint}: {_short(text)}"


def refusal(endpoint: Endpoint, response: requests.Response) -> str | None:
    """What to tell the user about a redirect (which is never followed); None for any other answer."""
    if not 300 <= response.status_code < 400:
        return None
    location = response.headers.get("Location")
    where = shown(urljoin(endpoint.url, location)) if location else "nowhere (no Location)"
    return (f"HTTP {response.status_code} from {endpoint.shown}: redirected to {where}; not followed, a tracking "
            "event goes only to the configured URL (set endpoint_url to the new address if it moved)")


def why(exc: requests.RequestException, timeout: tuple[float, float]) -> str:
    """The root cause of a failed request in a few words (requests' own text is a paragraph quoting the URL)."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {timeout[0]:g} s"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout[1]:g} s"
    cause: BaseException = exc
    for _ in range(10):  # the innermost of urllib3's wrappers: refused, reset, no such host
        inner = cause.__cause__ or cause.__context__
        if inner is None:
            break
        cause = inner
    text = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    return _short(f"{type(exc).__name__}: {text}")


_UPDATE = (update(OutboxEvent).where(OutboxEvent.id == bindparam("oid"))
           .values({k: bindparam(k) for k in ("attempts", "status", "sent_ms", "next_attempt_ms", "last_error",
                                              "response_status", "response_body")}))


def _short(text: str) -> str:
    return " ".join(text.split())[:300]


def _stored(endpoint: Endpoint, error: str) -> str:
    """An error as the database keeps it: one line, no credentials, within the column's 500 characters."""
    return " ".join(endpoint.scrub(error).split())[:500]


def _supersede(conn: Connection) -> int:
    """Pending ETA updates with a newer pending ETA update for the same order are not sent."""
    newer = (select(OutboxEvent.order_id, func.max(OutboxEvent.sequence).label("seq"))
             .where(OutboxEvent.status == "pending", OutboxEvent.type == "eta_updated")
             .group_by(OutboxEvent.order_id).subquery())
    stale = select(OutboxEvent.id).join(newer, newer.c.order_id == OutboxEvent.order_id).where(
        OutboxEvent.status == "pending", OutboxEvent.type == "eta_updated", OutboxEvent.sequence < newer.c.seq)
    ids = [r[0] for r in conn.execute(stale)]
    if ids:
        conn.execute(update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(status="superseded"))
    return len(ids)


class SenderThread:
    """Sends while the app runs: `pause`/`resume`; `poke` to send now (new events stored, Retry now).

    When idle it looks for due events a few times a second, so events queued by
    another process on the same database (the CLI, another workstation) go out too.
    """

    IDLE_S = 0.25

    def __init__(self, sender: OutboxSender, on_round: Callable[[SendRound], None] | None = None):
        self.sender = sender
        self.on_round = on_round
        self.paused = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self.poke()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        # An answer still awaited is not waited for: its row stays pending and goes again, same key.
        if self._thread.ident is not None:  # started (a read-only desk never starts it)
            self._thread.join(1.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            result = SendRound()
            if not self.paused:
                try:
                    result = self.sender.send_due()
                except Exception as exc:
                    result.last_error = f"outbox: {exc}"
                    log.warning("outbox round failed: %s", exc)
                if self.on_round and (result.attempted or result.superseded or result.last_error):
                    self.on_round(result)
            if result.attempted == 0 or self.paused:
                self._wake.wait(self.IDLE_S)
                self._wake.clear()
