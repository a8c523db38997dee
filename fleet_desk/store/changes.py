"""Changes announced: what was written, by kind and id, for every desk to wake on.

Each writer records what it changed in the transaction that changes it
(`record`): one `Change` row per thing changed (ids only: a vehicle for a
stored position, a stop, a route, an outbox event, a unit). On PostgreSQL the
same transaction also NOTIFYs channel ``fleet_desk`` with ``<kind>:<newest
change id>``, so a listening desk wakes when it commits (and not if it rolls
back). A `ChangeListener` reads on from the last change id it saw: a lost
announcement (a listener disconnected, a payload dropped) costs a moment, never
a change. SQLite has no NOTIFY: the listener polls the newest id, cheaply.

Stops, routes and units changed through an ORM session (a dispatcher's mark,
a manifest, a unit assigned) are recorded by the session's flush here
(`_record_flushed`); Core writers call `record` themselves.

On PostgreSQL ids are handed out when a row is inserted, not when it commits:
a transaction that began first may commit after a later one. The reader keeps
the ids it skipped over for a while (`GAP_WAIT_S`) and asks for them again, so
a slow transaction's changes are read when they land.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, delete, event, func, insert, or_, select, text
from sqlalchemy.orm import Session, UOWTransaction

from fleet_desk.clock import now_ms
from fleet_desk.settings import host_name
from fleet_desk.store.models import Change, Device, OutboxEvent, Route, Stop

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

KINDS = ("position", "stop", "route", "outbox", "unit")
#: The PostgreSQL channel every desk LISTENs on; a depot kept in a schema of its own (a server shared by
#: depots) announces on ``fleet_desk.<schema>``, so desks of one depot are not woken by another's.
CHANNEL = "fleet_desk"
_CHANNEL_SQL = (f"CASE WHEN current_schema() = 'public' THEN '{CHANNEL}' "
                f"ELSE '{CHANNEL}.' || current_schema() END")
#: How long change rows are kept (a desk away longer re-reads everything instead).
KEEP_MS = 24 * 3_600_000
#: Old rows are pruned by the writer whose change ids cross a multiple of this.
PRUNE_EVERY = 2000
#: At most this many old rows go per prune (the rest go at the next one), so no writer waits long.
PRUNE_MAX = 20_000
#: How long an id skipped over is asked for again (a transaction still open when a later one committed).
GAP_WAIT_S = 15.0
GAP_MAX = 5000
#: Rows read per query; a reader far behind reads page after page.
PAGE = 5000
#: On PostgreSQL the listener reads at most this often (as often as it polls SQLite): three desks storing 200
#: units' fixes each commit a dozen times a second, and one read covers what they announced meanwhile.
READ_GAP_S = 0.25
#: The key of a session's ``info`` naming the desk its flushes are recorded under (`desk_session`).
DESK_INFO = "fleet_desk.desk"


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """One recorded change: its id (they grow), what changed (kind and the id of the vehicle, stop, route,
    outbox event or unit), when and by which desk."""

    id: int
    kind: str
    ref_id: int
    at_ms: int
    desk: str | None


# -- writing -------------------------------------------------------------------------------------------------

_INSERT = insert(Change).returning(Change.id, Change.kind)


def record(conn: Connection, kind: str, ref_ids: Iterable[int], desk: str | None = None,
           at_ms: int | None = None) -> list[int]:
    """Record that ``ref_ids`` of ``kind`` changed, in the caller's transaction (and announce it on
    PostgreSQL when it commits); returns the change ids. The hook for every writer: call it on the
    connection that writes the change. ``desk``: the desk writing it (None: this computer's name,
    `host_name`, the ``desk_name`` setting's default; what the depot builds names its desk)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of change {kind!r} (one of {', '.join(KINDS)})")
    ids = sorted({int(i) for i in ref_ids if i is not None})
    if not ids:
        return []
    return record_many(conn, {kind: ids}, desk, at_ms)


def record_many(conn: Connection, changed: dict[str, Sequence[int]], desk: str | None = None,
                at_ms: int | None = None) -> list[int]:
    """`record` for several kinds at once (one INSERT, one NOTIFY per kind)."""
    stamp, who = at_ms if at_ms is not None else now_ms(), desk or host_name()
    rows = [{"kind": kind, "ref_id": ref, "at_ms": stamp, "desk": who}
            for kind, refs in changed.items() for ref in refs]
    if not rows:
        return []
    newest: dict[str, int] = {}
    change_ids: list[int] = []
    for change_id, kind in conn.execute(_INSERT, rows):
        change_ids.append(change_id)
        newest[kind] = max(newest.get(kind, 0), change_id)
    change_ids.sort()
    if conn.dialect.name == "postgresql":
        for kind, change_id in newest.items():
            conn.execute(text(f"SELECT pg_notify({_CHANNEL_SQL}, :payload)"), {"payload": f"{kind}:{change_id}"})
    top = max(change_ids)
    if top // PRUNE_EVERY != (top - len(change_ids)) // PRUNE_EVERY:
        prune(conn, stamp - KEEP_MS)
    return change_ids


def prune(conn: Connection, before_ms: int) -> int:
    """Change rows older than ``before_ms`` removed (at most `PRUNE_MAX`; the newest always stays, so ids keep
    growing on SQLite); rows another writer is pruning are skipped, never waited for. Returns how many."""
    newest = conn.execute(select(func.max(Change.id))).scalar()
    if newest is None:
        return 0
    old = (select(Change.id).where(Change.at_ms < before_ms, Change.id < newest).order_by(Change.id)
           .limit(PRUNE_MAX))
    if conn.dialect.name == "postgresql":
        old = old.with_for_update(skip_locked=True)
    return conn.execute(delete(Change).where(Change.id.in_(old.scalar_subquery()))).rowcount or 0


#: ORM classes whose rows a flush records, and as what.
_ORM_KINDS: tuple[tuple[type, str], ...] = ((Stop, "stop"), (Route, "route"), (Device, "unit"),
                                            (OutboxEvent, "outbox"))


def desk_session(engine: Engine, desk: str | None) -> Session:
    """A session whose flushes are recorded under ``desk`` (None: this computer's name, `host_name`)."""
    return Session(engine, info={DESK_INFO: desk} if desk else None)


@event.listens_for(Session, "after_flush")
def _record_flushed(session: Session, _context: UOWTransaction) -> None:
    """Stops, routes, units and outbox events an ORM session inserted, changed or deleted, recorded in the
    same transaction (a dispatcher's mark, a manifest, a unit assigned), under the session's desk
    (`desk_session`)."""
    changed: dict[str, set[int]] = {}
    for obj in (*session.new, *session.dirty, *session.deleted):
        for cls, kind in _ORM_KINDS:
            if isinstance(obj, cls):
                if obj in session.dirty and not session.is_modified(obj, include_collections=False):
                    break
                ref = getattr(obj, "id", None)
                if ref is not None:
                    changed.setdefault(kind, set()).add(ref)
                break
    if changed:
        record_many(session.connection(), {kind: sorted(refs) for kind, refs in changed.items()},
                    session.info.get(DESK_INFO))


# -- reading -------------------------------------------------------------------------------------------------

def latest_id(conn: Connection) -> int:
    """The newest change id (0: none yet)."""
    return int(conn.execute(select(func.max(Change.id))).scalar() or 0)


class ChangeCursor:
    """Where a reader is in the change log: the changes after the last one it read, and on PostgreSQL the ids
    it skipped over that may still commit (asked again for `GAP_WAIT_S`)."""

    def __init__(self, last_id: int = 0, track_gaps: bool = True) -> None:
        self.last_id = last_id
        self.track_gaps = track_gaps
        self._gaps: dict[int, float] = {}  # id -> when first missed (monotonic)

    @property
    def gaps(self) -> list[int]:
        """Ids skipped over that are still awaited."""
        return sorted(self._gaps)

    def read(self, conn: Connection, limit: int = PAGE) -> list[ChangeRow]:
        """The changes recorded since the last read, oldest first (at most ``limit`` new ones per call)."""
        now = time.monotonic()
        for gap in [g for g, since in self._gaps.items() if now - since > GAP_WAIT_S]:
            del self._gaps[gap]  # a rolled-back transaction's id: it will never commit
        newer = Change.id > self.last_id
        where = or_(newer, Change.id.in_(sorted(self._gaps))) if self._gaps else newer
        rows = conn.execute(
            select(Change.id, Change.kind, Change.ref_id, Change.at_ms, Change.desk)
            .where(where).order_by(Change.id).limit(limit + len(self._gaps))
        ).all()
        found = [ChangeRow(*row) for row in rows]
        for row in found:
            if row.id <= self.last_id:
                self._gaps.pop(row.id, None)
            else:
                if self.track_gaps:
                    for missing in range(self.last_id + 1, min(row.id, self.last_id + 1 + GAP_MAX)):
                        self._gaps.setdefault(missing, now)
                self.last_id = row.id
        if len(self._gaps) > GAP_MAX:  # a sequence jump, not transactions in flight
            for gap in sorted(self._gaps)[:len(self._gaps) - GAP_MAX]:
                del self._gaps[gap]
        return found


# -- listening -----------------------------------------------------------------------------------------------

Subscriber = Callable[[list[ChangeRow]], None]


class ChangeListener:
    """Wakes its subscribers with each batch of changes recorded on the database, whoever wrote them.

    On PostgreSQL a dedicated connection LISTENs on `CHANNEL` in a thread of
    its own; each announcement (or, at the latest, every ``safety_s``) the
    changes since the last id seen are read and handed to every subscriber,
    on the listener's thread. When that connection is lost the listener polls
    while it reconnects, then reads on from the last id it saw: nothing
    announced meanwhile is missed. On SQLite it polls every ``poll_s``.
    Subscribers get each change once, in id order.
    """

    def __init__(self, engine: Engine, poll_s: float = 0.25, safety_s: float = 5.0,
                 on_error: Callable[[str], None] | None = None, since_id: int | None = None,
                 gap_s: float = READ_GAP_S) -> None:
        """``since_id``: hand on the changes after this one (None: only those recorded after `start`).
        ``gap_s``: on PostgreSQL, reads at most this often however often changes are announced."""
        self.engine = engine
        self.poll_s = poll_s
        self.safety_s = safety_s
        self.gap_s = gap_s
        self.on_error = on_error or (lambda message: None)
        self.since_id = since_id
        self.postgres = engine.dialect.name == "postgresql"
        self.cursor = ChangeCursor(track_gaps=self.postgres)
        self.reconnects = 0
        self.backend_pid: int | None = None  # of the LISTENing connection (PostgreSQL)
        self.channel = CHANNEL  # the one it LISTENs on (PostgreSQL: the depot's schema's)
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None
        self._pg: psycopg.Connection[Any] | None = None
        self._failing = False

    # Control
    def subscribe(self, subscriber: Subscriber) -> None:
        """Hand each batch of changes to ``subscriber`` (called on the listener's thread)."""
        with self._lock:
            self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Hand no more batches to ``subscriber`` (one not subscribed is no error)."""
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    def start(self) -> None:
        """Note where the change log stands (what comes after is handed on) and start listening."""
        if self._thread is not None:
            return
        if self.since_id is not None:
            self.cursor.last_id = self.since_id
        else:
            with self.engine.connect() as conn:
                self.cursor.last_id = latest_id(conn)
        self._thread = threading.Thread(target=self._run, name="change-listener", daemon=True)
        self._thread.start()

    def wait_listening(self, timeout: float = 10.0) -> bool:
        """Whether the listener is listening (on PostgreSQL: its LISTEN is in place) within ``timeout``."""
        return self._listening.wait(timeout)

    def wake(self) -> None:
        """Read now (this process wrote something) instead of at the next poll or announcement."""
        self._wake.set()

    def stop(self) -> None:
        """Stop listening: wait for the listener's thread and close its PostgreSQL connection."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self._close_pg()

    @property
    def last_id(self) -> int:
        """The newest change handed on."""
        return self.cursor.last_id

    # The thread
    def _run(self) -> None:
        backoff = 0.5
        last_read = 0.0
        if not self.postgres:
            self._listening.set()
        while not self._stop.is_set():
            try:
                if self.postgres:
                    if self._pg is None:  # then read at once: what came before the LISTEN, or while away
                        self._connect()
                        backoff = 0.5
                    else:
                        self._wait_announcement()
                        self._stop.wait(max(0.0, self.gap_s - (time.monotonic() - last_read)))
                        self._drain()  # announced meanwhile: read below
                else:
                    self._wake.wait(self.poll_s)
                    self._wake.clear()
                if self._stop.is_set():
                    break
                last_read = time.monotonic()
                self._read_and_hand_on()
                if self._failing:
                    log.info("reading the database's changes again")
                    self._failing = False
            except Exception as exc:
                self._close_pg()
                if not self._failing:
                    log.warning("change listener: %s: %s", type(exc).__name__, str(exc).strip().splitlines()[0]
                                if str(exc).strip() else "", exc_info=log.isEnabledFor(logging.DEBUG))
                    self.on_error(f"Changes made at other desks are not reaching this one "
                                  f"({type(exc).__name__}: {_first_line(exc)}); retrying.")
                    self._failing = True
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                try:  # while the LISTEN connection is away, poll: nothing waits for its return
                    self._read_and_hand_on()
                except Exception:  # the database itself is away: said above, retried
                    log.debug("change poll failed", exc_info=True)

    def _connect(self) -> None:
        import psycopg
        from psycopg import sql

        args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
        kwargs.setdefault("connect_timeout", 5)
        kwargs.setdefault("application_name", f"fleet-desk changes {os.getpid()}")
        conn = psycopg.connect(*args, **kwargs, autocommit=True)
        row = conn.execute(f"SELECT {_CHANNEL_SQL}").fetchone()
        self.channel = row[0] if row else CHANNEL
        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        self._pg = conn
        self.backend_pid = conn.info.backend_pid
        if self._listening.is_set():
            self.reconnects += 1
            log.info("change listener connected again; reading on from change %d", self.cursor.last_id)
        self._listening.set()

    def _wait_announcement(self) -> None:
        """Until an announcement, a wake, a stop or ``safety_s``; then drain what else was announced."""
        conn = self._pg
        assert conn is not None
        deadline = time.monotonic() + self.safety_s
        while not self._stop.is_set() and not self._wake.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            got = False
            for _notify in conn.notifies(timeout=min(0.25, remaining), stop_after=1):
                got = True
            if got:
                self._drain()
                break
        self._wake.clear()

    def _drain(self) -> None:
        """Take what was already announced (one read covers it all)."""
        if self._pg is not None:
            for _notify in self._pg.notifies(timeout=0):
                pass

    def _read_and_hand_on(self) -> None:
        while True:
            with self.engine.connect() as conn:
                rows = self.cursor.read(conn)
            if rows:
                with self._lock:
                    subscribers = list(self._subscribers)
                for subscriber in subscribers:
                    try:
                        subscriber(rows)
                    except Exception:
                        log.exception("a change subscriber failed")
            if len(rows) < PAGE or self._stop.is_set():
                return

    def _close_pg(self) -> None:
        conn, self._pg = self._pg, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already gone
                log.debug("closing the LISTEN connection", exc_info=True)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def kinds_of(rows: Iterable[ChangeRow]) -> dict[str, set[int]]:
    """The refs changed, by kind."""
    found: dict[str, set[int]] = {}
    for row in rows:
        found.setdefault(row.kind, set()).add(row.ref_id)
    return found
