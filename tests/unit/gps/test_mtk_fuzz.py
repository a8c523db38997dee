"""Fuzzing the MTK decoder (issue 19): whatever a logger's memory holds, decoding raises nothing, never
returns a point that breaks `fleet_desk.gps.plausible`, and gives the same in numpy runs as record by record
and fed in pieces as at once.

Three sources of bytes, in each layout GPSBabel reads (generic MTK, Holux M-241, Holux GR-245):
records with right checksums whose fields are anything (huge numbers, NaN and infinity bit patterns, random
bytes), with markers that change the bitmask (satellite lists included) and labels among them; random bytes
after a valid header; a valid image corrupted (bytes flipped, cut short). Each ends up truncated or not.
`--hypothesis-show-statistics` shows the counts.
"""

from __future__ import annotations

import math
import struct
from datetime import UTC, datetime

from hypothesis import event, given, settings
from hypothesis import strategies as st

from fleet_desk.gps import plausible
from fleet_desk.gps.fix import Fix
from fleet_desk.gps.mtk import (
    MARKER_END,
    MARKER_START,
    SECTOR_HEADER,
    MtkFormatError,
    MtkPoint,
    MtkStats,
    MtkStream,
    _fields,
)
from tests.helpers.mtk_checks import decoded_both_ways
from tests.helpers.mtk_image import BITMASK, VARIANTS, memory_image, seal

FUZZ = settings(max_examples=300, deadline=None)
NOW_S = int(datetime.now(UTC).timestamp())
LABELS = {"mtk": b"", "m241": b"HOLUXGR241LOGGER", "gr245": b"HOLUXGR245LOGGER    "}

any_bitmask = st.one_of(st.just(BITMASK), st.integers(0, 0xFFFFF).map(lambda m: m | 1),
                        st.integers(0, 2**32 - 1))


