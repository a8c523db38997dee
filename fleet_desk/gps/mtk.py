"""The binary log of MediaTek-chipset GPS data loggers (i-Blue 747, Qstarz BT-Q1000, Holux M-241 and kin).

The logger's flash is a run of 64 KiB sectors. Each sector opens with a
0x200-byte header (record count, the field bitmask in force, log policy and
period/distance/speed settings); records follow. A record holds the fields
the bitmask selects, in bit order, little-endian, then a checksum byte (the
XOR of the record's bytes), preceded by ``*`` except on Holux units. 16-byte
marker blocks (``AA``x7, kind, value, ``BB``x4) between records change the
bitmask or note a power-on; Holux units also write 16-byte ``HOLUX...``
labels. ``FF FF FF FF`` ends a sector's data. Holux M-241 stores latitude and
longitude as 4-byte floats and the height as a 3-byte float (its low byte
dropped).

Plain Python over the bytes; no I/O.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC as TZ_UTC
from datetime import datetime
from itertools import repeat
from typing import NamedTuple

import numpy as np

from fleet_desk.gps.fix import Fix

SECTOR = 0x10000
SECTOR_HEADER = 0x200
MARKER_START, MARKER_END = b"\xaa" * 7, b"\xbb" * 4
HOLUX_LABEL = b"HOLUX"
HOLUX_LOW_PRECISION_BIT = 1 << 31

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


class MtkFormatError(ValueError):
    """The bytes are not an MTK logger dump."""


class MtkPoint(NamedTuple):
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
        return self.valid is None or self.valid in GOOD_FIXES

    def fix(self) -> Fix | None:
        """As the store takes it; None for a point logged without a fix (kept by the logger, not a position)."""
        if not self.has_fix:
            return None
        return Fix(time=datetime.fromtimestamp(self.time_ms / 1000, TZ_UTC), lat=self.lat, lon=self.lon,
                   speed_mps=self.speed_kmh / 3.6 if self.speed_kmh is not None else None,
                   course_deg=self.heading_deg, alt_m=self.height_m,
                   fix_quality=2 if self.valid == FIX_DGPS else 1, mode=3 if self.height_m is not None else 2,
                   sats=self.sats_used, hdop=self.hdop, pdop=self.pdop)


@dataclass
class MtkStats:
    records: int = 0
    bad_checksums: int = 0
    torn_records: int = 0  # cut short by a power-off
    no_position: int = 0  # a record without lat/lon (bitmask) or at 0,0 without a fix
    markers: int = 0
    sectors: int = 0
    settings: dict[str, float] = field(default_factory=dict)  # period_s, distance_m, speed_kmh


@dataclass
class _Layout:
    bitmask: int
    holux: bool

    def size(self, bit: int) -> int:
        if self.holux and bit in (LATITUDE, LONGITUDE):
            return 4
        if self.holux and bit == HEIGHT:
            return 3
        return SIZES.get(bit, 0)

    def fixed_length(self) -> int:
        """The record's length with no satellites listed (the shortest it can be), checksum included."""
        n = 1 if self.holux else 2
        for bit in range(32):
            if self.bitmask & (1 << bit) and bit not in PER_SATELLITE:
                n += self.size(bit)
        return n


def looks_like_holux(data: bytes) -> bool:
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

    def __init__(self, holux: bool | None = None, stats: MtkStats | None = None):
        self.holux = holux
        self.stats = stats if stats is not None else MtkStats()
        self.data = bytearray()
        self._layout: _Layout | None = None
        self._decoded = 0  # bytes of whole sectors decoded
        self._ended = False  # an erased sector was seen: nothing after it is log

    def feed(self, chunk: bytes) -> list[MtkPoint]:
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
        for _ in _sector(self.data, start, end, _Layout(layout.bitmask, layout.holux), probe):
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
        yield from _sector(data, start, end, self._layout, stats)

    def _first_layout(self, stats: MtkStats) -> _Layout:
        data = self.data
        holux = looks_like_holux(data) if self.holux is None else self.holux
        layout = _Layout(_sector_bitmask(data, 0, holux), holux)
        if layout.bitmask in (0, 0xFFFFFFFF) or not layout.bitmask & (1 << UTC):
            raise MtkFormatError("no valid log format in the first sector header (is this an MTK logger dump?)")
        period, distance, speed = struct.unpack_from("<III", data, 8)
        stats.settings = {"period_s": period / 10, "distance_m": distance / 10, "speed_kmh": speed / 10}
        return layout


