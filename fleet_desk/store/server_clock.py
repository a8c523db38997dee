"""The database server's clock, as desks sharing one database read it.

Desks lease outbox events (and units) by time: a lease runs "until" a moment every desk must read alike. Each
desk's own clock may be off by seconds, or by minutes on a machine without NTP; a desk whose clock runs ahead
would take over leases that have not run out, and send an event another desk is sending. So the sender reads
time as the server does: this computer's clock plus its offset from PostgreSQL's, measured again every minute.
SQLite lives on this computer: its clock is this one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from fleet_desk.clock import now_ms

log = logging.getLogger(__name__)

#: How often the offset is measured again.
REFRESH_S = 60.0
#: An offset worth telling the log about: leases (60 s) tolerate less than this many times over.
TELL_OFFSET_MS = 5_000
_SERVER_MS = text("SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)")


class ServerClock:
    """Callable like `fleet_desk.clock.now_ms`: milliseconds since the epoch on the database server's clock.

    ``local``: this computer's clock (a test gives one that is off). The offset is measured on first use and
    every `REFRESH_S`; a database that cannot be asked keeps the last offset (0 at first) and is asked again
    at the next refresh."""

    def __init__(self, engine: Engine, local: Callable[[], int] = now_ms, refresh_s: float = REFRESH_S) -> None:
        self.engine = engine
        self.local = local
        self.refresh_s = refresh_s
        self.offset_ms = 0
        self._next = 0.0 if engine.dialect.name == "postgresql" else float("inf")

    def __call__(self) -> int:
        """Milliseconds now on the server's clock: this computer's, corrected by the last offset measured."""
        if time.monotonic() >= self._next:
            self._measure()
        return self.local() + self.offset_ms

    def _measure(self) -> None:
        self._next = time.monotonic() + self.refresh_s
        try:
            before = self.local()
            with self.engine.connect() as conn:
                server = conn.scalar(_SERVER_MS)
            after = self.local()
        except SQLAlchemyError as exc:
            log.debug("the database's clock could not be read (%s); keeping an offset of %d ms", exc,
                      self.offset_ms)
            return
        offset = int(server) - (before + after) // 2
        if abs(offset) >= TELL_OFFSET_MS and abs(offset - self.offset_ms) >= TELL_OFFSET_MS:
            log.warning("this computer's clock is %.0f s %s the database server's; the outbox's leases follow "
                        "the server's (set this computer's time automatically to be safe)", abs(offset) / 1000,
                        "behind" if offset > 0 else "ahead of")
        self.offset_ms = offset
