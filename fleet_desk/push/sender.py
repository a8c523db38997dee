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

Any number of desks may drain one outbox: a sender claims what it sends. A
round reads the due events, then takes them a few at a time with a lease (claimed_by, the desk's name;
claimed_until_ms) in a short transaction committed before any HTTP call; on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so desks never wait on each other
and no row lock is held across a request; on SQLite the single writer does it.
An event is claimed only while no earlier event of its order is pending (sent
or claimed elsewhere), so per-order order holds across desks. An outcome is
written only while the claim is still this sender's, with the desk that ended
it (sent_by). A desk that dies mid-send keeps its events until its lease runs
out; then another desk sends them, with the same Idempotency-Key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import random
import re
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import requests
from sqlalchemy import Connection, Engine, and_, bindparam, exists, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from fleet_desk import messages
from fleet_desk.clock import now_ms
from fleet_desk.messages import Troubles
from fleet_desk.push.endpoint import Endpoint, shown
from fleet_desk.settings import host_name
from fleet_desk.store import changes
from fleet_desk.store.models import OutboxEvent
from fleet_desk.store.server_clock import ServerClock
from fleet_desk.times import iso_z

log = logging.getLogger(__name__)

TIMEOUT = (3.05, 10.0)  # connect, read (seconds)
BACKOFF_BASE_S = 2.0
BACKOFF_MAX_S = 600.0
RETRYABLE = {408, 429}
BATCH = 200
_CARRY_ON = "customer notices are kept and Fleet Desk goes on sending"  # said after a failed round
LEASE_S = 60.0  # a claim's lease: several times the longest attempt (connect + read timeouts)
LEASE_ENV = "FLEET_DESK_OUTBOX_LEASE_S"  # a shorter lease (tests of a desk that died mid-send)
CLAIM = 10  # events claimed at a time, so several desks share a round's events


def default_lease_s() -> float:
    """The lease on claimed events: ``FLEET_DESK_OUTBOX_LEASE_S`` if set to a positive number, else 60 s."""
    try:
        lease = float(os.environ.get(LEASE_ENV, ""))
    except ValueError:
        return LEASE_S
    return lease if lease > 0 else LEASE_S


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
        "User-Agent": "fleet-desk",
    }
    if endpoint.secret:  # none only for a ping without one (an endpoint without a secret sends no event)
        out["X-Fleet-Desk-Signature"] = signature(endpoint.secret, body)
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
        """Events that went to the endpoint this round, whatever it answered (superseded ones never went)."""
        return self.sent + self.retrying + self.dead


@dataclass(frozen=True)
class Claim:
    """An event this sender claimed: what it sends, and its lease (``until``: the claim is ours while
    claimed_by is our desk and claimed_until_ms is this)."""

    id: int
    event_id: str
    type: str
    body: str
    attempts: int
    until: int


