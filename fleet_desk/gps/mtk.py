"""The binary log of MediaTek-chipset GPS data loggers (i-Blue 747, Qstarz BT-Q1000, Holux M-241, GR-245 and kin).

The logger's flash is a run of 64 KiB sectors. Each sector opens with a
0x200-byte header (record count, the field bitmask in force, log policy and
period/distance/speed settings); records follow. A record holds the fields
the bitmask selects, in bit order, little-endian, then a checksum byte (the
XOR of the record's bytes), preceded by ``*`` except on Holux units. 16-byte
marker blocks (``AA``x6.., kind, value, ``BB``x4) between records change the
bitmask or note a power-on; Holux units also write 16-byte ``HOLUX...``
labels. ``FF FF FF FF`` ends a sector's data.

The field layouts are GPSBabel's (``mtk_logger.cc``), which this decoder matches on every field it reports:

- generic MTK: latitude and longitude 8-byte doubles, height and speed (km/h) 4-byte floats;
- Holux M-241 (``HOLUXGR241...`` labels): latitude and longitude 4-byte floats, the height a 3-byte float
  (a float32 without its low byte), bit 31 of the bitmask a 'low precision' flag, not a field;
- Holux GR-245 / GPSport 245 and M-1200 (from a ``HOLUXGR245`` or ``HOLUXM1200`` label on): as the M-241,
  but the height and speed swap places: the HEIGHT bit holds the speed as a 4-byte integer in cm/s, the
  SPEED bit the 3-byte height. Read as an M-241, such a log says 1e-42 m and 80 m/s at walking pace.

Every record is checked before it becomes a point: its checksum, then the plausibility rules of
`fleet_desk.gps.plausible` (position, time not in the future, speed, course, altitude, dilution). A record
failing them is counted in `MtkStats`, never returned; nothing in the bytes makes decoding raise (only a
file that is no MTK dump at all is refused, with `MtkFormatError`).

Plain Python over the bytes; no I/O.
"""

from __future__ import annotations

import dataclasses
import logging
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC as TZ_UTC
from datetime import datetime
from functools import lru_cache
from itertools import repeat
from typing import NamedTuple

import numpy as np

from fleet_desk.gps import plausible
from fleet_desk.gps.fix import Fix

log = logging.getLogger(__name__)

SECTOR = 0x10000
SECTOR_HEADER = 0x200
MARKER_START, MARKER_END = b"\xaa" * 6, b"\xbb" * 4  # GPSBabel's test: bytes 0-5 and 12-15
HOLUX_LABEL = b"HOLUX"
GR245_LABELS = (b"HOLUXGR245", b"HOLUXM1200")  # from here on height and speed are swapped
HOLUX_LOW_PRECISION_BIT = 1 << 31
_ERASED = b"\xff\xff\xff\xff"
#: The logger's memory as read: a dump file's bytes, or the bytearray a download grows (`MtkStream.data`).
type Memory = bytes | bytearray

# Field bits of the log format, with their sizes (standard MTK) in bit order.
UTC, VALID, LATITUDE, LONGITUDE, HEIGHT, SPEED, HEADING, DSTA, DAGE, PDOP, HDOP, VDOP, NSAT, SID, ELEVATION, \
    AZIMUTH, SNR, RCR, MILLISECOND, DISTANCE = range(20)
SIZES = {UTC: 4, VALID: 2, LATITUDE: 8, LONGITUDE: 8, HEIGHT: 4, SPEED: 4, HEADING: 4, DSTA: 2, DAGE: 4, PDOP: 2,
         HDOP: 2, VDOP: 2, NSAT: 2, SID: 4, ELEVATION: 2, AZIMUTH: 2, SNR: 2, RCR: 2, MILLISECOND: 2, DISTANCE: 8}
PER_SATELLITE = (ELEVATION, AZIMUTH, SNR)  # stored with each SID entry

#: The VALID field: what kind of fix the record had.
FIX_NONE, FIX_SPS, FIX_DGPS, FIX_PPS, FIX_ESTIMATED = 0x01, 0x02, 0x04, 0x08, 0x40
GOOD_FIXES = {FIX_SPS, FIX_DGPS, FIX_PPS}
RCR_BUTTON = 0x08  # the driver pressed the logger's button here
KMH_PER_MPS = 3.6


