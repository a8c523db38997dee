"""Exporting stored positions as CSV, GPX 1.1 or GeoJSON."""

from __future__ import annotations

import contextlib
import csv
import errno
import itertools
import json
import os
import sys
from collections.abc import Iterator
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import TextIO

import gpxpy.gpx
from sqlalchemy import Engine, select

from fleet_desk.store.models import Device, Position
from fleet_desk.times import from_ms, iso_z, to_ms

CSV_HEADER = ["device", "time_utc", "lat", "lon", "speed_mps", "course_deg", "alt_m", "hdop", "sats", "fix_quality"]
FORMATS = ("csv", "gpx", "geojson")
#: A stored position as exported: unit, fix time (ms), lat, lon, speed, course, altitude, hdop, satellites, quality.
type PositionRow = tuple[str, int, float, float, float | None, float | None, float | None, float | None,
                               int | None, int]


class OutputError(Exception):
    """The export's file could not be written; the message names it and says what to do."""


@contextlib.contextmanager
def output_file(name: str | None) -> Iterator[TextIO]:
    """Standard output, or the named file written whole or not at all.

    The export goes to a temporary file beside it, renamed over it at the end:
    a full disk or a failed query never leaves a cut-off export, nor spoils an
    earlier one of the same name.
    """
    if not name:
        yield sys.stdout
        return
    target = Path(name)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    renamed = False
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # the mode a plain open would give
        with open(fd, "w", encoding="utf-8", newline="") as out:
            yield out
        os.replace(tmp, target)
        renamed = True
    except OSError as exc:
        raise OutputError(_write_problem(exc, name)) from None
    finally:
        if not renamed:
            with contextlib.suppress(OSError):  # a folder that refused the part file refuses its removal too
                tmp.unlink(missing_ok=True)


def _write_problem(exc: OSError, name: str) -> str:
    if exc.errno == errno.ENOSPC:
        what = "the disk is full; free space on it, then export again"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        what = "cannot be written there (check the folder's permissions, or give -o another place)"
    else:
        what = exc.strerror or str(exc)
    return f"{name}: {what}; nothing was written to it"


def _rows(engine: Engine, device: str | None, since: datetime | None,
          until: datetime | None) -> Iterator[PositionRow]:
    stmt = (
        select(Device.name, Position.fix_time_ms, Position.lat, Position.lon, Position.speed_mps,
               Position.course_deg, Position.alt_m, Position.hdop, Position.sats, Position.fix_quality)
        .join(Device, Device.id == Position.device_id)
        .order_by(Device.name, Position.fix_time_ms)
    )
    if device:
        stmt = stmt.where(Device.name == device)
    if since:
        stmt = stmt.where(Position.fix_time_ms >= to_ms(since))
    if until:
        stmt = stmt.where(Position.fix_time_ms <= to_ms(until))
    with engine.connect() as conn:
        yield from conn.execution_options(yield_per=5000).execute(stmt)


def _num(v: float | int | None) -> str:
    return "" if v is None else repr(v) if isinstance(v, float) else str(v)


