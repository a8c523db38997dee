"""The outbox listed for the command line: every event, or those in one state, newest first, with the desk
that sent, refused or holds it (`fleet-desk outbox list`).

States are said as the app says them: ``refused`` (stored as ``dead``: the endpoint refused it for good),
``retrying`` (pending, tried already), ``pending`` (waiting to go, retrying ones too, when filtering),
``sent`` and ``superseded``. Stored errors are read through `mask`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, and_, case, func, select

from fleet_desk.clock import now_ms
from fleet_desk.push.endpoint import mask
from fleet_desk.store.models import OutboxEvent

#: The states `listed` filters on, as the user names them.
STATES = ("pending", "retrying", "sent", "refused", "superseded")


def state_word(status: str, attempts: int) -> str:
    """A stored status as the user reads it: ``dead`` is ``refused``, a pending event tried already ``retrying``."""
    if status == "dead":
        return "refused"
    if status == "pending" and attempts:
        return "retrying"
    return status


@dataclass(frozen=True)
class ListedEvent:
    """One outbox event as `fleet-desk outbox list` prints it; ``state`` in the app's words, ``desk`` the one that
    sent or refused it, or holds it now (None: none recorded)."""

    id: int
    created_ms: int
    order_id: str
    type: str
    state: str
    attempts: int
    desk: str | None
    last_error: str | None


def listed(engine: Engine, state: str | None = None, limit: int = 50,
           now: int | None = None) -> tuple[list[ListedEvent], int]:
    """The newest ``limit`` events (in ``state``, one of `STATES`, if given), newest first, and how many there
    are in all."""
    if state is not None and state not in STATES:
        raise ValueError(f"not an outbox state: {state!r} (one of {', '.join(STATES)})")
    now = now if now is not None else now_ms()
    where = _where(state)
    holder = case((and_(OutboxEvent.status == "pending", OutboxEvent.claimed_until_ms >= now),
                   OutboxEvent.claimed_by), else_=OutboxEvent.sent_by)
    query = select(OutboxEvent.id, OutboxEvent.created_ms, OutboxEvent.order_id, OutboxEvent.type,
                   OutboxEvent.status, OutboxEvent.attempts, holder.label("desk"), OutboxEvent.last_error)
    counted = select(func.count()).select_from(OutboxEvent)
    if where is not None:
        query, counted = query.where(where), counted.where(where)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(OutboxEvent.id.desc()).limit(limit)).all()
        total = conn.execute(counted).scalar_one()
    return [ListedEvent(r.id, r.created_ms, r.order_id, r.type, state_word(r.status, r.attempts), r.attempts,
                        r.desk, mask(r.last_error) if r.last_error else None) for r in rows], total


def _where(state: str | None) -> ColumnElement[bool] | None:
    if state is None:
        return None
    if state == "retrying":
        return and_(OutboxEvent.status == "pending", OutboxEvent.attempts > 0)
    return OutboxEvent.status == ("dead" if state == "refused" else state)
