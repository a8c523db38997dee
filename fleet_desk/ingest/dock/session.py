"""One dock: download a unit's stored track, store it, reconcile it with the day's stops, erase on request.

Every fix takes the one road (a `FixPipeline` with source "dock"); the
track is then run through the tracker by `reconcile_track`. What was read
is stored as it arrives, so cancelling or unplugging keeps it; the unit's
memory is erased only when asked, and only once the whole download is
stored and reconciled.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import serial
from sqlalchemy import Engine

from drivers.base import BAUD_RATES
from drivers.mtk import READ_SIZE, LoggerError, MtkLogger
from drivers.nmea import open_at_unit_baud, read_playback
from fleet_desk.clock import now_ms
from fleet_desk.gps import NmeaDecoder
from fleet_desk.gps.mtk import MtkFormatError
from fleet_desk.ingest.dock.cache import DownloadCache
from fleet_desk.ingest.dock.summary import DockSummary, TrackDistance, stops_visited
from fleet_desk.ingest.pipeline import FixPipeline, MtkImport, reconcile_stored
from fleet_desk.store import DeviceRef, PositionWriter, ensure_device
from fleet_desk.store.units import mark_docked, unit_assignments
from fleet_desk.tracking.tracker import RouteTracker

FAMILIES = ("mtk", "nmea")
REPORT_EVERY_S = 0.2


class DockError(Exception):
    """The dock could not start (no unit answering, unknown family); nothing was changed."""


@dataclass(frozen=True, slots=True)
class DockProgress:
    """How far a dock has got, handed to its progress callback as it goes (the Dock panel's bar, the CLI's
    progress line); `time_left_s` is None until the unit's size and a rate are known."""

    phase: str  # connecting, downloading, storing, reconciling, erasing
    bytes_done: int = 0
    bytes_total: int | None = None  # None: the unit does not say (an NMEA logger playing back)
    records: int = 0
    rate_bps: float = 0.0  # bytes a second over this download

    @property
    def time_left_s(self) -> float | None:
        """Seconds until the download is done at the rate so far; None while the size or a rate is unknown."""
        if self.bytes_total is None or self.rate_bps <= 0:
            return None
        return max(0.0, (self.bytes_total - self.bytes_done) / self.rate_bps)


Progress = Callable[[DockProgress], None]


def dock_unit(engine: Engine, tracker: RouteTracker, port: str, device: str, family: str | None = None,
              vehicle: str | None = None, erase: bool = False, baud: int | None = None,
              progress: Progress | None = None, cancelled: Callable[[], bool] | None = None) -> DockSummary:
    """Dock the unit called ``device`` on ``port``. ``family`` None: the unit's registered family, else asked
    (an MTK logger answers PMTK605; anything else is taken as an NMEA logger). ``tracker``: the live one,
    which carries on from the reconciled track."""
    progress = progress or (lambda p: None)
    cancelled = cancelled or (lambda: False)
    progress(DockProgress("connecting"))
    known = next((u for u in unit_assignments(engine) if u.device == device.strip()), None)
    family = family or (known.family if known and known.family in FAMILIES else None)
    logger = None
    if family in (None, "mtk"):
        logger = MtkLogger(port, baud)
        try:
            identity = logger.open()
        except LoggerError as exc:
            logger.close()
            if family == "mtk":
                raise DockError(str(exc)) from exc
            logger = None
        else:
            family = "mtk"
    family = family or "nmea"
    ref = ensure_device(engine, device, vehicle, family=family, desk=tracker.desk)
    summary = DockSummary(ref.name, ref.vehicle_name, family)
    if logger is not None:
        summary.identity = identity.text
        with logger:
            _download_mtk(engine, tracker, logger, ref, summary, erase, progress, cancelled)
    else:
        _download_nmea(engine, tracker, port, baud, ref, summary, progress, cancelled)
        if erase:
            summary.note = "kept (an NMEA logger is cleared on the unit itself)"
    summary.stops = stops_visited(engine, ref.vehicle_id, summary.ingest.first_ms, summary.ingest.last_ms)
    mark_docked(engine, ref.id, now_ms(), family, summary.identity or None, desk=tracker.desk)
    return summary