class MtkFormatError(ValueError):
    """The bytes are not an MTK logger dump."""


class MtkPoint(NamedTuple):
    """One record from a logger's memory in the logger's own terms (km/h, its fix kind, the button flag).

    `fix` makes it the `Fix` every source yields; a point logged without a fix is counted, not a position.
    """

    time_ms: int
    lat: float
    lon: float
    height_m: float | None
    speed_kmh: float | None
    heading_deg: float | None
    valid: int | None  # FIX_* (None: the bitmask does not log it)
    sats_used: int | None
    hdop: float | None
    pdop: float | None
    vdop: float | None
    button: bool

    @property
    def has_fix(self) -> bool:
        """Whether the logger had a fix here: a good fix kind, or a log that does not record the fix kind."""
        return self.valid is None or self.valid in GOOD_FIXES

    def fix(self) -> Fix | None:
        """As the store takes it; None for a point logged without a fix (kept by the logger, not a position)."""
        if not self.has_fix:
            return None
        return Fix(time=datetime.fromtimestamp(self.time_ms / 1000, TZ_UTC), lat=self.lat, lon=self.lon,
                   speed_mps=self.speed_kmh / KMH_PER_MPS if self.speed_kmh is not None else None,
                   course_deg=self.heading_deg, alt_m=self.height_m,
                   fix_quality=2 if self.valid == FIX_DGPS else 1, mode=3 if self.height_m is not None else 2,
                   sats=self.sats_used, hdop=self.hdop, pdop=self.pdop)


@dataclass
class MtkStats:
    """What a dump held besides its points: the records read and those set aside, and why (torn by a
    power-off, bad checksum, no position, impossible values, unreadable), so a dock or an import can say what
    was lost; also the logger's logging settings as its first sector states them."""

    records: int = 0
    bad_checksums: int = 0
    torn_records: int = 0  # cut short by a power-off
    no_position: int = 0  # a record without time or lat/lon (bitmask) or at 0,0 without a fix
    implausible: int = 0  # checksum right, values impossible (see fleet_desk.gps.plausible): not a point
    malformed: int = 0  # a record the decoder could not make sense of at all (skipped, logged)
    markers: int = 0
    sectors: int = 0
    settings: dict[str, float] = field(default_factory=dict)  # period_s, distance_m, speed_kmh


class _Field(NamedTuple):
    name: str  # what the bytes mean (on a GR-245 the HEIGHT bit's field is the speed)
    size: int
    kind: str  # how the bytes are read: u4 u2 f4 f8 f3 (float32 without its low byte) cms (int32 cm/s) nsat sid


_STANDARD = {UTC: _Field("time", 4, "u4"), VALID: _Field("valid", 2, "u2"), LATITUDE: _Field("lat", 8, "f8"),
             LONGITUDE: _Field("lon", 8, "f8"), HEIGHT: _Field("height", 4, "f4"), SPEED: _Field("speed", 4, "f4"),
             HEADING: _Field("heading", 4, "f4"), DSTA: _Field("dsta", 2, "u2"), DAGE: _Field("dage", 4, "f4"),
             PDOP: _Field("pdop", 2, "u2"), HDOP: _Field("hdop", 2, "u2"), VDOP: _Field("vdop", 2, "u2"),
             NSAT: _Field("sats", 2, "nsat"), SID: _Field("sid", 4, "sid"), RCR: _Field("rcr", 2, "u2"),
             MILLISECOND: _Field("ms", 2, "u2"), DISTANCE: _Field("distance", 8, "f8")}


@lru_cache(maxsize=64)
def _fields(bitmask: int, holux: bool, gr245: bool) -> tuple[_Field, ...]:
    """The fields a record holds, in order, as GPSBabel reads them (bits 20-31 take no bytes)."""
    out = []
    for bit in range(20):
        if not bitmask & (1 << bit) or bit in PER_SATELLITE:
            continue
        f = _STANDARD[bit]
        if holux and bit in (LATITUDE, LONGITUDE):
            f = f._replace(size=4, kind="f4")
        elif gr245 and bit == HEIGHT:
            f = _Field("speed", 4, "cms")
        elif gr245 and bit == SPEED:
            f = _Field("height", 3, "f3")
        elif holux and bit == HEIGHT:
            f = f._replace(size=3, kind="f3")
        out.append(f)
    return tuple(out)


