"""The one road every fix takes: bytes -> decoder -> batched store writes.

Live serial data, imported logs and docked units differ only in where the
bytes come from and in the ``source`` recorded with each position.
"""

from __future__ import annotations

import gzip
import io
import logging
import operator
import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from fleet_desk.gps import DecodeStats, Fix, NmeaDecoder
from fleet_desk.store import BatchResult, DeviceRef, PositionWriter, ensure_device
from fleet_desk.store.positions import write_batches
from fleet_desk.times import iso_z, to_ms
from fleet_desk.tracking.reconcile import reconcile_track
from fleet_desk.tracking.tracker import RouteTracker

CHUNK = 1 << 20
BATCH = 5000

_fix_time = operator.attrgetter("time")

log = logging.getLogger(__name__)

_HEADER_DATE = re.compile(rb"^#\s*Date\s*[:=]\s*(\d{4})-(\d{1,2})-(\d{1,2})")


class NotNmeaError(ValueError):
    """A file that holds no NMEA sentences at all."""


@dataclass(slots=True)
class IngestSummary:
    """What an import or a listening session did, for people and scripts."""

    stats: DecodeStats = field(default_factory=DecodeStats)
    result: BatchResult = field(default_factory=BatchResult)
    first_ms: int | None = None
    last_ms: int | None = None
    cancelled: bool = False

    def report(self) -> list[tuple[str, str]]:
        """The summary as (label, value) lines, for the CLI and the import dialog alike."""
        s, f = self.stats, self.stats.framing
        lines = [
            ("sentences read", f"{f.sentences + f.bad_checksum + f.missing_checksum}"),
            ("fixes stored", f"{self.result.stored}"),
            ("duplicates skipped", f"{self.result.duplicates}"),
            ("invalid (no fix)", f"{s.invalid}  (simulated {s.simulated})"),
            ("undated", f"{s.undated}" + ("  - give --date YYYY-MM-DD to keep them" if s.undated else "")),
            ("bad checksum", f"{f.bad_checksum}"),
            ("missing checksum", f"{f.missing_checksum}"),
            ("unknown sentences", f"{s.unknown}"),
            ("malformed", f"{s.malformed}"),
            ("implausible", f"{s.implausible}  (out-of-range values: counted, not stored)"),
            ("noise lines", f"{f.noise + f.overlong}"),
        ]
        if s.incomplete:
            lines.append(("cut short", f"{s.incomplete} epochs ended before the unit's cycle did; not stored"))
        if s.rollover_corrected:
            lines.append(("GPS week rollover", f"{s.rollover_corrected} epochs corrected by 1024 weeks"))
        first, last = self.first_ms, self.last_ms
        span = f"{iso_z(first)} .. {iso_z(last)}" if first is not None and last is not None else "-"
        lines.append(("time range", span))
        if self.cancelled:
            lines.append(("cancelled", "yes: the rest of the file was not read; what was read is stored"))
        return lines

    def note(self, fixes: list[Fix]) -> None:
        """Widen the time range (``first_ms`` .. ``last_ms``) to take in ``fixes``."""
        if not fixes:
            return
        times = list(map(_fix_time, fixes))
        lo, hi = to_ms(min(times)), to_ms(max(times))
        self.first_ms = lo if self.first_ms is None else min(self.first_ms, lo)
        self.last_ms = hi if self.last_ms is None else max(self.last_ms, hi)


class FixPipeline:
    """Decodes a byte stream from one unit and stores its fixes in batches."""

    def __init__(self, writer: PositionWriter, decoder: NmeaDecoder | None, batch_size: int | None = BATCH,
                 seen: Callable[[list[Fix]], None] | None = None):
        """``batch_size`` None: store only when `flush` is called (live, on a timer). ``decoder`` None: the
        fixes come decoded (`add`), e.g. from an MTK logger's binary log. ``seen``: told every fix once, in
        order, as it is taken (e.g. a dock's distance driven)."""
        self.writer = writer
        self.decoder = decoder
        self.batch_size = batch_size
        self.seen = seen
        self.summary = IngestSummary(stats=decoder.stats) if decoder else IngestSummary()
        self._pending: list[Fix] = []

    def feed(self, chunk: bytes) -> list[Fix]:
        """Decode ``chunk`` and take its fixes (stored once a batch is full); returns the fixes decoded."""
        fixes = self._decoder().feed(chunk)
        self.add(fixes)
        return fixes

    def release_sealed(self) -> list[Fix]:
        """Live: take the fix of an epoch the unit has finished saying its position for (see the decoder)."""
        fixes = self._decoder().release_sealed()
        self.add(fixes)
        return fixes

    def finish(self) -> list[Fix]:
        """End of stream: decode what is left; returns the fixes stored now."""
        if self.decoder is not None:
            self.add(self.decoder.finish())
        return self.flush()

    def flush(self) -> list[Fix]:
        """Store what is pending in one transaction; returns the fixes stored.

        If the write fails the fixes stay pending for the next try.
        """
        pending = self._pending
        if not pending:
            return []
        result = self.writer.write(pending)
        self._pending = []
        self.summary.result += result
        return pending

    def _decoder(self) -> NmeaDecoder:
        if self.decoder is None:
            raise TypeError("this pipeline takes decoded fixes (add), not bytes")
        return self.decoder

    @property
    def pending(self) -> int:
        """How many fixes wait to be stored (live: ones whose write failed stay here and are retried)."""
        return len(self._pending)

    @staticmethod
    def flush_together(engine: Engine, pipelines: list[FixPipeline]) -> list[tuple[FixPipeline, list[Fix]]]:
        """Store several units' pending fixes in one transaction; returns what each stored.

        Live ingestion commits once a second for all units this way. If that
        transaction fails, each unit is tried on its own, so one unit's
        problem does not hold back the others; what fails stays pending.
        """
        todo = [(p, p._pending) for p in pipelines if p._pending]
        if not todo:
            return []
        try:
            with engine.begin() as conn:
                results = write_batches(conn, [(p.writer, pending) for p, pending in todo])
        except Exception:
            for p, _pending in todo:
                p.writer.rolled_back()
            stored = []
            for p, _pending in todo:
                try:
                    stored.append((p, p.flush()))
                except Exception as exc:
                    log.warning("storing fixes of %s failed, will retry: %s", p.writer.device.name, exc)
            return stored
        for (p, _pending), result in zip(todo, results, strict=True):
            p._pending = []
            p.summary.result += result
        return todo

    def add(self, fixes: list[Fix]) -> None:
        """Fixes to store, in batches."""
        if fixes:
            self.summary.note(fixes)
            if self.seen is not None:
                self.seen(fixes)
            self._pending.extend(fixes)
            if self.batch_size and len(self._pending) >= self.batch_size:
                self.flush()


