"""Exporting stored positions as CSV, GPX 1.1 or GeoJSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
from typing import TextIO

import gpxpy.gpx
from sqlalchemy import Engine, select

from fleet_desk.store.models import Device, Position
from fleet_desk.store.timeutil import from_ms, iso_z, to_ms

CSV_HEADER = ["device", "time_utc", "lat", "lon", "speed_mps", "course_deg", "alt_m", "hdop", "sats", "fix_quality"]
FORMATS = ("csv", "gpx", "geojson")


def _rows(engine: Engine, device: str | None, since: datetime | None, until: datetime | None) -> Iterator:
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


def _csv(rows: Iterator, out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    n = 0
    for name, ms, *values in rows:
        writer.writerow([name, iso_z(ms), *(_num(v) for v in values)])
        n += 1
    return n


def _gpx(rows: Iterator, out: TextIO) -> int:
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "Fleet Desk"
    track = segment = None
    n = 0
    for name, ms, lat, lon, speed, course, alt, hdop, sats, _quality in rows:
        if track is None or track.name != name:
            track = gpxpy.gpx.GPXTrack(name=name)
            segment = gpxpy.gpx.GPXTrackSegment()
            track.segments.append(segment)
            gpx.tracks.append(track)
        point = gpxpy.gpx.GPXTrackPoint(lat, lon, elevation=alt, time=from_ms(ms), speed=speed)
        point.horizontal_dilution = hdop
        point.satellites = sats
        point.course = course
        segment.points.append(point)
        n += 1
    out.write(gpx.to_xml(version="1.1"))
    return n


def _geojson(rows: Iterator, out: TextIO) -> int:
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
