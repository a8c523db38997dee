"""Live ingestion: many units read in their own threads, one writer.

Reader threads (one per unit, in `drivers`) only move bytes; a single
ingest thread decodes each unit's stream and stores its fixes four times a
second in batches, so 500 units cost four transactions a second, not
thousands, and a fix reaches the tracker within a quarter second.

On a database several desks share, a unit is read by one desk: opening it
claims it for this desk (`fleet_desk.store.units.claim_unit`), the ingest
thread renews the claims every few seconds, and a unit another desk reads is
not opened here but waits, told in one line ("read by desk-2 since 07:02");
it is opened here once that desk goes quiet (its claim not renewed for half
a minute) or when the user takes it over (`take_over`). Stopping releases
this desk's claims.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from drivers.base import UnitStatus
from drivers.hub import PortHub
from drivers.nmea import NmeaUnit
from fleet_desk.clock import now_ms
from fleet_desk.gps import DecodeStats, Fix, NmeaDecoder
from fleet_desk.ingest.pipeline import FixPipeline, RateMeter
from fleet_desk.store import DeviceRef, PositionWriter, ensure_device
from fleet_desk.store.server_clock import ServerClock
from fleet_desk.store.units import (
    HEARTBEAT_S,
    Claim,
    claim_free_units,
    claim_text,
    claim_unit,
    keep_claims,
    release_unit,
)
from fleet_desk.tracking.tracker import RouteTracker

FLUSH_SECONDS = 0.25  # a fix is stored (and its customer events queued) within this of arriving
QUIET_SECONDS = 0.1  # a unit silent this long has finished saying its epoch
ROLLOVER_GUARD_DAYS = 365

log = logging.getLogger(__name__)

OnFixes = Callable[[DeviceRef, list[Fix]], None]
OnUnitStatus = Callable[[DeviceRef, UnitStatus], None]


@dataclass
class _Feed:
    device: DeviceRef
    unit: NmeaUnit
    pipeline: FixPipeline
    rate: RateMeter = field(default_factory=RateMeter)
    last_data: float = 0.0  # monotonic time the unit last sent bytes
    #: Whether the user was told this unit's data made something go wrong that decoding did not expect.
    told: bool = False


SWEEP_SECONDS = 30.0


class LiveIngest:
    """Runs live units until `stop`; errors never stop the other units."""

    def __init__(self, engine: Engine, tracker: RouteTracker, on_fixes: OnFixes | None = None,
                 on_status: OnUnitStatus | None = None, on_error: Callable[[str], None] | None = None,
                 desk: str | None = None):
        """``tracker``: the desk's live tracker; every unit's fixes go through it as they are stored.
        ``desk``: the name this desk claims units with and stores under (default: the tracker's, the depot's
        ``desk_name``)."""
        self.engine = engine
        self.desk = desk or tracker.desk
        #: The time claims are stamped and judged by: the database server's, which every desk reads alike.
        self.claims_clock = ServerClock(engine)
        #: Units another desk reads: port -> (device, vehicle, baud), opened here when that desk goes quiet.
        self._waiting: dict[str, tuple[str, str | None, int | None]] = {}
        self.tracker = tracker
        self.on_fixes = on_fixes
        self.on_status = on_status
        self.on_error = on_error or (lambda message: None)
        self._feeds: dict[str, _Feed] = {}
        self._retiring: list[_Feed] = []
        self._queue: queue.SimpleQueue[tuple[str, bytes] | None] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="live-ingest", daemon=True)
        self._stopping = False
        self._lock = threading.Lock()
        #: One thread reads every unit's port (see `drivers.hub`); made on the first unit, closed on `stop`.
        self._hub = PortHub()
        self._told_waiting: set[str] = set()  # desks whose units wait here, already said

    def start(self) -> None:
        """Start the thread that decodes and stores what the units send (all units' fixes once a second)."""
        self._worker.start()

    def add_unit(self, port: str, device: str, vehicle: str | None = None, baud: int | None = None,
                 take_over: bool = False) -> DeviceRef:
        """Read the unit on ``port`` live, claimed for this desk; when another desk reads it (and said so
        lately) it is not opened but waits, and `on_error` says who reads it. ``take_over``: claim it whatever
        the other desk says (that desk stops reading it within a few seconds)."""
        ref = ensure_device(self.engine, device, vehicle, port=port, desk=self.desk)
        held = claim_unit(self.engine, ref.name, self.desk, self.claims_clock(), take_over=take_over)
        if held is not None:
            with self._lock:
                self._waiting[port] = (device, vehicle, baud)
                first = held.desk not in self._told_waiting  # one line per desk, not one per unit (a desk may
                self._told_waiting.add(held.desk)  # read hundreds)
            if first:
                self.on_error(f"{ref.name} ({port}): {claim_text(held, self.claims_clock())}; not opened here (it "
                              f"will be when that desk goes quiet, or take it over), nor any other unit {held.desk} "
                              "reads (Tools > GPS units lists them)")
            return ref
        with self._lock:
            self._waiting.pop(port, None)
        return self._open(ref, port, baud)

    def take_over(self, port: str) -> DeviceRef | None:
        """Read the waiting unit on ``port`` here now, whatever the desk reading it says; None: none waits."""
        with self._lock:
            waiting = self._waiting.get(port)
        if waiting is None:
            return None
        device, vehicle, baud = waiting
        return self.add_unit(port, device, vehicle, baud, take_over=True)

    def waiting(self) -> dict[str, Claim | None]:
        """Units not opened here because another desk reads them: port -> that desk's claim (None: it just
        let go; the unit opens here on the next heartbeat)."""
        from fleet_desk.store.units import claim_of

        with self._lock:
            names = {port: device for port, (device, _v, _b) in self._waiting.items()}
        return {port: claim_of(self.engine, device) for port, device in names.items()}

    def _open(self, ref: DeviceRef, port: str, baud: int | None) -> DeviceRef:
        not_before = (datetime.now(UTC) - timedelta(days=ROLLOVER_GUARD_DAYS)).date()
        writer = PositionWriter(self.engine, ref, "live", [self.tracker], desk=self.desk)
        pipeline = FixPipeline(writer, NmeaDecoder(not_before=not_before, label=ref.name), None)

        def on_bytes(data: bytes, key: str = port) -> None:
            self._queue.put((key, data))

        def on_status(status: UnitStatus, ref: DeviceRef = ref) -> None:
            if self.on_status:
                self.on_status(ref, status)

        unit = NmeaUnit(port, on_bytes, on_status, baud, self._hub)
        with self._lock:
            self._feeds[port] = _Feed(ref, unit, pipeline)
        unit.start()
        return ref

    def remove_unit(self, port: str) -> None:
        """Stop reading the unit on ``port`` (its claim released), or stop waiting for it."""
        with self._lock:
            feed = self._feeds.pop(port, None)
            self._waiting.pop(port, None)
        if feed:
            self._close(feed)
            self._release(feed.device.name)

    def _close(self, feed: _Feed) -> None:
        feed.unit.stop()
        with self._lock:
            self._retiring.append(feed)  # the ingest thread stores what it sent

    def _release(self, device: str) -> None:
        try:
            release_unit(self.engine, device, self.desk)
        except Exception as exc:  # the database is away: the claim goes stale and another desk takes it
            log.warning("%s: could not release the claim on %s: %s", self.desk, device, exc)

    def units(self) -> list[tuple[DeviceRef, NmeaUnit, float]]:
        """The units being read, each with its device, its driver (port and status) and fixes per second."""
        with self._lock:
            return [(f.device, f.unit, f.rate.rate()) for f in self._feeds.values()]

    def decode_stats(self, port: str) -> DecodeStats | None:
        """What decoding the unit on ``port`` has counted so far, the sentences it refused among them (malformed,
        implausible, bad checksum; ``unexpected``: what raised an error nobody expected, in the log), for a status
        line; None if no unit is read there. The counts go on."""
        with self._lock:
            feed = self._feeds.get(port)
        return feed.pipeline.summary.stats if feed else None

    def stop(self) -> None:
        """Stop every unit, store what they sent, close the port hub and release the desk's claims on them."""
        with self._lock:
            feeds = list(self._feeds.values())
        for feed in feeds:
            feed.unit.request_stop()
        for feed in feeds:
            feed.unit.stop()
        self._stopping = True
        self._queue.put(None)
        if self._worker.ident is not None:  # started (a read-only desk never starts it)
            self._worker.join(10)
        self._hub.close()
        with self._lock:
            feeds += self._retiring
            self._retiring = []
            self._waiting.clear()
        for feed in feeds:
            self._finish(feed)
        for feed in feeds:
            self._release(feed.device.name)

    def _run(self) -> None:
        """The ingest loop, supervised: whatever escapes one round is logged and told, and the loop goes on
        for every unit (it ends only on `stop`)."""
        while True:
            try:
                self._loop()
                return
            except Exception as exc:
                log.exception("live ingestion hit an unexpected error; carrying on")
                self.on_error(f"live ingestion hit an unexpected error ({exc}); carrying on with every unit")

    def _loop(self) -> None:
        next_flush = time.monotonic() + FLUSH_SECONDS
        next_sweep = time.monotonic() + SWEEP_SECONDS
        next_beat = time.monotonic() + HEARTBEAT_S
        while True:
            timeout = max(0.0, next_flush - time.monotonic())
            item: tuple[str, bytes] | None
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = ("", b"")  # nothing came: time to flush or sweep
            if item is None:
                return
            if item[1]:
                key, data = item
                feed = self._feeds.get(key)
                if feed is not None and data:
                    feed.last_data = time.monotonic()
                    self._feed(feed, data)
            if time.monotonic() >= next_flush:
                self._flush_all()
                next_flush = time.monotonic() + FLUSH_SECONDS
            if time.monotonic() >= next_sweep:
                self._sweep()
                next_sweep = time.monotonic() + SWEEP_SECONDS
            if time.monotonic() >= next_beat:
                self._heartbeat()
                next_beat = time.monotonic() + HEARTBEAT_S

    def _heartbeat(self) -> None:
        """Renew this desk's claims; a unit another desk took over is closed here and waits; a waiting unit
        whose desk went quiet (or let go) is claimed and opened."""
        with self._lock:
            reading = {f.device.name: port for port, f in self._feeds.items()}
            waiting = dict(self._waiting)
        try:
            lost = keep_claims(self.engine, self.desk, reading, self.claims_clock())
        except Exception as exc:
            log.warning("%s: could not renew the claims on its units: %s", self.desk, exc)
            return
        for device in lost:
            port = reading[device]
            with self._lock:
                feed = self._feeds.pop(port, None)
                if feed is not None:
                    self._waiting[port] = (device, feed.device.vehicle_name, feed.unit.baud)
            if feed is not None:
                self._close(feed)
                self.on_error(f"{device} ({port}) was taken over by another desk; stopped reading it here")
        try:  # every unit waiting here asked at once: hundreds when other desks read their own
            claimed = claim_free_units(self.engine, (device for device, _v, _b in waiting.values()), self.desk,
                                       self.claims_clock())
        except Exception as exc:
            log.warning("%s: could not claim the units it waits for: %s", self.desk, exc)
            return
        for port, (device, vehicle, baud) in waiting.items():
            if device not in claimed:
                continue
            with self._lock:
                if self._waiting.pop(port, None) is None:
                    continue  # removed meanwhile
            try:
                self._open(ensure_device(self.engine, device, vehicle, port=port, desk=self.desk), port, baud)
                log.info("%s: %s (%s) is read here now: the desk reading it went quiet", self.desk, device, port)
            except Exception as exc:  # tried again at the next heartbeat (the claim is this desk's now)
                log.warning("%s: could not open %s (%s): %s", self.desk, device, port, exc)
                with self._lock:
                    self._waiting.setdefault(port, (device, vehicle, baud))

    def _feed(self, feed: _Feed, data: bytes) -> None:
        """One unit's bytes decoded; what goes wrong is that unit's alone (logged with the unit and the bytes,
        counted on it, told once) and every other unit carries on."""
        stats = feed.pipeline.summary.stats
        unexpected = stats.unexpected
        try:
            fixes = feed.pipeline.feed(data)
        except Exception as exc:
            # Counted on the unit as the decoder's guard counts a sentence that raised: one malformed, unexpected
            # (`decode_stats`, so `listen`'s status line shows it).
            stats.malformed += 1
            stats.unexpected += 1
            log.warning("%s (%s): could not take %r (%s: %s); skipped", feed.device.name, feed.unit.port,
                        data[:200], type(exc).__name__, exc)
            self._tell(feed, f"{type(exc).__name__}: {exc}")
            return
        if stats.unexpected > unexpected:
            self._tell(feed, "a sentence it sent could not be decoded")
        if fixes:
            feed.rate.add(len(fixes))

    def _tell(self, feed: _Feed, what: str) -> None:
        if not feed.told:
            feed.told = True
            self.on_error(f"{feed.device.name} ({feed.unit.port}): {what}; skipped, its other fixes and every "
                          "other unit's are still stored (details in the log)")

    def _sweep(self) -> None:
        """Routes whose unit went quiet get their ETAs aged and, after a while, a GPS-silent flag."""
        try:
            with self.engine.begin() as conn:
                self.tracker.sweep(conn, now_ms())
        except Exception as exc:
            self.on_error(f"checking silent units failed, will retry: {exc}")

    def _flush_all(self) -> None:
        with self._lock:
            feeds = list(self._feeds.values())
            retiring, self._retiring = self._retiring, []
        for feed in retiring:
            self._finish(feed)
        by_pipeline = {id(feed.pipeline): feed for feed in feeds}
        quiet_since = time.monotonic() - QUIET_SECONDS
        for feed in feeds:
            if feed.last_data < quiet_since:  # the unit's burst for this epoch is over: its fix is complete
                released = feed.pipeline.release_sealed()
                if released:
                    feed.rate.add(len(released))
            feed.unit.mark_fix(feed.rate.rate())
        stored = FixPipeline.flush_together(self.engine, [feed.pipeline for feed in feeds])
        for pipeline, fixes in stored:
            if fixes and self.on_fixes:
                self.on_fixes(by_pipeline[id(pipeline)].device, fixes)
        failing = [feed.device.name for feed in feeds if feed.pipeline.pending]
        if failing:  # database busy or down: fixes stay pending, retried next second
            self.on_error(f"storing fixes of {', '.join(failing[:5])}{' and others' if len(failing) > 5 else ''} "
                          "failed; Fleet Desk keeps them and retries every second")

    def _finish(self, feed: _Feed) -> None:
        try:
            fixes = feed.pipeline.finish()
            if fixes and self.on_fixes:
                self.on_fixes(feed.device, fixes)
        except Exception as exc:
            self.on_error(f"storing the last fixes of {feed.device.name} failed: {exc}")