def _open(path: Path) -> io.BufferedIOBase:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def header_date(head: bytes) -> date | None:
    """The capture date a log's ``# Date:`` header gives, if any."""
    for line in head.splitlines():
        if not line.startswith(b"#"):
            if line.strip():
                break
            continue
        m = _HEADER_DATE.match(line)
        if m:
            try:
                return date(*map(int, m.groups()))
            except ValueError:
                return None
    return None


class DamagedLogError(OSError):
    """A compressed log cut short or damaged: what was read before the damage is stored."""


class UnreadableLogError(OSError):
    """A log that cannot be opened at all (missing, a folder, not allowed): nothing was read from it."""


def open_log(path: Path) -> io.BufferedIOBase:
    """``path`` opened for reading (through gzip when it is compressed); `UnreadableLogError` naming the file
    and the reason in words when it cannot be."""
    if path.is_dir():
        raise UnreadableLogError(f"{path}: is a folder, not a log file")
    if not path.exists():
        raise UnreadableLogError(f"{path}: no such file")
    if not path.is_file():
        raise UnreadableLogError(f"{path}: is not a regular file (a device or a pipe?)")
    try:
        return _open(path)
    except OSError as exc:
        raise UnreadableLogError(f"{path}: {(exc.strerror or str(exc)).lower()}") from None


def read_chunks(path: Path, progress: Callable[[int, int], None] | None = None) -> Iterator[bytes]:
    """The file's bytes in chunks of about `CHUNK`; ``progress(done, total)`` is on-disk bytes. A .gz cut short
    or damaged raises `DamagedLogError` once the bytes before the damage are handed over (read in pieces, as
    one big read of a damaged stream gives nothing)."""
    total = path.stat().st_size
    with open_log(path) as f:
        raw = getattr(f, "fileobj", None) or f
        chunk = bytearray()
        while True:
            try:
                piece = f.read1(CHUNK - len(chunk))
            except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # cut short, garbled, or a wrong CRC
                if chunk:
                    yield bytes(chunk)
                raise DamagedLogError(f"{path}: the compressed file is cut short or damaged ({exc})") from None
            chunk += piece
            if chunk and (not piece or len(chunk) >= CHUNK):
                yield bytes(chunk)
                chunk.clear()
                if progress:
                    progress(raw.tell(), total)
            if not piece:
                return