def _sector_bitmask(data: bytes, start: int, holux: bool) -> int:
    mask = struct.unpack_from("<I", data, start + 2)[0]
    return mask & ~HOLUX_LOW_PRECISION_BIT if holux else mask


def _sector(data: bytes, start: int, end: int, layout: _Layout, stats: MtkStats) -> Iterator[MtkPoint]:
    pos = start + SECTOR_HEADER
    while pos + 4 <= end:
        head = data[pos:pos + 16]
        if head[:4] == b"\xff\xff\xff\xff":
            return  # the rest of the sector is unwritten
        if head[:7] == MARKER_START and head[12:16] == MARKER_END:
            _marker(head, layout, stats)
            pos += 16
            continue
        if head[:5] == HOLUX_LABEL:
            pos += 20 if data[pos + 16:pos + 20] == b"    " else 16
            continue
        if pos + layout.fixed_length() > end:
            return
        points, after = _run(data, pos, end, layout, stats)
        if after != pos:  # a run of records decoded at once; look again at what stopped it
            yield from points
            pos = after
            continue
        try:
            point, length = _record(data, pos, layout, stats)
        except struct.error:  # the bytes end inside this record (a download cut short)
            stats.torn_records += 1
            return
        pos += length
        if point is not None:
            yield point


def _record_dtype(layout: _Layout) -> tuple[np.dtype, int] | None:
    """The numpy layout of one record and its body length, when records have a fixed length (no satellite list)."""
    if layout.bitmask & (1 << SID):
        return None
    names, formats, offsets, off = [], [], [], 0
    for bit in range(20):
        if not layout.bitmask & (1 << bit) or bit in PER_SATELLITE:
            continue
        size = layout.size(bit)
        if bit in (LATITUDE, LONGITUDE, DISTANCE):
            fmt = "<f4" if size == 4 else "<f8"
        elif bit == HEIGHT:
            fmt = ("u1", (3,)) if size == 3 else "<f4"
        elif bit in (SPEED, HEADING, DAGE):
            fmt = "<f4"
        elif bit == UTC:
            fmt = "<u4"
        elif bit == NSAT:
            fmt = ("u1", (2,))
        else:
            fmt = "<u2"
        names.append(f"f{bit}")
        formats.append(fmt)
        offsets.append(off)
        off += size
    length = off + (1 if layout.holux else 2)
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": length}), off


def _run(data: bytes, pos: int, end: int, layout: _Layout, stats: MtkStats) -> tuple[list[MtkPoint], int]:
    """The fixed-length records from ``pos`` up to the next marker, label or flaw, decoded at once (the same
    results as `_record` one by one, many times faster); returns them and where the run stopped."""
    shape = _record_dtype(layout)
    if shape is None:
        return [], pos
    dtype, body = shape
    length = dtype.itemsize
    stop = end
    for needle in (MARKER_START, HOLUX_LABEL, b"\xff\xff\xff\xff"):
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
    stats.records += n
    fields = set(dtype.names)
    if f"f{LATITUDE}" not in fields or f"f{LONGITUDE}" not in fields:
        stats.no_position += n
        return [], pos + n * length
    lat, lon = rec[f"f{LATITUDE}"].astype(np.float64), rec[f"f{LONGITUDE}"].astype(np.float64)
    keep = np.ones(n, dtype=bool)
    if f"f{VALID}" in fields:  # a logger with no fix writes a bogus position; not a point
        valid = rec[f"f{VALID}"]
        keep = np.isin(valid, list(GOOD_FIXES)) | (lon >= 0.000001) | (lat >= 90.000001)
        stats.no_position += int(n - np.count_nonzero(keep))

    def column(bit: int, scale: float | None = None) -> Iterable:
        name = f"f{bit}"
        if name not in fields:
            return repeat(None)
        values = rec[name]
        if bit == HEIGHT and values.ndim == 2:  # Holux: a float32 without its low byte
            values = (values.astype(np.uint32) << _HEIGHT_SHIFTS).sum(axis=1, dtype=np.uint32).view(np.float32)
        elif bit == NSAT:
            values = values[:, 1]  # [0] in view, [1] used
        elif bit == RCR:
            values = (values & RCR_BUTTON) != 0
        if scale:
            values = values.astype(np.float64) / scale
        elif values.dtype == np.float32:
            values = values.astype(np.float64)
        return values[keep].tolist()

    ms = rec[f"f{MILLISECOND}"].astype(np.int64) if f"f{MILLISECOND}" in fields else 0
    times = rec[f"f{UTC}"].astype(np.int64) * 1000 + ms
    points = list(map(MtkPoint, times[keep].tolist(), lat[keep].tolist(), lon[keep].tolist(), column(HEIGHT),
                      column(SPEED), column(HEADING), column(VALID), column(NSAT), column(HDOP, 100),
                      column(PDOP, 100), column(VDOP, 100),
                      column(RCR) if f"f{RCR}" in fields else repeat(False, int(np.count_nonzero(keep)))))
    return points, pos + n * length


