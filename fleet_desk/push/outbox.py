"""Reading the outbox: its state, its rows and one event in full (for the CLI and the app's monitor).

Stored errors and answers are read through `mask`: rows written before
credentials were masked on the way in show none either.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, or_, select, update

from fleet_desk.clock import now_ms
from fleet_desk.push.endpoint import mask
from fleet_desk.store.models import OutboxEvent

STATUSES = ("pending", "sent", "dead", "superseded")


def outbox_status(engine: Engine, now: int | None = None) -> dict:
    """Counts by status, the age of the oldest pending event, the last error, and by desk (`desks`)."""
    now = now or now_ms()
    with engine.connect() as conn:
        desks = desk_counts(conn, now)
        counts = dict(conn.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)).all())
        oldest = conn.execute(select(func.min(OutboxEvent.created_ms))
                              .where(OutboxEvent.status == "pending")).scalar()
        retrying = conn.execute(select(func.count()).where(OutboxEvent.status == "pending",
                                                           OutboxEvent.attempts > 0)).scalar()
        last_error = conn.execute(select(OutboxEvent.last_error).where(OutboxEvent.last_error.is_not(None))
                                  .order_by(OutboxEvent.id.desc()).limit(1)).scalar()
    return {"pending": counts.get("pending", 0), "sent": counts.get("sent", 0), "dead": counts.get("dead", 0),
            "superseded": counts.get("superseded", 0), "retrying": retrying,
            "oldest_pending_age_s": round((now - oldest) / 1000, 1) if oldest else None,
            "last_error": mask(last_error) if last_error else None, "desks": desks}


def desk_counts(conn: Connection, now: int) -> list[dict]:
    """Which desk sent what: per desk, the events it sent, the dead letters its attempt ended and the events it
    holds a claim on now (sending); desk None for events sent before desks were recorded. By name."""
    desks: dict[str | None, dict] = {}

    def entry(name: str | None) -> dict:
        return desks.setdefault(name, {"desk": name, "sent": 0, "dead": 0, "sending": 0})

    ended = conn.execute(select(OutboxEvent.sent_by, OutboxEvent.status, func.count())
                         .where(OutboxEvent.status.in_(("sent", "dead")))
                         .group_by(OutboxEvent.sent_by, OutboxEvent.status))
    for name, status, count in ended:
        entry(name)[status] = count
    held = conn.execute(select(OutboxEvent.claimed_by, func.count())
                        .where(OutboxEvent.status == "pending", OutboxEvent.claimed_until_ms >= now)
                        .group_by(OutboxEvent.claimed_by))
    for name, count in held:
        entry(name)["sending"] = count
    return sorted(desks.values(), key=lambda d: (d["desk"] is None, d["desk"] or ""))


def retry_dead(engine: Engine) -> int:
    """Dead letters back to pending (after the user fixed the cause); returns how many."""
    with engine.begin() as conn:
        return conn.execute(update(OutboxEvent).where(OutboxEvent.status == "dead")
                            .values(status="pending", next_attempt_ms=now_ms(), attempts=0)).rowcount


def retry_now(engine: Engine) -> int:
    """Pending events waiting out a backoff are due now; returns how many."""
    now = now_ms()
    with engine.begin() as conn:
        return conn.execute(update(OutboxEvent).where(OutboxEvent.status == "pending",
                                                      OutboxEvent.next_attempt_ms > now)
                            .values(next_attempt_ms=now)).rowcount


@dataclass(frozen=True)
class OutboxRow:
    """One event in the outbox as the outbox listings show it: which order and milestone, where it stands,
    how often it was tried and the last error (masked)."""

    id: int
    created_ms: int
    order_id: str
    sequence: int
    type: str
    status: str
    attempts: int
    next_attempt_ms: int
    sent_ms: int | None
    last_error: str | None


def outbox_rows(engine: Engine, status: str | None = None, limit: int = 500) -> list[OutboxRow]:
    """The newest ``limit`` events (of one ``status`` if given), newest first."""
    return _rows(engine, OutboxEvent.status == status if status else None, limit)


def needing_attention(engine: Engine, limit: int = 20) -> list[OutboxRow]:
    """The newest ``limit`` events someone should look at: dead letters, and pending events tried already (the
    endpoint refused them for now or did not answer), newest first."""
    tried = and_(OutboxEvent.status == "pending", OutboxEvent.attempts > 0)
    return _rows(engine, or_(OutboxEvent.status == "dead", tried), limit)


def _rows(engine: Engine, where: ColumnElement[bool] | None, limit: int) -> list[OutboxRow]:
    query = select(OutboxEvent.id, OutboxEvent.created_ms, OutboxEvent.order_id, OutboxEvent.sequence,
                   OutboxEvent.type, OutboxEvent.status, OutboxEvent.attempts, OutboxEvent.next_attempt_ms,
                   OutboxEvent.sent_ms, OutboxEvent.last_error)
    if where is not None:
        query = query.where(where)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(OutboxEvent.id.desc()).limit(limit)).all()
    return [OutboxRow(r.id, r.created_ms, r.order_id, r.sequence, r.type, r.status, r.attempts, r.next_attempt_ms,
                      r.sent_ms, mask(r.last_error) if r.last_error else None) for r in rows]


def outbox_event(engine: Engine, event: int | str) -> dict | None:
    """One event with its exact body and the endpoint's last answer, by its row id or (a string) its UUID, as
    the sender's messages name it; None if there is no such event."""
    key = OutboxEvent.event_id if isinstance(event, str) else OutboxEvent.id
    with engine.connect() as conn:
        row = conn.execute(select(OutboxEvent).where(key == event)).mappings().first()
    if row is None:
        return None
    return {**row, **{k: mask(row[k]) for k in ("last_error", "response_body") if row[k]}}


def summary(status: dict, paused: bool = False, problem: str | None = None) -> str:
    """The outbox in a few words, for the status bar."""
    pending, dead = status.get("pending", 0), status.get("dead", 0)
    parts = [f"{pending} waiting" if pending else "all sent"]
    if dead:
        parts.append(f"{dead} refused")
    text = "Outbox: " + ", ".join(parts)
    if problem:
        return f"{text} (not sending: {problem})"
    if paused:
        return f"{text} (paused)"
    if status.get("retrying"):
        return f"{text} (endpoint not answering, retrying)"
    return text