def import_log(
    engine: Engine,
    tracker: RouteTracker,
    path: Path,
    device: str,
    vehicle: str | None = None,
    day: date | None = None,
    source: str = "import",
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> IngestSummary:
    """Import one NMEA log (plain or gzip) for one unit.

    Batches already written stay written if a later part of the file fails.
    When ``cancelled()`` turns true, reading stops, what was decoded so far
    is stored, and the summary says ``cancelled``.
    Raises `UnreadableLogError` (an OSError) for files it cannot open,
    `DamagedLogError` for a compressed one damaged on the way, and
    `NotNmeaError` when the file holds no NMEA at all. A replaying
    ``tracker`` (no clock: now is each fix's time) takes every batch as it
    is stored; the live one reconciles the stored track with the day's stops
    afterwards, as a docked unit's is (`fleet_desk.tracking.reconcile`:
    "now" is the clock, so old fixes tell no customer anything), and
    carries on from it.
    """
    path = Path(path)
    with open_log(path) as f:
        try:
            head = f.read(4096)
        except (EOFError, zlib.error, gzip.BadGzipFile):
            head = b""  # damaged near its start: read_chunks says so below, after what it can read
    ref = ensure_device(engine, device, vehicle, desk=tracker.desk)
    decoder = NmeaDecoder(date_hint=day, not_before=header_date(head), label=str(path))
    replay = tracker.replaying
    pipeline = FixPipeline(PositionWriter(engine, ref, source, [tracker] if replay else [], desk=tracker.desk), decoder)
    damaged: DamagedLogError | None = None
    try:
        for chunk in read_chunks(path, progress):
            pipeline.feed(chunk)
            if cancelled is not None and cancelled():
                pipeline.summary.cancelled = True
                break
    except DamagedLogError as exc:  # what was decoded before the damage is stored, then it is said
        damaged = exc
    pipeline.finish()
    if not replay:
        reconcile_stored(engine, tracker, ref, pipeline.summary, source)
    if damaged is not None:
        raise damaged
    framing = decoder.stats.framing
    if framing.sentences == 0 and not pipeline.summary.cancelled:
        raise NotNmeaError(
            f"{path}: no NMEA sentences found ({framing.lines} lines, {framing.bad_checksum} with a bad "
            "checksum); is this a GPS log?"
        )
    return pipeline.summary


class RateMeter:
    """Fixes per second over a sliding few seconds, for unit status lines."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self._events: list[tuple[float, int]] = []

    def add(self, n: int, now: float | None = None) -> None:
        """Count ``n`` fixes decoded at ``now`` (monotonic seconds; default: now)."""
        now = time.monotonic() if now is None else now
        self._events.append((now, n))
        self._trim(now)

    def rate(self, now: float | None = None) -> float:
        """Fixes per second over the last ``window`` seconds."""
        now = time.monotonic() if now is None else now
        self._trim(now)
        return sum(n for _, n in self._events) / self.window

    def _trim(self, now: float) -> None:
        cutoff = now - self.window
        while self._events and self._events[0][0] < cutoff:
            self._events.pop(0)


class MtkImport:
    """An MTK logger's memory, fed in order (as it downloads, or all at once from a dump file): each finished
    sector's fixes are stored at once through the one pipeline, so a download cut short keeps what it read.
    Points logged without a fix are counted, not stored. No tracker runs per batch: once the track is in,
    `fleet_desk.tracking.reconcile` runs it against the day's stops."""

    def __init__(self, engine: Engine, device: DeviceRef, source: str,
                 seen: Callable[[list[Fix]], None] | None = None, desk: str | None = None):
        """``desk``: the desk storing it, which the change log names (None: this computer's name)."""
        from fleet_desk.gps.mtk import MtkStream

        self.stream = MtkStream()
        self.pipeline = FixPipeline(PositionWriter(engine, device, source, desk=desk), None, seen=seen)

    def feed(self, data: bytes) -> None:
        """Take the memory's next bytes, in order, and store the fixes of every sector they complete."""
        self._add(self.stream.feed(data))
        self.pipeline.flush()

    def finish(self) -> IngestSummary:
        """End of the memory: store the last sector's fixes; returns the import's summary, the logger's counts in it."""
        self._add(self.stream.finish())
        self.pipeline.finish()
        summary, stats = self.pipeline.summary, self.stream.stats
        summary.stats.fixes = stats.records
        summary.stats.framing.bad_checksum = stats.bad_checksums
        summary.stats.implausible, summary.stats.malformed = stats.implausible, stats.malformed
        return summary

    def _add(self, points: list) -> None:
        fixes = [f for f in (p.fix() for p in points) if f is not None]
        self.pipeline.summary.stats.invalid += len(points) - len(fixes)
        self.pipeline.add(fixes)


def import_mtk_dump(engine: Engine, tracker: RouteTracker, path: Path, device: str, vehicle: str | None = None,
                    source: str = "import") -> IngestSummary:
    """Import an MTK logger's binary dump saved by other software, as a dock would: stored, then the track
    reconciled with the day's stops (no customer told old news) and ``tracker`` (the live one) carrying on."""
    from fleet_desk.gps.mtk import MtkFormatError

    path = Path(path)
    with open_log(path) as f:
        try:
            data = f.read()
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DamagedLogError(f"{path}: the compressed file is cut short or damaged ({exc}); nothing was "
                                  "read from it") from None
    ref = ensure_device(engine, device, vehicle, desk=tracker.desk)
    mtk_import = MtkImport(engine, ref, source, desk=tracker.desk)
    try:
        mtk_import.feed(data)
        summary = mtk_import.finish()
    except MtkFormatError as exc:
        raise MtkFormatError(f"{path}: {exc}") from None
    reconcile_stored(engine, tracker, ref, summary, source)
    return summary


def reconcile_stored(engine: Engine, live: RouteTracker, ref: DeviceRef, summary: IngestSummary, source: str) -> None:
    """A stored track (imported or docked) against the day's stops; ``live`` carries on from it."""
    if summary.first_ms is not None and summary.last_ms is not None:
        reconcile_track(engine, live, ref, summary.first_ms, summary.last_ms, source)