@dataclass
class _Layout:
    bitmask: int
    holux: bool
    gr245: bool = False  # a Holux GR-245 / M-1200 label was seen (implies holux)

    def fields(self) -> tuple[_Field, ...]:
        return _fields(self.bitmask, self.holux, self.gr245)

    def fixed_length(self) -> int:
        """The record's length with no satellites listed (the shortest it can be), checksum included."""
        return (1 if self.holux else 2) + sum(f.size for f in self.fields())


def looks_like_holux(data: Memory) -> bool:
    """Holux units label their log; a generic MTK logger does not."""
    return data.find(HOLUX_LABEL, 0, SECTOR) >= 0


def decode(data: bytes, holux: bool | None = None, stats: MtkStats | None = None) -> Iterator[MtkPoint]:
    """The dump's track points in the order they were logged. ``holux``: None detects the variant."""
    stream = MtkStream(holux, stats)
    yield from stream.feed(data)
    yield from stream.finish()


class MtkStream:
    """Decodes a log as it downloads: feed the memory's bytes in order; a sector's points come out once the
    sector is complete (the points of an unfinished last one at `finish`)."""

    def __init__(self, holux: bool | None = None, stats: MtkStats | None = None) -> None:
        self.holux = holux
        self.stats = stats if stats is not None else MtkStats()
        self.data = bytearray()
        self._layout: _Layout | None = None
        self._decoded = 0  # bytes of whole sectors decoded
        self._ended = False  # an erased sector was seen: nothing after it is log

    def feed(self, chunk: bytes) -> list[MtkPoint]:
        """Take the memory's next bytes; returns the points of every sector they complete."""
        self.data += chunk
        points: list[MtkPoint] = []
        while not self._ended and len(self.data) - self._decoded >= SECTOR:
            points += self._decode_sector(self._decoded, self._decoded + SECTOR, self.stats)
            self._decoded += SECTOR
        return points

    def finish(self) -> list[MtkPoint]:
        """The points of the last, unfinished sector (a log that ends mid-sector, or a cut download)."""
        if self._ended or len(self.data) <= self._decoded:
            if not self.data:
                raise MtkFormatError("0 bytes: empty, not an MTK logger dump")
            return []
        points = self._decode_sector(self._decoded, len(self.data), self.stats)
        self._decoded = len(self.data)
        return points

    def records_so_far(self) -> int:
        """Records in the bytes fed so far, the unfinished sector included (for progress; decodes a copy)."""
        start, end = self._decoded, len(self.data)
        if self._ended or end - start < SECTOR_HEADER + 16:
            return self.stats.records
        probe = MtkStats()
        try:
            layout = self._layout or self._first_layout(probe)
        except MtkFormatError:
            return 0
        for _ in _sector(self.data, start, end, dataclasses.replace(layout), probe, _latest_ms()):
            pass
        return self.stats.records + probe.records

    def _decode_sector(self, start: int, end: int, stats: MtkStats) -> list[MtkPoint]:
        return list(self._sector_points(start, end, stats))

    def _sector_points(self, start: int, end: int, stats: MtkStats) -> Iterator[MtkPoint]:
        data = self.data
        if end - start < SECTOR_HEADER + 16:
            if start == 0:
                raise MtkFormatError(f"{end} bytes: too short for an MTK logger dump (at least one 64 KiB sector)")
            return
        if self._layout is None:
            self._layout = self._first_layout(stats)
        if data[start:start + 6] == b"\xff" * 6:
            self._ended = True  # an erased sector: the log ends before it
            return
        stats.sectors += 1
        yield from _sector(data, start, end, self._layout, stats, _latest_ms())

    def _first_layout(self, stats: MtkStats) -> _Layout:
        data = self.data
        holux = looks_like_holux(data) if self.holux is None else self.holux
        layout = _Layout(_sector_bitmask(data, 0, holux), holux)
        if layout.bitmask in (0, 0xFFFFFFFF) or not layout.bitmask & (1 << UTC):
            raise MtkFormatError("no valid log format in the first sector header (is this an MTK logger dump?)")
        period, distance, speed = struct.unpack_from("<III", data, 8)
        stats.settings = {"period_s": period / 10, "distance_m": distance / 10, "speed_kmh": speed / 10}
        return layout