@dataclass
class OutboxSender:
    """One round at a time: `send_due` claims what is due, a few events at a time, and sends it, in order per
    order; ``desk`` is the name its claims and sends are recorded under (the ``desk_name`` setting)."""

    engine: Engine
    endpoint: Endpoint
    #: The time leases are taken and checked by: the database server's (`ServerClock`) unless given.
    clock: Callable[[], int] | None = None
    session: requests.Session = field(default_factory=requests.Session)
    rng: random.Random = field(default_factory=random.Random)
    timeout: tuple[float, float] = TIMEOUT
    backoff_base_s: float = BACKOFF_BASE_S
    desk: str = field(default_factory=host_name)
    lease_s: float = field(default_factory=default_lease_s)
    claim_size: int = CLAIM

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = ServerClock(self.engine)

    def now(self) -> int:
        """The time now, as the leases read it."""
        assert self.clock is not None  # (set in __post_init__)
        return self.clock()

    def send_due(self, limit: int = BATCH) -> SendRound:
        """Send up to ``limit`` due events, the first waiting of each order, each once; what became of them."""
        result = SendRound()
        now = self.now()
        with self.engine.begin() as conn:
            result.superseded = _supersede(conn, now, self.desk)
            due = [r[0] for r in conn.execute(_first_due(now).limit(limit))]  # a read: an idle desk writes nothing
        while due:
            claims = self._claim(due)
            if not claims:
                break
            due = [i for i in due if i > claims[-1].id]  # the ones passed over are another desk's now
            left = list(claims)
            try:
                while left:
                    claim = self._keep(left.pop(0))
                    if claim is None:
                        continue
                    values = self._attempt(claim, result)
                    with self.engine.begin() as conn:  # this event's outcome, before the next one goes
                        if not conn.execute(_UPDATE, values).rowcount:
                            log.info("outbox event %s: its claim ran out while it was sent; another desk has "
                                     "it now", claim.event_id)
                        else:
                            changes.record(conn, "outbox", [claim.id], self.desk)
            finally:
                if left:  # not sent after all (the round failed): back to the queue now, not when the lease ends
                    self._release(left)
        return result

    def _claim(self, due: list[int]) -> list[Claim]:
        """Claim the first `claim_size` of the ``due`` events still due, held by no other desk and with no
        earlier event of their order pending, in a short transaction of its own (committed before anything is
        sent); by id."""
        now = self.now()
        until = now + int(self.lease_s * 1000)
        chosen = (_still_due(now).where(_CANDIDATE.id.in_(due)).order_by(_CANDIDATE.id).limit(self.claim_size)
                  .with_for_update(skip_locked=True))
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(OutboxEvent).where(OutboxEvent.id.in_(chosen.scalar_subquery()))
                .values(claimed_by=self.desk, claimed_until_ms=until)
                .returning(OutboxEvent.id, OutboxEvent.event_id, OutboxEvent.type, OutboxEvent.body,
                           OutboxEvent.attempts)).all()
        return sorted((Claim(r.id, r.event_id, r.type, r.body, r.attempts, until) for r in rows),
                      key=lambda c: c.id)

    def _keep(self, claim: Claim) -> Claim | None:
        """The claim, its lease renewed if less than half is left (so it outlasts the attempt); None if it is
        no longer ours."""
        now = self.now()
        if claim.until - now >= self.lease_s * 500:
            return claim
        until = now + int(self.lease_s * 1000)
        with self.engine.begin() as conn:
            kept = conn.execute(update(OutboxEvent).where(*_ours(claim, self.desk), OutboxEvent.status == "pending")
                                .values(claimed_until_ms=until)).rowcount
        if not kept:
            log.info("outbox event %s: its claim ran out before it was sent; another desk has it", claim.event_id)
            return None
        return Claim(claim.id, claim.event_id, claim.type, claim.body, claim.attempts, until)

    def _release(self, claims: list[Claim]) -> None:
        try:
            with self.engine.begin() as conn:
                for claim in claims:
                    conn.execute(update(OutboxEvent).where(*_ours(claim, self.desk))
                                 .values(claimed_by=None, claimed_until_ms=None))
        except SQLAlchemyError as exc:  # the database went away: the leases run out instead
            log.info("outbox claims not released (%s); they run out in %.0f s", exc, self.lease_s)

    def _attempt(self, row: Claim, result: SendRound) -> dict[str, Any]:
        body = row.body.encode()
        attempts = row.attempts + 1
        values = {"oid": row.id, "claim_desk": self.desk, "claim_until": row.until, "attempts": attempts,
                  "status": "pending", "sent_ms": None, "next_attempt_ms": 0, "last_error": None,
                  "response_status": None, "response_body": None, "sent_by": None}
        target = self.endpoint
        try:
            response = self.session.post(target.url, data=body, timeout=self.timeout, allow_redirects=False,
                                         headers=headers(target, row.event_id, row.type, body))
        except OSError as exc:  # requests' errors, and its OSError for a CA bundle file that is not there
            error = not_sent(target, exc, self.timeout)
            retry_after = None
            status = None
            text = None
        else:
            status, text = response.status_code, target.scrub(response.text[:2000])
            if 200 <= status < 300:
                values.update(status="sent", sent_ms=self.now(), response_status=status, sent_by=self.desk)
                result.sent += 1
                return values
            error = refusal(target, response) or f"HTTP {status} from {target.shown}: {_short(text)}"
            retry_after = response.headers.get("Retry-After")
            if 300 <= status < 400 or not (status in RETRYABLE or status >= 500):
                error = _stored(target, error)
                values.update(status="dead", last_error=error, response_status=status, response_body=text,
                              sent_by=self.desk)
                result.dead += 1
                result.last_error = result.refusal = error
                log.warning("outbox event %s was refused (kept, not retried; fleet-desk outbox show %s): %s",
                            row.event_id, row.id, error)
                return values
        error = _stored(target, error)
        wait = backoff_s(attempts, retry_after, self.rng, self.backoff_base_s)
        values.update(next_attempt_ms=self.now() + int(wait * 1000), last_error=error,
                      response_status=status, response_body=text)
        result.retrying += 1
        result.last_error = error
        log.info("outbox event %s not sent (%s); retry in %.0f s", row.event_id, error, wait)
        return values

    def ping(self) -> tuple[int, str]:
        """Send the endpoint a signed test event; its answer's status and text."""
        return ping(self.endpoint, self.session, self.timeout, self.now)


