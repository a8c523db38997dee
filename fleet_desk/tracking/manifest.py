"""A day's routes and stops from a manifest file (CSV with a header row, or JSON with the same fields).

Everything is validated before anything is stored: each bad row is reported
with its line, column and reason. Times are ISO 8601 with an offset, or
``HH:MM`` in the depot's timezone on the given date.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Connection

REQUIRED = ("route_id", "vehicle", "stop_sequence", "order_id", "tracking_number", "customer_name", "address",
            "lat", "lon", "window_start", "window_end")
OPTIONAL = ("driver", "phone", "email", "service_minutes", "notes", "planned_start", "radius_m")
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


class ManifestError(Exception):
    """The file cannot be read as a manifest at all (missing, not CSV/JSON, no header)."""


@dataclass(frozen=True)
class ManifestStop:
    """One valid manifest row: the stop, its order and customer, its window (UTC), and what the row may add
    (driver, contact, service time, planned start, arrival radius); ``line`` points back into the file."""

    line: int
    route_id: str
    vehicle: str
    sequence: int
    order_id: str
    tracking_number: str
    customer_name: str
    address: str
    lat: float
    lon: float
    window_start: datetime  # aware, UTC
    window_end: datetime
    driver: str | None = None
    phone: str | None = None
    email: str | None = None
    service_minutes: float | None = None
    notes: str | None = None
    planned_start: datetime | None = None
    radius_m: float | None = None  # arrival radius for this stop (a big site, a narrow street)


@dataclass(frozen=True)
class RowProblem:
    """Why one manifest row was refused, worded for the person who fixes the file: its line, column and
    reason."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.reason}"


@dataclass
class Manifest:
    """A manifest file read and checked: the stops that can be stored and the problems found. A row with a
    problem is skipped (its line in ``skipped_lines``); the other rows can still be stored."""

    path: str
    stops: list[ManifestStop] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    skipped_lines: set[int] = field(default_factory=set)  # rows with a problem