def _latest_ms() -> int:
    """The latest record time believed, in ms since the epoch (see `plausible.latest_time`)."""
    return int(plausible.latest_time().timestamp() * 1000)


def _sector_bitmask(data: Memory, start: int, holux: bool) -> int:
    mask = struct.unpack_from("<I", data, start + 2)[0]
    return mask & ~HOLUX_LOW_PRECISION_BIT if holux else mask


def _sector(data: Memory, start: int, end: int, layout: _Layout, stats: MtkStats,
            latest_ms: int) -> Iterator[MtkPoint]:
    pos = start + SECTOR_HEADER
    while pos + 4 <= end:
        head = bytes(data[pos:pos + 16])
        if head[:4] == _ERASED:
            return  # the rest of the sector is unwritten
        if head[:6] == MARKER_START and head[12:16] == MARKER_END:
            _marker(head, layout, stats)
            pos += 16
            continue
        if layout.holux and head[:5] == HOLUX_LABEL:
            layout.gr245 = layout.gr245 or head[:10] in GR245_LABELS
            pos += 20 if data[pos + 16:pos + 20] == b"    " else 16
            continue
        if pos + layout.fixed_length() > end:
            return
        try:  # the one guard: whatever a record's bytes hold, it is counted and decoding goes on
            points, after = _run(data, pos, end, layout, stats, latest_ms)
            if after == pos:
                try:
                    point, length = _record(data, pos, layout, stats, latest_ms)
                except (struct.error, IndexError):  # the bytes end inside this record (a download cut short)
                    stats.torn_records += 1
                    return
        except Exception as exc:
            stats.malformed += 1  # said once per log, then only counted: a garbage dump would flood the log
            (log.warning if stats.malformed == 1 else log.debug)(
                "MTK log at byte %#x: record not understood (%r); skipped, decoding goes on", pos, exc)
            pos += layout.fixed_length()
            continue
        if after != pos:  # a run of records decoded at once; look again at what stopped it
            yield from points
            pos = after
            continue
        pos += length
        if point is not None:
            yield point


_DTYPES = {"u4": "<u4", "u2": "<u2", "f4": "<f4", "f8": "<f8", "f3": ("u1", (3,)), "cms": "<i4",
           "nsat": ("u1", (2,))}


@lru_cache(maxsize=64)
def _record_dtype(layout: tuple[_Field, ...], holux: bool) -> tuple[np.dtype, int] | None:
    """The numpy layout of one record and its body length, when records have a fixed length (no satellite list)."""
    if any(f.kind == "sid" for f in layout):
        return None
    offsets, off = [], 0
    for f in layout:
        offsets.append(off)
        off += f.size
    length = off + (1 if holux else 2)
    return np.dtype({"names": [f.name for f in layout], "formats": [_DTYPES[f.kind] for f in layout],
                     "offsets": offsets, "itemsize": length}), off


def _run(data: Memory, pos: int, end: int, layout: _Layout, stats: MtkStats,
         latest_ms: int) -> tuple[list[MtkPoint], int]:
    """The fixed-length records from ``pos`` up to the next marker, label or flaw, decoded at once (the same
    results as `_record` one by one, many times faster); returns them and where the run stopped."""
    fields = layout.fields()
    shape = _record_dtype(fields, layout.holux)
    if shape is None:
        return [], pos
    dtype, body = shape
    length = dtype.itemsize
    stop = end
    for needle in (MARKER_START, HOLUX_LABEL, _ERASED) if layout.holux else (MARKER_START, _ERASED):
        i = data.find(needle, pos, end)
        while i >= 0 and (i - pos) % length:  # only at a record boundary
            i = data.find(needle, i + 1, end)
        if i >= 0:
            stop = min(stop, i)
    count = (stop - pos) // length
    if count <= 0:
        return [], pos
    raw = np.frombuffer(bytes(data[pos:pos + count * length]), dtype=np.uint8).reshape(count, length)
    ok = np.bitwise_xor.reduce(raw[:, :body], axis=1) == raw[:, length - 1]
    if not layout.holux:
        ok &= raw[:, body] == 0x2A
    flaws = np.flatnonzero(~ok)
    n = int(flaws[0]) if len(flaws) else count
    if n == 0:
        return [], pos
    rec = raw[:n].copy().view(dtype).reshape(n)
    after = pos + n * length
    names = {f.name for f in fields}  # the record dtype's names
    if not {"time", "lat", "lon"} <= names:
        stats.records += n
        stats.no_position += n
        return [], after
    with np.errstate(invalid="ignore", over="ignore"):  # NaN bit patterns are judged below, not warned about
        col = _columns(rec, names)
        lat, lon, times = col["lat"], col["lon"], col["time"]
        bogus = np.zeros(n, dtype=bool)
        if "valid" in col:  # a logger with no fix writes a bogus position; not a point
            bogus = ~np.isin(col["valid"], list(GOOD_FIXES)) & (lon < 0.000001) & (lat - 90.0 < 0.000001)
        believable = _believable_rows(col, latest_ms)
    keep = ~bogus & believable
    kept = int(np.count_nonzero(keep))
    stats.records += n
    stats.no_position += int(np.count_nonzero(bogus))
    stats.implausible += int(np.count_nonzero(~bogus & ~believable))

    def column(name: str) -> Iterable[float | None]:
        return col[name][keep].tolist() if name in col else repeat(None)

    points = list(map(MtkPoint, times[keep].tolist(), lat[keep].tolist(), lon[keep].tolist(), column("height"),
                      column("speed"), column("heading"), column("valid"), column("sats"), column("hdop"),
                      column("pdop"), column("vdop"),
                      column("rcr") if "rcr" in col else repeat(False, kept)))
    return points, after


