"""One NMEA sentence body in, one `Sentence` report out.

Two parsers produce the same report: `parse_fast` handles the sentence
types that carry positions with plain byte slicing (a day's log is a quarter
of a million of them), and `parse_pynmea2` does the same through pynmea2, the
project's reference parser. The tests cross-check both on every recorded log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from datetime import time as dt_time
from functools import lru_cache
from typing import NamedTuple

import pynmea2

#: Talker IDs of satellite navigation receivers (GPS, multi-GNSS, GLONASS,
#: Galileo, BeiDou twice, QZSS, NavIC).
GNSS_TALKERS = frozenset({"GP", "GN", "GL", "GA", "GB", "BD", "GQ", "GI"})

#: FAA mode indicator letters that mean "this is not a real fix".
_NO_FIX_MODES = frozenset("NSV")  # not valid, simulator, (V: some units' "void")
_FAA_QUALITY = {"A": 1, "D": 2, "P": 3, "R": 4, "F": 5, "E": 6, "M": 7}


class MalformedSentence(ValueError):
    """A sentence with a valid checksum whose fields make no sense."""


#: What a garbled field can make Python's parsing raise (a huge exponent overflows, a short field indexes out).
_GARBLE = (ValueError, UnicodeDecodeError, ArithmeticError, IndexError)


class Sentence(NamedTuple):
    """What one sentence says about its epoch; ``None`` means "not said".

    ``valid`` is True when the sentence states a usable fix, False when it
    states there is none (status V, quality 0, mode N) or a simulated one,
    and None for sentences that do not speak about fix validity.
    """

    kind: str
    tod_ms: int | None = None
    date: date | None = None
    lat: float | None = None
    lon: float | None = None
    valid: bool | None = None
    quality: int | None = None
    speed_kn: float | None = None
    course: float | None = None
    alt: float | None = None
    sats: int | None = None
    hdop: float | None = None
    pdop: float | None = None
    gsa_mode: int | None = None
    simulated: bool = False
    #: A GSV that is not the last of its set (more parts to come).
    more: bool = False


# --------------------------------------------------------------------------
# Field helpers (bytes in)


def _digits(v: bytes) -> bool:
    """Only ASCII digits (``bytes.isdigit`` takes no signs, spaces, underscores, exponents or NaN)."""
    return v.isdigit()


def _decimal(v: bytes) -> bool:
    """NMEA's number syntax, ``[-]digits[.digits]``: what Python's ``float`` would also read as an
    exponent, ``inf``, ``nan``, underscores or spaces is refused here."""
    if v[:1] == b"-":
        v = v[1:]
    whole, dot, frac = v.partition(b".")
    return (whole.isdigit() or (not whole and dot == b".")) and (not frac or frac.isdigit()) and bool(whole or frac)


@lru_cache(maxsize=16)  # RMC, GGA and GLL of one epoch repeat the same fields
def _tod(v: bytes) -> int | None:
    """``hhmmss[.sss]`` to milliseconds since midnight."""
    if not v:
        return None
    if len(v) < 6 or not _digits(v[:6]) or (len(v) > 6 and (v[6:7] != b"." or not (v[7:] == b"" or _digits(v[7:])))):
        raise MalformedSentence(f"bad time {v!r}")
    h, m, s = int(v[0:2]), int(v[2:4]), int(v[4:6])
    if h > 23 or m > 59 or s > 60:
        raise MalformedSentence(f"bad time {v!r}")
    ms = (h * 3600 + m * 60 + s) * 1000
    if len(v) > 7:
        ms += round(int(v[7:]) / 10 ** (len(v) - 7) * 1000)
    return ms


@lru_cache(maxsize=16)
def _coord(v: bytes, hemi: bytes, negative: bytes, limit: int) -> float | None:
    """``dddmm.mmmm`` plus hemisphere to signed degrees; no sign of its own (the hemisphere gives it)."""
    if not v or not hemi:
        return None
    if hemi not in _HEMISPHERES[negative] or v[:1] == b"-" or not _decimal(v):
        raise MalformedSentence(f"bad coordinate {v!r},{hemi!r}")
    dot = v.find(b".")
    if dot < 0:
        dot = len(v)
    if dot < 2:
        raise MalformedSentence(f"bad coordinate {v!r}")
    minutes = float(v[dot - 2 :])
    if minutes >= 60.0:
        raise MalformedSentence(f"bad coordinate {v!r}")
    deg = (int(v[: dot - 2]) if dot > 2 else 0) + minutes / 60.0
    if deg > limit:
        raise MalformedSentence(f"coordinate out of range {v!r}")
    return -deg if hemi == negative else deg


#: The hemisphere letters that go with each "negative" letter: latitude N/S, longitude E/W.
_HEMISPHERES = {b"S": (b"N", b"S"), b"W": (b"E", b"W")}


def _float(v: bytes) -> float | None:
    if not v:
        return None
    if not _decimal(v):
        raise MalformedSentence(f"bad number {v!r}")
    return float(v)


def _int(v: bytes) -> int | None:
    if not v:
        return None
    if not _digits(v):
        raise MalformedSentence(f"bad whole number {v!r}")
    return int(v)


def _ddmmyy(v: bytes) -> date | None:
    if len(v) != 6:
        return None
    if not _digits(v):
        raise MalformedSentence(f"bad date {v!r}")
    day, month, yy = int(v[0:2]), int(v[2:4]), int(v[4:6])
    if day == 0 or month == 0:
        return None  # receivers send 000000 before they know the date
    # NMEA's two-digit year: 80-99 is the 20th century (GPS started 1980).
    try:
        return date(1900 + yy if yy >= 80 else 2000 + yy, month, day)
    except ValueError as exc:
        raise MalformedSentence(f"bad date {v!r}") from exc


def _field(fields: list[bytes], i: int) -> bytes:
    return fields[i] if i < len(fields) else b""


# --------------------------------------------------------------------------
# Fast path


def _rmc(f: list[bytes]) -> Sentence:
    if len(f) < 10:
        raise MalformedSentence("RMC with too few fields")
    mode = _field(f, 12)[:1].decode()
    valid = f[2] == b"A" and mode not in _NO_FIX_MODES
    return Sentence(
        "RMC",
        tod_ms=_tod(f[1]),
        date=_ddmmyy(f[9]) if f[2] == b"A" else None,  # a void RMC's date can be garbage
        lat=_coord(f[3], f[4], b"S", 90),
        lon=_coord(f[5], f[6], b"W", 180),
        valid=valid,
        quality=_FAA_QUALITY.get(mode, 1) if valid else 0,
        speed_kn=_float(f[7]),
        course=_float(f[8]),
        simulated=mode == "S",
    )


def _gga(f: list[bytes]) -> Sentence:
    if len(f) < 10:
        raise MalformedSentence("GGA with too few fields")
    quality = _int(f[6]) or 0
    return Sentence(
        "GGA",
        tod_ms=_tod(f[1]),
        lat=_coord(f[2], f[3], b"S", 90),
        lon=_coord(f[4], f[5], b"W", 180),
        valid=1 <= quality <= 6,
        quality=quality,
        sats=_int(f[7]),
        hdop=_float(f[8]),
        alt=_float(f[9]),
        simulated=quality == 8,
    )


def _gns(f: list[bytes]) -> Sentence:
    if len(f) < 10:
        raise MalformedSentence("GNS with too few fields")
    modes = f[6].decode()
    usable = [m for m in modes if m not in _NO_FIX_MODES]
    valid = bool(usable)
    return Sentence(
        "GNS",
        tod_ms=_tod(f[1]),
        lat=_coord(f[2], f[3], b"S", 90),
        lon=_coord(f[4], f[5], b"W", 180),
        valid=valid,
        quality=max(_FAA_QUALITY.get(m, 1) for m in usable) if valid else 0,
        sats=_int(f[7]),
        hdop=_float(f[8]),
        alt=_float(f[9]),
        simulated="S" in modes,
    )


def _gll(f: list[bytes]) -> Sentence:
    if len(f) < 7:
        raise MalformedSentence("GLL with too few fields")
    mode = _field(f, 7)[:1].decode()
    valid = f[6] == b"A" and mode not in _NO_FIX_MODES
    return Sentence(
        "GLL",
        tod_ms=_tod(f[5]),
        lat=_coord(f[1], f[2], b"S", 90),
        lon=_coord(f[3], f[4], b"W", 180),
        valid=valid,
        quality=_FAA_QUALITY.get(mode, 1) if valid else 0,
        simulated=mode == "S",
    )


def _vtg(f: list[bytes]) -> Sentence:
    if len(f) < 8:
        raise MalformedSentence("VTG with too few fields")
    if f[2] == b"T" or len(f) >= 9:
        course, knots, kmh = f[1], f[5], f[7]
    else:  # NMEA 1.x: course true, course magnetic, knots, km/h
        course, knots, kmh = f[1], f[3], f[4]
    speed = _float(knots)
    if speed is None:
        kmh_speed = _float(kmh)  # km/h read only when the knots are not said
        if kmh_speed is not None:
            speed = kmh_speed / 1.852
    return Sentence("VTG", course=_float(course), speed_kn=speed)


def _gsa(f: list[bytes]) -> Sentence:
    if len(f) < 18:
        raise MalformedSentence("GSA with too few fields")
    return Sentence(
        "GSA",
        gsa_mode=_int(f[2]),
        pdop=_float(f[15]),
        hdop=_float(f[16]),
    )


def _zda(f: list[bytes]) -> Sentence:
    if len(f) < 5:
        raise MalformedSentence("ZDA with too few fields")
    day = None
    if f[2] and f[3] and f[4] and int(f[4]) > 0:
        try:
            day = date(int(f[4]), int(f[3]), int(f[2]))
        except ValueError as exc:
            raise MalformedSentence(f"bad ZDA date {f[2:5]!r}") from exc
    return Sentence("ZDA", tod_ms=_tod(f[1]), date=day)


def _more_to_come(total: bytes | str | None, part: bytes | str | None) -> bool:
    """A GSV's "part N of M" says more parts follow."""
    return bool(total and part and total.isdigit() and part.isdigit() and int(part) < int(total))


