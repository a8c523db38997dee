"""Times as the store keeps them and as people at the depot read them: the one place that converts.

Inside, a time is integer milliseconds since the epoch, UTC (what the store
keeps), or an aware UTC datetime. At the edges, what people read is the
depot's local time: ``tz`` is the depot's zone, `TrackingRules.timezone`
(setting ``depot_timezone``), never whatever zone this machine happens to be
in. Only when that setting is left empty does ``tz`` come as None, and the
computer's own zone stands in for the depot's, as the setting documents.
A leaf: the standard library only, so every layer may use it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(when: datetime) -> int:
    """Aware datetime to integer milliseconds since the epoch."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def from_ms(ms: int) -> datetime:
    """Milliseconds since the epoch to an aware UTC datetime."""
    return _EPOCH + timedelta(milliseconds=ms)


def parse_utc(text: str) -> datetime:
    """ISO 8601 from the command line or a payload; a time with no offset is taken as UTC."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def iso_z(ms: int) -> str:
    """``2026-11-20T09:00:00Z``, with milliseconds only when the time has them (files, payloads, JSON)."""
    when = from_ms(ms)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if ms % 1000:
        text += f".{ms % 1000:03d}"
    return text + "Z"


def at_depot(ms: int, tz: tzinfo | None) -> datetime:
    """The depot's wall-clock time at ``ms`` (``tz`` None: the computer's zone, the setting being empty)."""
    return from_ms(ms).astimezone(tz)


def hhmm(ms: int | None, tz: tzinfo | None) -> str:
    """ "14:20" at the depot, to the nearest minute (as late minutes are counted, so an ETA of 03:11:40 reads
    03:12 beside "+12 min" for a 03:00 window end); empty for no time."""
    return "" if ms is None else at_depot(ms + 30_000, tz).strftime("%H:%M")


def hhmmss(ms: int | None, tz: tzinfo | None) -> str:
    """ "14:20:05" at the depot; empty for no time."""
    return "" if ms is None else at_depot(ms, tz).strftime("%H:%M:%S")


def day_hhmm(ms: int | None, tz: tzinfo | None) -> str:
    """ "20 Nov 14:20" at the depot: a time on a timeline that may span days; empty for no time."""
    return "" if ms is None else at_depot(ms + 30_000, tz).strftime("%d %b %H:%M")  # nearest minute


def date_time(ms: int, tz: tzinfo | None) -> str:
    """ "20 Nov 2026 14:20 CET" at the depot, to the nearest minute, its zone named: a time that may be long
    ago and is read on its own (when a road map was built), in the app and on the command line alike."""
    return at_depot(ms + 30_000, tz).strftime("%d %b %Y %H:%M %Z").rstrip()


def utc_hhmmss(when: datetime) -> str:
    """ "14:20:05Z": a fix's time of day in UTC, as the command line's running lines show it."""
    return when.astimezone(UTC).strftime("%H:%M:%SZ")


def utc_day(ms: int) -> str:
    """The UTC date at ``ms`` as ``YYYY-MM-DD`` (positions are thinned by whole UTC days)."""
    return from_ms(ms).date().isoformat()


def long_day(day: date) -> str:
    """ "Fri 20 Nov 2026": a calendar day (a manifest's), as people read it."""
    return day.strftime("%a %d %b %Y")


def duration(seconds: float) -> str:
    """ "5 s", "3 min 10 s", "2 h 05 min", "1 day", "3 days": how long something took, is left or has been
    (to the nearest second; never negative)."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} days" if s >= 172800 else "1 day"


def weekday(ms: int, tz: tzinfo | None) -> str:
    """ "Fri 20 Nov": the depot's day at ``ms``, as said to a customer."""
    return at_depot(ms, tz).strftime("%a %d %b")


def local_day(ms: int, tz: tzinfo | None) -> str:
    """The depot's date at ``ms`` as ``YYYY-MM-DD``: the service day routes belong to."""
    return at_depot(ms, tz).date().isoformat()


def zone_name(tz: tzinfo | None, ms: int) -> str:
    """The depot's zone as people name it: "Paris" for Europe/Paris, "Ho Chi Minh" for Asia/Ho_Chi_Minh; for no
    setting (``tz`` None), this computer's zone's abbreviation at ``ms`` ("UTC", "CET")."""
    key = getattr(tz, "key", None)
    if key:
        return key.rsplit("/", 1)[-1].replace("_", " ")
    return at_depot(ms, tz).tzname() or "local"


def depot_clock(ms: int, tz: tzinfo | None) -> str:
    """The depot's clock for the status bar: "Paris 07:28"; with no zone set, "07:28 UTC" (this computer's)."""
    now = at_depot(ms, tz).strftime("%H:%M")  # a clock shows the minute it is in, not the nearest one
    if getattr(tz, "key", None):
        return f"{zone_name(tz, ms)} {now}"
    return f"{now} {zone_name(tz, ms)}"