def export_positions(engine: Engine, out: TextIO, fmt: str, device: str | None = None,
                     since: datetime | None = None, until: datetime | None = None) -> int:
    """Write positions to ``out``; returns how many were written."""
    rows = _rows(engine, device, since, until)
    if fmt == "csv":
        return _csv(rows, out)
    if fmt == "gpx":
        return _gpx(rows, out)
    if fmt == "geojson":
        return _geojson(rows, out)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _csv(rows: Iterator[PositionRow], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    n = 0
    for name, ms, *values in rows:
        writer.writerow([name, iso_z(ms), *(_num(v) for v in values)])
        n += 1
    return n


def _gpx(rows: Iterator[PositionRow], out: TextIO) -> int:
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Fleet Desk"
    n = 0
    for name, unit_rows in itertools.groupby(rows, key=itemgetter(0)):  # one track per unit (rows by unit)
        track = gpxpy.gpx.GPXTrack(name=name)
        segment = gpxpy.gpx.GPXTrackSegment()
        track.segments.append(segment)
        gpx.tracks.append(track)
        for _, ms, lat, lon, speed, course, alt, hdop, sats, _quality in unit_rows:
            point = gpxpy.gpx.GPXTrackPoint(lat, lon, elevation=alt, time=from_ms(ms), speed=speed)
            point.horizontal_dilution = hdop
            point.satellites = sats
            point.course = course  # type: ignore[assignment]  # gpxpy sets it to None unannotated, so types it None
            segment.points.append(point)
            n += 1
    out.write(gpx.to_xml(version="1.1"))
    return n


def _geojson(rows: Iterator[PositionRow], out: TextIO) -> int:
    out.write('{"type":"FeatureCollection","features":[')
    n = 0
    for name, ms, lat, lon, speed, course, alt, hdop, sats, quality in rows:
        coords = [lon, lat] if alt is None else [lon, lat, alt]
        feature = {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": coords},
            "properties": {"device": name, "time_utc": iso_z(ms), "speed_mps": speed, "course_deg": course,
                           "hdop": hdop, "sats": sats, "fix_quality": quality},
        }
        out.write(("," if n else "") + "\n" + json.dumps(feature, separators=(",", ":")))
        n += 1
    out.write("\n]}\n")
    return n


# -- routes: stops, ETA history, order events ---------------------------------------------------------------

STOPS_HEADER = ["route_id", "stop_sequence", "order_id", "tracking_number", "status", "window_start", "window_end",
                "arrived_at", "departed_at", "eta"]
ETA_HISTORY_HEADER = ["order_id", "predicted_at", "eta", "eta_earliest", "eta_latest"]
EVENTS_HEADER = ["order_id", "time", "type", "detail"]


def _iso(ms: int | None) -> str:
    return "" if ms is None else iso_z(ms)


def export_stops(engine: Engine, out: TextIO) -> int:
    """Write every stop of every route as CSV: its order, status, window, arrival and departure, and its ETA
    while the stop is still open; returns how many stops were written."""
    from fleet_desk.store.models import Route, Stop

    stmt = (select(Route.route_key, Stop.sequence, Stop.order_id, Stop.tracking_number, Stop.status,
                   Stop.window_start_ms, Stop.window_end_ms, Stop.arrived_ms, Stop.departed_ms, Stop.eta_ms)
            .join(Route, Route.id == Stop.route_id)
            .order_by(Route.service_date, Route.route_key, Stop.sequence))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STOPS_HEADER)
    n = 0
    with engine.connect() as conn:
        for route, seq, order, tracking, status, ws, we, arrived, departed, eta in conn.execute(stmt):
            open_stop = status in ("pending", "arrived")
            writer.writerow([route, seq, order, tracking, status, _iso(ws), _iso(we), _iso(arrived), _iso(departed),
                             _iso(eta if open_stop else None)])
            n += 1
    return n


def export_eta_history(engine: Engine, out: TextIO) -> int:
    """Write every ETA predicted, as CSV, per order in the order they were made, each with its window: how
    an order's ETA moved through the day. Returns how many were written."""
    from fleet_desk.store.models import EtaPrediction, Stop

    stmt = (select(Stop.order_id, EtaPrediction.predicted_at_ms, EtaPrediction.eta_ms, EtaPrediction.earliest_ms,
                   EtaPrediction.latest_ms)
            .join(Stop, Stop.id == EtaPrediction.stop_id).order_by(Stop.order_id, EtaPrediction.predicted_at_ms))
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ETA_HISTORY_HEADER)
    n = 0
    with engine.connect() as conn:
        for order, at, eta, lo, hi in conn.execution_options(yield_per=5000).execute(stmt):
            writer.writerow([order, iso_z(at), iso_z(eta), iso_z(lo), iso_z(hi)])
            n += 1
    return n


def export_events(engine: Engine, out: TextIO, fmt: str) -> int:
    """Write every order's timeline as CSV (order, time, type, detail) or, with ``fmt`` "jsonl", as JSON
    lines that also say each event's source and whether it was customer-facing. Returns how many were written.

    Raises:
        ValueError: ``fmt`` is neither.
    """
    from fleet_desk.store.models import OrderEvent, Stop

    stmt = (select(Stop.order_id, OrderEvent.time_ms, OrderEvent.type, OrderEvent.detail, OrderEvent.source,
                   OrderEvent.customer_facing)
            .join(Stop, Stop.id == OrderEvent.stop_id).order_by(Stop.order_id, OrderEvent.time_ms, OrderEvent.id))
    n = 0
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=5000).execute(stmt)
        if fmt == "jsonl":
            for order, ms, kind, detail, source, facing in rows:
                out.write(json.dumps({"order_id": order, "time": iso_z(ms), "type": kind, "detail": detail,
                                      "source": source, "customer_facing": facing}, ensure_ascii=False) + "\n")
                n += 1
            return n
        if fmt != "csv":
            raise ValueError(f"events export as csv or jsonl, not {fmt!r}")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(EVENTS_HEADER)
        for order, ms, kind, detail, _source, _facing in rows:
            writer.writerow([order, iso_z(ms), kind, detail or ""])
            n += 1
    return n