def ping(endpoint: Endpoint, session: requests.Session | None = None, timeout: tuple[float, float] = TIMEOUT,
         clock: Callable[[], int] = now_ms) -> tuple[int, str]:
    """A signed test event; returns the answer's status and text (raises `requests.RequestException`, an
    `OSError`, on none)."""
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
    """Send a signed ping (unsigned if the endpoint has no secret); (worked, what to tell the user), worded as
    the sender's stored errors are (`not_sent`)."""
    started = time.monotonic()
    try:
        code, text = ping(endpoint)
    except OSError as exc:
        return False, not_sent(endpoint, exc, TIMEOUT)
    took = (time.monotonic() - started) * 1000
    if 200 <= code < 300:
        signed = "a signed" if endpoint.secret else "an unsigned"
        return True, f"{endpoint.shown} accepted {signed} test event (HTTP {code}, {took:.0f} ms)"
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


def not_sent(endpoint: Endpoint, exc: OSError, timeout: tuple[float, float]) -> str:
    """A request that got no answer, as the user reads it wherever it is said (a stored error, the outbox
    monitor, `fleet-desk outbox ping`, Settings' Test connection): "<URL> did not answer: <why>", or, when the
    endpoint answered but its certificate is not trusted or no secure connection could be made, what to do."""
    if not isinstance(exc, requests.RequestException):  # not tried: e.g. REQUESTS_CA_BUNDLE names no file
        return f"{endpoint.shown}: nothing was sent ({_short(str(exc))})"
    secure = tls_words(exc)
    if secure:
        return f"{endpoint.shown}: {secure}"
    return f"{endpoint.shown} did not answer: {why(exc, timeout)}"


#: Certificate checks that failed and what the user can do about each (OpenSSL's X509_V_ERR_* codes).
_CERT_ADVICE = {
    62: "Use the address the certificate is made out to",  # hostname mismatch
    64: "Use the address the certificate is made out to",  # IP address mismatch
    10: "Ask the endpoint's owner to renew it",  # expired
    9: "Check this computer's date and time",  # not yet valid
}
_TRUST_ADVICE = ("Ask the endpoint's owner for a certificate from a known authority (or, for the depot's own "
                 "authority, name its certificate file in REQUESTS_CA_BUNDLE)")