def _download_mtk(engine: Engine, tracker: RouteTracker, logger: MtkLogger, ref: DeviceRef, summary: DockSummary,
                  erase: bool, progress: Progress, cancelled: Callable[[], bool]) -> None:
    try:
        used = logger.used_bytes()
        logger.stop_logging()  # the memory must not move while it is read
    except LoggerError as exc:
        raise DockError(str(exc)) from exc
    try:
        distance = TrackDistance()
        mtk_import = MtkImport(engine, ref, "dock", seen=distance.add, desk=tracker.desk)
        cache = DownloadCache(engine.url.render_as_string(hide_password=True), ref.id)
        started, last_report = time.monotonic(), 0.0
        try:
            cached = cache.load()
            start = _resume_point(logger, cached, used)
            if start:
                mtk_import.feed(cached[:start])  # stored before: duplicates, but the summary counts them
            cache.start(cached[:start])
            summary.resumed_from = start
            for offset, data in logger.read(start, used, cancelled):
                cache.append(data)
                mtk_import.feed(data)
                summary.bytes_read += len(data)
                now = time.monotonic()
                if now - last_report >= REPORT_EVERY_S or offset + len(data) >= used:
                    last_report = now
                    progress(DockProgress("downloading", offset + len(data), used,
                                          mtk_import.stream.records_so_far(), summary.bytes_read / (now - started)))
            summary.cancelled = cancelled()
        except LoggerError as exc:
            summary.problem = str(exc)
        except MtkFormatError as exc:
            raise DockError(f"{logger.port}: the logger's memory is not an MTK log ({exc})") from exc
        summary.seconds = time.monotonic() - started
        progress(DockProgress("storing", summary.bytes_read + summary.resumed_from, used,
                              mtk_import.stream.stats.records))
        summary.ingest = mtk_import.finish()
        summary.records = mtk_import.stream.stats.records
        summary.no_fix = summary.ingest.stats.invalid
        summary.distance_m = distance.metres
        _reconcile(engine, tracker, ref, summary, progress)
        if erase:
            if summary.complete:
                progress(DockProgress("erasing"))
                logger.erase()
                cache.drop()
                summary.erased = True
            else:
                summary.note = "kept: the download did not finish, so nothing was erased"
    finally:
        try:
            logger.start_logging()
        except LoggerError:
            pass  # unplugged: it logs again when switched on


def _resume_point(logger: MtkLogger, cached: bytes, used: int) -> int:
    """Where to carry on reading: after the cached bytes if the unit's memory still starts with them."""
    if not cached or used < len(cached):
        return 0
    head = b"".join(data for _, data in logger.read(0, min(READ_SIZE, len(cached))))
    return len(cached) if cached.startswith(head) else 0


def _download_nmea(engine: Engine, tracker: RouteTracker, port: str, baud: int | None, ref: DeviceRef,
                   summary: DockSummary, progress: Progress, cancelled: Callable[[], bool]) -> None:
    """An NMEA logger plays its stored log back once the port is open; it is over when the unit falls quiet."""
    distance = TrackDistance()
    pipeline = FixPipeline(PositionWriter(engine, ref, "dock", desk=tracker.desk), NmeaDecoder(label=ref.name),
                           seen=distance.add)
    try:
        ser, first = open_at_unit_baud(port, (baud,) if baud else BAUD_RATES)
    except (serial.SerialException, OSError) as exc:
        raise DockError(f"{port}: cannot open the port: {exc}") from exc
    if ser is None:
        raise DockError(f"{port}: no NMEA from the unit at any baud rate; is it switched on and playing back?")
    started = time.monotonic()
    last_report = [0.0]

    def on_bytes(data: bytes) -> None:
        pipeline.feed(data)
        summary.bytes_read += len(data)
        summary.seconds = time.monotonic() - started
        if time.monotonic() - last_report[0] >= REPORT_EVERY_S:
            last_report[0] = time.monotonic()
            progress(DockProgress("downloading", summary.bytes_read, None, pipeline.summary.stats.fixes,
                                  summary.bytes_read / max(summary.seconds, 1e-6)))

    with ser:
        try:
            summary.cancelled = not read_playback(ser, first, on_bytes, cancelled)
        except (serial.SerialException, OSError) as exc:
            summary.problem = f"{port}: unit unplugged during the download ({exc})"
    progress(DockProgress("storing", summary.bytes_read, None, pipeline.summary.stats.fixes))
    pipeline.finish()
    summary.ingest = pipeline.summary
    summary.records = pipeline.summary.stats.fixes
    summary.no_fix = pipeline.summary.stats.invalid
    summary.distance_m = distance.metres
    _reconcile(engine, tracker, ref, summary, progress)


def _reconcile(engine: Engine, tracker: RouteTracker, ref: DeviceRef, summary: DockSummary,
               progress: Progress) -> None:
    if summary.ingest.first_ms is not None:
        progress(DockProgress("reconciling"))
    reconcile_stored(engine, tracker, ref, summary.ingest, "dock")