def read_manifest(path: Path, *, day: date | None = None, tz: tzinfo | None = None) -> Manifest:
    """Parse and validate ``path``; ``day`` and ``tz`` give ``HH:MM`` times their date and timezone."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot be read ({exc.strerror})") from None
    rows = _json_rows(path, text) if text.lstrip()[:1] in ("[", "{") else _csv_rows(path, text)
    manifest = Manifest(str(path))
    reader = _RowReader(day, tz or datetime.now().astimezone().tzinfo or UTC)
    for line, row in rows:
        stop, problems = reader.read(line, row)
        if problems:
            manifest.problems += problems
            manifest.skipped_lines.add(line)
        elif stop is not None:
            manifest.stops.append(stop)
    _check_across_rows(manifest)
    return manifest


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ManifestError(f"{path}: line 1 (header): missing column{'s' if len(missing) > 1 else ''} "
                            f"{', '.join(missing)}")
    reader.fieldnames = header
    rows = []
    for row in reader:
        if not any((v or "").strip() for k, v in row.items() if k is not None):
            continue  # blank line
        rows.append((reader.line_num, {k: v for k, v in row.items() if k is not None}))
    return rows


def _json_rows(path: Path, text: str) -> list[tuple[int, dict]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if isinstance(data, dict):
        data = data.get("stops")
    if not isinstance(data, list):
        raise ManifestError(f"{path}: expected a JSON array of stops (or an object with a \"stops\" array)")
    # JSON has no row lines; number the stops from 1 as items.
    return [(i, item if isinstance(item, dict) else {"_": item}) for i, item in enumerate(data, start=1)]


class _RowReader:
    def __init__(self, day: date | None, tz: tzinfo):
        self.day, self.tz = day, tz

    def read(self, line: int, row: dict) -> tuple[ManifestStop | None, list[RowProblem]]:
        problems: list[RowProblem] = []

        def text(column: str, required: bool = True) -> str | None:
            value = row.get(column)
            value = "" if value is None else str(value).strip()
            if not value:
                if required:
                    problems.append(RowProblem(line, column, "missing"))
                return None
            return value

        def number(column: str, lo: float, hi: float, required: bool = True) -> float | None:
            raw = text(column, required)
            if raw is None:
                return None
            try:
                value = float(raw.replace(",", ".")) if isinstance(raw, str) else float(raw)
            except ValueError:
                problems.append(RowProblem(line, column, f"not a number: {raw!r}"))
                return None
            if not math.isfinite(value) or not lo <= value <= hi:
                problems.append(RowProblem(line, column, f"{raw} is outside {lo:g}..{hi:g}"))
                return None
            return value

        def when(column: str, required: bool = True) -> datetime | None:
            raw = text(column, required)
            if raw is None:
                return None
            try:
                return self._time(raw)
            except ValueError as exc:
                problems.append(RowProblem(line, column, str(exc)))
                return None

        values = {c: text(c) for c in ("route_id", "vehicle", "order_id", "tracking_number", "customer_name",
                                       "address")}
        sequence = number("stop_sequence", 1, 1_000_000)
        if sequence is not None and sequence != int(sequence):
            problems.append(RowProblem(line, "stop_sequence", f"not a whole number: {sequence:g}"))
        lat, lon = number("lat", -90, 90), number("lon", -180, 180)
        start, end = when("window_start"), when("window_end")
        if start and end and end <= start:
            problems.append(RowProblem(line, "window_end", "window end is not after its start"))
        service = number("service_minutes", 0, 600, required=False)
        email = text("email", False)
        if email and "@" not in email:
            problems.append(RowProblem(line, "email", f"not an e-mail address: {email!r}"))
        phone = text("phone", False)
        if phone and not re.fullmatch(r"[+\d][\d\s().\-/]{3,}", phone):
            problems.append(RowProblem(line, "phone", f"not a phone number: {phone!r}"))
        planned = when("planned_start", False)
        radius = number("radius_m", 10, 2000, required=False)
        if problems or sequence is None or lat is None or lon is None or start is None or end is None:
            return None, problems  # (a required value missing is a problem already)
        required = {k: v for k, v in values.items() if v is not None}  # all of them, likewise
        return ManifestStop(
            line=line, sequence=int(sequence), lat=lat, lon=lon, window_start=start, window_end=end,
            driver=text("driver", False), phone=phone, email=email, service_minutes=service,
            notes=text("notes", False), planned_start=planned, radius_m=radius, **required,
        ), []

    def _time(self, raw: str) -> datetime:
        hhmm = _HHMM.match(raw)
        if hhmm:
            if self.day is None:
                raise ValueError(f"{raw!r} has no date: give the day with --date")
            hour, minute = int(hhmm.group(1)), int(hhmm.group(2))
            if hour > 23 or minute > 59:
                raise ValueError(f"not a time of day: {raw!r}")
            return datetime.combine(self.day, time(hour, minute), self.tz).astimezone(UTC)
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"not an ISO 8601 time or HH:MM: {raw!r}") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=self.tz)  # a local time at the depot
        return when.astimezone(UTC)


def check_stored(manifest: Manifest, conn: Connection) -> None:
    """Rows giving a tracking number the database holds for another order become problems (line and column).

    A tracking number names one order; storing it for a second would break the
    database's unique key halfway through the import.
    """
    from sqlalchemy import select

    from fleet_desk.store.models import Stop

    numbers = sorted({stop.tracking_number for stop in manifest.stops})
    holder: dict[str, str] = {}
    for i in range(0, len(numbers), 500):  # well under any backend's limit of bound parameters
        chunk = numbers[i:i + 500]
        holder.update(conn.execute(select(Stop.tracking_number, Stop.order_id)
                                   .where(Stop.tracking_number.in_(chunk))).all())
    keep = []
    for stop in manifest.stops:
        order = holder.get(stop.tracking_number, stop.order_id)
        if order == stop.order_id:
            keep.append(stop)
            continue
        manifest.problems.append(RowProblem(stop.line, "tracking_number", f"{stop.tracking_number} is already "
                                            f"stored for order {order} (a tracking number names one order)"))
        manifest.skipped_lines.add(stop.line)
    manifest.stops = keep
    manifest.problems.sort(key=lambda p: p.line)


def _check_across_rows(manifest: Manifest) -> None:
    """Duplicates and contradictions between rows: every row involved after the first is reported."""
    seen: dict[tuple[str, str], int] = {}
    vehicle_of: dict[str, tuple[str, int]] = {}
    keep = []
    for stop in manifest.stops:
        problems = []
        for column, value in (("order_id", stop.order_id), ("tracking_number", stop.tracking_number),
                              ("stop_sequence", f"{stop.route_id}#{stop.sequence}")):
            first = seen.setdefault((column, value), stop.line)
            if first != stop.line:
                what = f"route {stop.route_id} stop {stop.sequence}" if column == "stop_sequence" else value
                problems.append(RowProblem(stop.line, column, f"duplicate {what} (first on line {first})"))
        vehicle, first = vehicle_of.setdefault(stop.route_id, (stop.vehicle, stop.line))
        if vehicle != stop.vehicle:
            problems.append(RowProblem(stop.line, "vehicle", f"route {stop.route_id} is {vehicle!r} on line "
                                                             f"{first}, here {stop.vehicle!r}"))
        if problems:
            manifest.problems += problems
            manifest.skipped_lines.add(stop.line)
        else:
            keep.append(stop)
    manifest.stops = keep
    manifest.problems.sort(key=lambda p: p.line)