def _packed(fmt: str, values: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    return values.map(lambda v: struct.pack(fmt, v))


#: Values a working unit logs, by field (a record of these alone is a point).
BELIEVABLE = {"lat": st.floats(-90, 90), "lon": st.floats(-180, 180), "height": st.floats(-900, 9000),
              "speed": st.floats(0, 800), "heading": st.floats(0, 360), "time": st.integers(NOW_S - 10**8, NOW_S),
              "pdop": st.integers(0, 9999), "hdop": st.integers(0, 9999), "vdop": st.integers(0, 9999),
              "valid": st.sampled_from([1, 2, 4, 8, 0x40])}


def _believable(name: str, kind: str, size: int) -> st.SearchStrategy[bytes]:
    values = BELIEVABLE.get(name)
    if values is None:
        return st.binary(min_size=size, max_size=size)
    if kind == "f3":  # a Holux height: a float32's three high bytes
        return _packed("<f", values.map(float)).map(lambda b: b[1:])
    if kind == "cms":
        return _packed("<i", st.integers(0, 6000))
    return _packed({"f8": "<d", "f4": "<f", "u4": "<I", "u2": "<H"}[kind],
                   values.map(float) if kind in ("f4", "f8") else values)


def _value(kind: str, size: int) -> st.SearchStrategy[bytes]:
    """A field's bytes: extremes, NaN/infinity bit patterns, or plain random bytes."""
    raw = st.binary(min_size=size, max_size=size)
    if kind == "f8":
        return st.one_of(_packed("<d", st.floats(-200, 200)), _packed("<d", st.floats()), raw)
    if kind == "f4":
        return st.one_of(_packed("<f", st.floats(-200, 200, width=32)), _packed("<f", st.floats(width=32)),
                         _packed("<I", st.sampled_from([0x7FC00000, 0x7F800001, 0xFF800000, 0x7F800000])), raw)
    if kind == "u4":  # a time: about now, far ahead, anything
        return st.one_of(_packed("<I", st.integers(NOW_S - 10**8, NOW_S + 10**6)), raw)
    if kind == "cms":
        return st.one_of(_packed("<i", st.integers(-500, 30_000)), raw)
    return raw


@st.composite
def fuzzed_record(draw: st.DrawFn, bitmask: int, variant: str) -> bytes:
    """One record of the layout in force, its checksum right (most of the time)."""
    holux = variant != "mtk"
    sane = draw(st.booleans())
    body = b""
    for f in _fields(bitmask, holux, variant == "gr245"):
        if f.kind == "sid":  # a satellite list: count in the first entry, entries as the bitmask says
            count = draw(st.integers(0, 40))
            entry = 4 + sum(2 for bit in (14, 15, 16) if bitmask & (1 << bit))
            entries = 1 if count == 0 else min(count, 32)
            body += draw(st.binary(min_size=2, max_size=2)) + struct.pack("<H", count)
            body += draw(st.binary(min_size=entries * entry - 4, max_size=entries * entry - 4)) if count else b""
            continue
        body += draw(_believable(f.name, f.kind, f.size) if sane else _value(f.kind, f.size))
    record = seal(body, variant)
    if draw(st.integers(0, 9)) == 0:
        record = record[:-1] + bytes([draw(st.integers(0, 255))])
    return record


@st.composite
def fuzzed_image(draw: st.DrawFn) -> tuple[bytes, str]:
    """A header of the variant, then records, markers (bitmask changes among them), labels and junk."""
    variant = draw(st.sampled_from(VARIANTS))
    header = bytearray(memory_image([], variant=variant))
    bitmask = draw(st.one_of(st.just(BITMASK), st.integers(0, 0xFFFFF).map(lambda m: m | 1)))
    struct.pack_into("<I", header, 2, bitmask | struct.unpack_from("<I", header, 2)[0] & 0xF8000000)
    parts = [bytes(header)]
    others = ["marker", "junk", "erased"] + (["label"] if variant != "mtk" else [])
    for _ in range(draw(st.integers(0, 16))):
        kind = draw(st.sampled_from(["record"] * 12 + others))
        if kind == "record":
            parts.append(draw(fuzzed_record(bitmask, variant)))
        elif kind == "marker":
            what = draw(st.integers(0, 8))
            value = draw(any_bitmask) if what == 2 else draw(st.integers(0, 2**32 - 1))
            parts.append(MARKER_START + b"\xaa" + bytes([what]) + struct.pack("<I", value) + MARKER_END)
            if what == 2:
                bitmask = value & 0x7FFFFFFF if variant != "mtk" else value
        elif kind == "label":
            parts.append(draw(st.sampled_from([b"HOLUXGR241WAYPNT", b"HOLUXGR245WAYPNT    ", b"HOLUXM1200LOGGER",
                                               LABELS[variant]])))
        elif kind == "junk":
            parts.append(draw(st.binary(max_size=40)))
        else:
            parts.append(b"\xff" * draw(st.integers(1, 8)))
    return _cut(draw, b"".join(parts)), variant


def _cut(draw: st.DrawFn, data: bytes) -> bytes:
    """Cut short (mostly after the header, sometimes anywhere) or whole."""
    how = draw(st.sampled_from(["whole"] * 4 + ["after header"] * 3 + ["anywhere"]))
    if how == "whole" or len(data) <= SECTOR_HEADER:
        return data
    return data[:draw(st.integers(SECTOR_HEADER if how == "after header" else 0, len(data)))]


def _plausible_point(p: MtkPoint, latest_ms: int) -> bool:
    """Checked here from plausible's own rules, independently of the decoder's check."""
    fix = p.fix()
    if fix is not None and plausible.why_implausible(fix.time, fix.lat, fix.lon, fix.speed_mps, fix.course_deg,
                                                     fix.alt_m, fix.hdop, fix.pdop, plausible.latest_time()):
        return False
    speed = None if p.speed_kmh is None else p.speed_kmh / 3.6
    return (plausible.position(p.lat, p.lon) and p.time_ms <= latest_ms and plausible.speed(speed)
            and plausible.altitude(p.height_m) and plausible.course(p.heading_deg)
            and all(plausible.dilution(d) for d in (p.hdop, p.pdop, p.vdop)))


def check(memory: bytes, chunk: int) -> None:
    """No exception, no implausible point, runs equal records one by one, pieces equal all at once."""
    latest_ms = int(plausible.latest_time().timestamp() * 1000)
    try:
        points, stats = decoded_both_ways(memory)
    except MtkFormatError:  # refused as a whole, with a message: only when no header can be read
        assert len(memory) < SECTOR_HEADER + 16 or memory[2:6] in (b"\x00" * 4, b"\xff" * 4) or not memory[2] & 1
        event("refused: no MTK header")
        return
    assert stats.malformed == 0, "a record made the decoder itself fail"
    bad = [p for p in points if not _plausible_point(p, latest_ms)]
    assert not bad, f"implausible point(s) produced: {bad[:3]}"
    stream, pieces = MtkStream(stats=MtkStats()), []
    for i in range(0, len(memory), chunk):
        pieces += stream.feed(memory[i:i + chunk])
    assert pieces + stream.finish() == points
    event(f"points produced: {'none' if not points else '1-9' if len(points) < 10 else '10+'}")
    if stats.implausible:
        event("implausible records counted (none produced)")
    if stats.bad_checksums:
        event("bad checksums counted")
    if stats.torn_records:
        event("torn records counted")


@FUZZ
@given(fuzzed_image(), st.integers(1, 5000))
def test_records_of_any_value_with_right_checksums(image: tuple[bytes, str], chunk: int) -> None:
    check(image[0], chunk)


@FUZZ
@given(st.sampled_from(VARIANTS), st.binary(min_size=16, max_size=3000), st.integers(1, 5000))
def test_random_bytes_after_a_valid_header(variant: str, body: bytes, chunk: int) -> None:
    check(memory_image([], variant=variant) + body, chunk)


def _track() -> list[Fix]:
    t0 = datetime(2025, 6, 2, 6, tzinfo=UTC)
    return [Fix(time=datetime.fromtimestamp(t0.timestamp() + 5 * i, UTC), lat=45.75 + 0.001 * math.sin(i),
                lon=4.83 + 0.001 * i, speed_mps=1.4 + i % 9, alt_m=170.0 + i) for i in range(200)]


VALID = {v: memory_image(_track(), variant=v) for v in VARIANTS}


@FUZZ
@given(st.sampled_from(VARIANTS), st.lists(st.tuples(st.integers(0, 2**31), st.integers(1, 255)), max_size=12),
       st.data(), st.integers(1, 5000))
def test_a_valid_log_corrupted(variant: str, flips: list[tuple[int, int]], data: st.DataObject, chunk: int) -> None:
    image = bytearray(VALID[variant])
    for where, mask in flips:
        image[SECTOR_HEADER + where % (len(image) - SECTOR_HEADER)] ^= mask
    check(_cut(data.draw, bytes(image)), chunk)