_HEIGHT_SHIFTS = np.array([8, 16, 24], dtype=np.uint32)


def _marker(block: bytes, layout: _Layout, stats: MtkStats) -> None:
    stats.markers += 1
    kind = block[7]
    if kind == 0x02:  # the bitmask changed from here on
        mask = struct.unpack_from("<I", block, 8)[0]
        layout.bitmask = mask & ~HOLUX_LOW_PRECISION_BIT if layout.holux else mask


_FLOAT = struct.Struct("<f")
_DOUBLE = struct.Struct("<d")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


def _record(data: bytes, pos: int, layout: _Layout, stats: MtkStats) -> tuple[MtkPoint | None, int]:
    """One record at ``pos``: the point (None if unusable) and the record's length."""
    mask, holux = layout.bitmask, layout.holux
    values: dict[int, float | int] = {}
    i = pos
    for bit in range(20):
        if not mask & (1 << bit) or bit in PER_SATELLITE:
            continue
        if bit == SID:
            i = _skip_satellites(data, i, layout)
            continue
        size = layout.size(bit)
        if bit in (LATITUDE, LONGITUDE):
            values[bit] = (_FLOAT if size == 4 else _DOUBLE).unpack_from(data, i)[0]
        elif bit == HEIGHT:
            values[bit] = _FLOAT.unpack_from(b"\x00" + data[i:i + 3])[0] if size == 3 else \
                _FLOAT.unpack_from(data, i)[0]
        elif bit in (SPEED, HEADING, DAGE):
            values[bit] = _FLOAT.unpack_from(data, i)[0]
        elif bit == UTC:
            values[bit] = _U32.unpack_from(data, i)[0]
        elif bit == NSAT:
            values[bit] = data[i + 1]  # [0] in view, [1] used
        elif bit == DISTANCE:
            values[bit] = _DOUBLE.unpack_from(data, i)[0]
        else:
            values[bit] = _U16.unpack_from(data, i)[0]
        i += size
    body_end = i
    if not holux:
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
    if LATITUDE not in values or LONGITUDE not in values:
        stats.no_position += 1
        return None, length
    valid = values.get(VALID)
    lat, lon = values[LATITUDE], values[LONGITUDE]
    if valid is not None and valid not in GOOD_FIXES and lon < 0.000001 and lat < 90.000001:
        stats.no_position += 1  # a logger with no fix writes a bogus position; not a point
        return None, length

    def dop(bit: int) -> float | None:
        return values[bit] / 100 if bit in values else None

    point = MtkPoint(
        time_ms=int(values.get(UTC, 0)) * 1000 + int(values.get(MILLISECOND, 0)),
        lat=lat, lon=lon, height_m=values.get(HEIGHT), speed_kmh=values.get(SPEED),
        heading_deg=values.get(HEADING), valid=valid, sats_used=values.get(NSAT),
        hdop=dop(HDOP), pdop=dop(PDOP), vdop=dop(VDOP), button=bool(values.get(RCR, 0) & RCR_BUTTON))
    return point, length


def _skip_satellites(data: bytes, i: int, layout: _Layout) -> int:
    """Past the SID block: one 4-byte entry if no satellite is listed, else one per satellite with its
    elevation, azimuth and SNR as the bitmask says."""
    count = _U16.unpack_from(data, i + 2)[0]
    if count == 0:
        return i + SIZES[SID]
    entry = SIZES[SID] + sum(SIZES[b] for b in PER_SATELLITE if layout.bitmask & (1 << b))
    return i + entry * min(count, 32)