_HEIGHT_SHIFTS = np.array([8, 16, 24], dtype=np.uint32)


def _columns(rec: np.ndarray, names: set[str]) -> dict[str, np.ndarray]:
    """A run's fields as the values `_record` gives one by one (float64 for floats, the same roundings)."""
    col: dict[str, np.ndarray] = {"lat": rec["lat"].astype(np.float64), "lon": rec["lon"].astype(np.float64)}
    ms = rec["ms"].astype(np.int64) if "ms" in names else 0
    col["time"] = rec["time"].astype(np.int64) * 1000 + ms
    if "height" in names:
        height = rec["height"]
        if height.ndim == 2:  # Holux: a float32 without its low byte
            height = (height.astype(np.uint32) << _HEIGHT_SHIFTS).sum(axis=1, dtype=np.uint32).view(np.float32)
        col["height"] = height.astype(np.float64)
    if "speed" in names:
        speed = rec["speed"]
        if speed.dtype.kind == "i":  # GR-245: cm/s, made km/h in a float32 as GPSBabel does
            speed = (speed.astype(np.float64) * KMH_PER_MPS / 100).astype(np.float32)
        col["speed"] = speed.astype(np.float64)
    if "heading" in names:
        col["heading"] = rec["heading"].astype(np.float64)
    if "valid" in names:
        col["valid"] = rec["valid"]
    if "sats" in names:
        col["sats"] = rec["sats"][:, 1]  # [0] in view, [1] used
    for dop in ("hdop", "pdop", "vdop"):
        if dop in names:
            col[dop] = rec[dop].astype(np.float64) / 100
    if "rcr" in names:
        col["rcr"] = (rec["rcr"] & RCR_BUTTON) != 0
    return col


def _believable_rows(col: dict[str, np.ndarray], latest_ms: int) -> np.ndarray:
    """`_believable` for a whole run at once (the same rules of `plausible`, as comparisons that NaN fails)."""
    lat, lon = col["lat"], col["lon"]
    ok = (-90.0 <= lat) & (lat <= 90.0) & (-180.0 <= lon) & (lon <= 180.0) & (col["time"] <= latest_ms)
    if "speed" in col:
        mps = col["speed"] / KMH_PER_MPS
        ok &= (0.0 <= mps) & (mps <= plausible.MAX_SPEED_MPS)
    if "heading" in col:
        ok &= (0.0 <= col["heading"]) & (col["heading"] <= plausible.MAX_COURSE_DEG)
    if "height" in col:
        ok &= (plausible.MIN_ALT_M <= col["height"]) & (col["height"] <= plausible.MAX_ALT_M)
    for dop in ("hdop", "pdop", "vdop"):
        if dop in col:
            ok &= (0.0 <= col[dop]) & (col[dop] <= plausible.MAX_DOP)
    return ok