_NOT_TLS = {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE"}
_OPENSSL_TEXT = re.compile(r"^\[[^\]]*\]\s*|\s*\(_ssl\.c:\d+\)$")


def tls_words(exc: BaseException) -> str | None:
    """A failed secure (HTTPS) connection in words the user can act on, or None when ``exc`` is no TLS failure:
    requests' own text is "HTTPSConnectionPool(...) (Caused by SSLError(SSLCertVerificationError(1, '[SSL:
    CERTIFICATE_VERIFY_FAILED] ... (_ssl.c:1000)')))"."""
    for cause in _causes(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = (cause.verify_message or "").strip().rstrip(".") or "the check failed"
            if reason[1:2].islower():  # "Hostname mismatch" within a sentence; "IP address mismatch" as it is
                reason = reason[0].lower() + reason[1:]
            advice = _CERT_ADVICE.get(cause.verify_code, _TRUST_ADVICE)
            return f"its certificate is not one this computer trusts ({reason}), so nothing was sent. {advice}"
        if isinstance(cause, ssl.SSLError):
            reason = _OPENSSL_TEXT.sub("", str(cause.args[1] if len(cause.args) > 1 else cause)) or "no reason given"
            hint = ". It does not speak HTTPS on that port: is its URL http://?" if cause.reason in _NOT_TLS else ""
            return f"a secure (HTTPS) connection could not be made ({reason}), so nothing was sent{hint}"
    return None


def why(exc: OSError, timeout: tuple[float, float]) -> str:
    """The root cause of a failed request in a few words (requests' own text is a paragraph quoting the URL)."""
    if isinstance(exc, requests.ConnectTimeout):
        return f"no connection within {timeout[0]:g} s"
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout[1]:g} s"
    cause = _causes(exc)[-1]  # the innermost of urllib3's wrappers: refused, reset, no such host
    text = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    if isinstance(cause, socket.gaierror):
        return _short(f"host not found ({text})")
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused (nothing listens on that port)"
    return _short(f"{type(exc).__name__}: {text}")


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from, outermost first (urllib3 wraps the socket's or TLS's error twice)."""
    chain = [exc]
    for _ in range(10):
        inner = chain[-1].__cause__ or chain[-1].__context__
        if inner is None or inner in chain:
            break
        chain.append(inner)
    return chain


_CANDIDATE = aliased(OutboxEvent)
_EARLIER = aliased(OutboxEvent)

_UPDATE = (update(OutboxEvent)
           .where(OutboxEvent.id == bindparam("oid"), OutboxEvent.claimed_by == bindparam("claim_desk"),
                  OutboxEvent.claimed_until_ms == bindparam("claim_until"))
           .values({k: bindparam(k) for k in ("attempts", "status", "sent_ms", "next_attempt_ms", "last_error",
                                              "response_status", "response_body", "sent_by")}
                   | {"claimed_by": None, "claimed_until_ms": None}))


def _unclaimed(table: Any, now: int) -> Any:
    """No desk holds the event: never claimed, released, or its lease ran out."""
    return (table.claimed_until_ms.is_(None)) | (table.claimed_until_ms < now)


def _first_due(now: int) -> Any:
    """The first pending event of each order, if it is due and no desk holds it, by id (one pass over the
    pending events: what a round may send)."""
    first = (select(OutboxEvent.order_id, func.min(OutboxEvent.sequence).label("seq"))
             .where(OutboxEvent.status == "pending").group_by(OutboxEvent.order_id).subquery())
    return (select(OutboxEvent.id)
            .join(first, and_(first.c.order_id == OutboxEvent.order_id, first.c.seq == OutboxEvent.sequence))
            .where(OutboxEvent.status == "pending", OutboxEvent.next_attempt_ms <= now, _unclaimed(OutboxEvent, now))
            .order_by(OutboxEvent.id))


def _still_due(now: int) -> Any:
    """`_first_due`'s conditions again, row by row, as the claim takes them (other desks may have claimed or
    sent them since, or a dead letter gone back in the queue)."""
    earlier = exists().where(_EARLIER.order_id == _CANDIDATE.order_id, _EARLIER.status == "pending",
                             _EARLIER.sequence < _CANDIDATE.sequence)
    return select(_CANDIDATE.id).where(_CANDIDATE.status == "pending", _CANDIDATE.next_attempt_ms <= now,
                                       _unclaimed(_CANDIDATE, now), ~earlier)


def _ours(claim: Claim, desk: str) -> tuple[Any, ...]:
    """The claim is still this desk's: the lease it took (or last renewed), not one taken since."""
    return OutboxEvent.id == claim.id, OutboxEvent.claimed_by == desk, OutboxEvent.claimed_until_ms == claim.until