def _gsv(f: list[bytes]) -> Sentence:
    return Sentence("GSV", more=_more_to_come(_field(f, 1), _field(f, 2)))


_FAST: dict[bytes, Callable[[list[bytes]], Sentence]] = {
    b"RMC": _rmc,
    b"GGA": _gga,
    b"GNS": _gns,
    b"GLL": _gll,
    b"VTG": _vtg,
    b"GSA": _gsa,
    b"ZDA": _zda,
    b"GSV": _gsv,
}


def sentence_kind(body: bytes) -> bytes | None:
    """The three-letter type of a GNSS sentence, or None for others.

    Proprietary (``P...``) and non-GNSS talkers (``SD``, ``WI``...) give None.
    """
    head = body[:6]
    if len(head) < 6 or head[5:6] != b"," or head[:2].decode("latin-1") not in GNSS_TALKERS:
        return None
    return head[2:5]


#: ``b"GPRMC,"`` -> handler, for every talker and type: one dict lookup per sentence.
_BY_HEAD = {t.encode() + k + b",": h for t in GNSS_TALKERS for k, h in _FAST.items()}


def parse_fast(body: bytes) -> Sentence | None:
    """Parse a checksum-verified body (``GPRMC,...``); None if not ours.

    Raises `MalformedSentence` for garbled fields (anything a field's text can make Python's number and
    date parsing raise).
    """
    handler = _BY_HEAD.get(body[:6])
    if handler is None:
        return None
    try:
        return handler(body.split(b","))
    except MalformedSentence:
        raise
    except _GARBLE as exc:
        raise MalformedSentence(f"{type(exc).__name__}: {exc}") from exc