def _believable(p: MtkPoint, latest_ms: int) -> bool:
    """The plausibility rules every decoder applies (`fleet_desk.gps.plausible`), for one point."""
    return (plausible.position(p.lat, p.lon) and p.time_ms <= latest_ms
            and plausible.speed(None if p.speed_kmh is None else p.speed_kmh / KMH_PER_MPS)
            and plausible.course(p.heading_deg) and plausible.altitude(p.height_m)
            and plausible.dilution(p.hdop) and plausible.dilution(p.pdop) and plausible.dilution(p.vdop))


def _marker(block: bytes, layout: _Layout, stats: MtkStats) -> None:
    stats.markers += 1
    kind = block[7]
    if kind == 0x02:  # the bitmask changed from here on
        mask = struct.unpack_from("<I", block, 8)[0]
        layout.bitmask = mask & ~HOLUX_LOW_PRECISION_BIT if layout.holux else mask


_FLOAT = struct.Struct("<f")
_READ = {"u4": struct.Struct("<I").unpack_from, "u2": struct.Struct("<H").unpack_from, "f4": _FLOAT.unpack_from,
         "f8": struct.Struct("<d").unpack_from, "cms": struct.Struct("<i").unpack_from}


def _read(data: Memory, i: int, f: _Field) -> float | int:
    if f.kind == "f3":
        return _FLOAT.unpack(b"\x00" + bytes(data[i:i + 3]))[0]
    if f.kind == "nsat":
        return data[i + 1]  # [0] in view, [1] used
    value = _READ[f.kind](data, i)[0]
    if f.kind == "cms":  # GR-245: cm/s, made km/h in a float32 as GPSBabel does
        return _FLOAT.unpack(_FLOAT.pack(value * KMH_PER_MPS / 100))[0]
    return value


def _record(data: Memory, pos: int, layout: _Layout, stats: MtkStats, latest_ms: int) -> tuple[MtkPoint | None, int]:
    """One record at ``pos``: the point (None if unusable) and the record's length."""
    values: dict[str, float | int] = {}
    i = pos
    for f in layout.fields():
        if f.kind == "sid":
            i = _skip_satellites(data, i, layout)
            continue
        values[f.name] = _read(data, i, f)
        i += f.size
    body_end = i
    if not layout.holux:
        if data[i:i + 1] != b"*":
            if data[i:i + 1] == b"\xff":  # the logger lost power before finishing the record
                stats.torn_records += 1
                return None, i + 2 - pos
        else:
            i += 1
    checksum = 0
    for byte in data[pos:body_end]:
        checksum ^= byte
    length = i + 1 - pos
    stats.records += 1
    if i >= len(data) or data[i] != checksum:
        stats.bad_checksums += 1
        return None, length
    if "time" not in values or "lat" not in values or "lon" not in values:
        stats.no_position += 1
        return None, length
    said_valid, sats = values.get("valid"), values.get("sats")  # `_read` gives them as ints; int() says so
    valid = None if said_valid is None else int(said_valid)
    lat, lon = values["lat"], values["lon"]
    if valid is not None and valid not in GOOD_FIXES and lon < 0.000001 and lat - 90.0 < 0.000001:
        stats.no_position += 1  # a logger with no fix writes a bogus position; not a point
        return None, length

    def dop(name: str) -> float | None:
        return values[name] / 100 if name in values else None

    point = MtkPoint(
        time_ms=int(values["time"]) * 1000 + int(values.get("ms", 0)),
        lat=lat, lon=lon, height_m=values.get("height"), speed_kmh=values.get("speed"),
        heading_deg=values.get("heading"), valid=valid, sats_used=None if sats is None else int(sats),
        hdop=dop("hdop"), pdop=dop("pdop"), vdop=dop("vdop"), button=bool(int(values.get("rcr", 0)) & RCR_BUTTON))
    if not _believable(point, latest_ms):
        stats.implausible += 1
        return None, length
    return point, length


def _skip_satellites(data: Memory, i: int, layout: _Layout) -> int:
    """Past the SID block: one 4-byte entry if no satellite is listed, else one per satellite with its
    elevation, azimuth and SNR as the bitmask says."""
    count = struct.unpack_from("<H", data, i + 2)[0]
    if count == 0:
        return i + SIZES[SID]
    entry = SIZES[SID] + sum(SIZES[b] for b in PER_SATELLITE if layout.bitmask & (1 << b))
    return i + entry * min(count, 32)