def _short(text: str) -> str:
    return " ".join(text.split())[:300]


def _stored(endpoint: Endpoint, error: str) -> str:
    """An error as the database keeps it: one line, no credentials, within the column's 500 characters."""
    return " ".join(endpoint.scrub(error).split())[:500]


def _supersede(conn: Connection, now: int, desk: str) -> int:
    """Pending ETA updates with a newer pending ETA update for the same order are not sent (one that a desk is
    sending now is left to it); ``desk``: the one doing it."""
    newer = aliased(OutboxEvent)
    stale = select(_CANDIDATE.id).where(
        _CANDIDATE.status == "pending", _CANDIDATE.type == "eta_updated", _unclaimed(_CANDIDATE, now),
        exists().where(newer.order_id == _CANDIDATE.order_id, newer.status == "pending",
                       newer.type == "eta_updated", newer.sequence > _CANDIDATE.sequence))
    if conn.execute(stale.limit(1)).first() is None:  # a read first: an idle desk writes nothing
        return 0
    locked = stale.with_for_update(skip_locked=True).scalar_subquery()
    ids = conn.scalars(update(OutboxEvent).where(OutboxEvent.id.in_(locked)).values(status="superseded")
                       .returning(OutboxEvent.id)).all()
    changes.record(conn, "outbox", ids, desk)
    return len(ids)


class SenderThread:
    """Sends while the app runs: `pause`/`resume`; `poke` to send now (new events stored, Retry now).

    When idle it looks for due events a few times a second, so events queued by
    another process on the same database (the CLI, another workstation) go out too.

    It supervises itself: a round that fails, or an ``on_round`` that raises, is logged, told once through
    ``on_error`` (the message bar by default; again only after things went well in between), and sending
    goes on.
    """

    IDLE_S = 0.25

    def __init__(self, sender: OutboxSender, on_round: Callable[[SendRound], None] | None = None,
                 on_error: Callable[[str], None] | None = None):
        self.sender = sender
        self.on_round = on_round
        self.on_error = on_error or messages.warning
        self.paused = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
        self._troubles = Troubles(log, self.on_error)  # "round", "report"

    def start(self) -> None:
        """Start sending in the background: due events go out until `stop`, paused while `pause` holds."""
        self._thread.start()

    def poke(self) -> None:
        """Send now instead of at the next look (new events stored, Retry now)."""
        self._wake.set()

    def pause(self) -> None:
        """Hold sending until `resume`; events keep queueing in the outbox."""
        self.paused = True

    def resume(self) -> None:
        """Carry on sending after `pause`, beginning at once."""
        self.paused = False
        self.poke()

    def stop(self) -> None:
        """Stop sending; an event still awaiting its answer stays pending and goes again, with the same key."""
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
                    self._troubles.failed("round", exc, "Sending customer notices failed", _CARRY_ON)
                else:
                    self._troubles.recovered("round")
                if self.on_round and (result.attempted or result.superseded or result.last_error):
                    try:
                        self.on_round(result)
                    except Exception as exc:  # the report's fault, not the round's: what was sent stays sent
                        self._troubles.failed("report", exc, "Reporting what the outbox sent failed", _CARRY_ON)
                    else:
                        self._troubles.recovered("report")
            if result.attempted == 0 or self.paused:
                self._wake.wait(self.IDLE_S)
                self._wake.clear()