# --------------------------------------------------------------------------
# Reference path through pynmea2


def _ms(t: dt_time | None) -> int | None:
    if t is None:
        return None
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1000 + round(t.microsecond / 1000)


# pynmea2's fields are the sentence's text, or what the field's converter made of it (float, int), or None.
def _pf(v: str | float | None) -> float | None:
    return float(v) if v not in (None, "") else None


def _pi(v: str | int | None) -> int | None:
    return int(v) if v not in (None, "") else None


def _pll(msg: pynmea2.NMEASentence) -> tuple[float | None, float | None]:
    if not msg.lat or not msg.lat_dir or not msg.lon or not msg.lon_dir:
        return None, None
    return msg.latitude, msg.longitude


def parse_pynmea2(body: bytes) -> Sentence | None:
    """Same report as `parse_fast`, built from pynmea2's sentence objects."""
    kind = sentence_kind(body)
    if kind is None or kind not in _FAST:
        return None
    try:
        msg = pynmea2.parse("$" + body.decode("ascii"))
        return _from_pynmea2(kind.decode(), msg)
    except (pynmea2.ParseError, TypeError, AttributeError, *_GARBLE) as exc:
        raise MalformedSentence(f"{type(exc).__name__}: {exc}") from exc


def _from_pynmea2(kind: str, msg: pynmea2.NMEASentence) -> Sentence:
    if kind == "RMC":
        mode = (getattr(msg, "mode_indicator", "") or "")[:1]
        valid = msg.status == "A" and mode not in _NO_FIX_MODES
        lat, lon = _pll(msg)
        return Sentence(
            "RMC", _ms(msg.timestamp), msg.datestamp if msg.status == "A" else None, lat, lon, valid,
            _FAA_QUALITY.get(mode, 1) if valid else 0,
            speed_kn=_pf(msg.spd_over_grnd), course=_pf(msg.true_course),
            simulated=mode == "S",
        )
    if kind in ("GGA", "GNS"):
        lat, lon = _pll(msg)
        if kind == "GGA":
            quality = _pi(msg.gps_qual) or 0
            valid, simulated = 1 <= quality <= 6, quality == 8
        else:
            usable = [m for m in msg.mode_indicator if m not in _NO_FIX_MODES]
            valid, simulated = bool(usable), "S" in msg.mode_indicator
            quality = max(_FAA_QUALITY.get(m, 1) for m in usable) if valid else 0
        return Sentence(
            kind, _ms(msg.timestamp), None, lat, lon, valid, quality,
            alt=_pf(msg.altitude), sats=_pi(msg.num_sats),
            hdop=_pf(msg.horizontal_dil), simulated=simulated,
        )
    if kind == "GLL":
        mode = (getattr(msg, "faa_mode", "") or "")[:1]
        valid = msg.status == "A" and mode not in _NO_FIX_MODES
        lat, lon = _pll(msg)
        return Sentence(
            "GLL", _ms(msg.timestamp), None, lat, lon, valid,
            _FAA_QUALITY.get(mode, 1) if valid else 0, simulated=mode == "S",
        )
    if kind == "VTG":
        speed = _pf(msg.spd_over_grnd_kts)
        if speed is None and msg.spd_over_grnd_kmph not in (None, ""):
            speed = float(msg.spd_over_grnd_kmph) / 1.852
        return Sentence("VTG", course=_pf(msg.true_track), speed_kn=speed)
    if kind == "GSA":
        return Sentence("GSA", gsa_mode=_pi(msg.mode_fix_type), pdop=_pf(msg.pdop), hdop=_pf(msg.hdop))
    if kind == "ZDA":
        day = None
        if msg.day and msg.month and msg.year and int(msg.year) > 0:
            day = date(int(msg.year), int(msg.month), int(msg.day))
        return Sentence("ZDA", _ms(msg.timestamp), day)
    return Sentence("GSV", more=_more_to_come(msg.num_messages, msg.msg_num))
