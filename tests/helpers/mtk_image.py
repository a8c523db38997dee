"""Writes a MediaTek logger's memory image from fixes, so a whole simulated delivery day can be docked.

Fields UTC, VALID, LATITUDE, LONGITUDE, HEIGHT, SPEED, in the layout of one of the makes GPSBabel reads
(``mtk_logger.cc``):

- ``mtk``: generic MTK; doubles for the position, floats for height and speed (km/h), ``*`` before the
  XOR checksum;
- ``m241``: Holux M-241; ``HOLUXGR241LOGGER`` after each sector header, floats for the position, the
  height as a float32 without its low byte, no ``*``;
- ``gr245``: Holux GR-245 (GPSport 245); ``HOLUXGR245LOGGER`` and four spaces after each header; as the
  M-241 but the HEIGHT bit's 4 bytes hold the speed as an integer in cm/s and the SPEED bit's 3 the height.

A 0x200-byte header per 64 KiB sector, unwritten flash as 0xFF. Test-only: the product only reads logs.
"""

from __future__ import annotations

import struct

from fleet_desk.gps.fix import Fix
from fleet_desk.gps.mtk import HOLUX_LOW_PRECISION_BIT, SECTOR, SECTOR_HEADER

BITMASK = 0x3F
VARIANTS = ("mtk", "m241", "gr245")
#: What a Holux GR-245 sets in its bitmask beyond the fields (GPSBabel clears bit 27 as 'HOLUX245_MASK').
GR245_FLAG = 1 << 27
_LABELS = {"mtk": b"", "m241": b"HOLUXGR241LOGGER", "gr245": b"HOLUXGR245LOGGER    "}
_FLAGS = {"mtk": 0, "m241": HOLUX_LOW_PRECISION_BIT, "gr245": HOLUX_LOW_PRECISION_BIT | GR245_FLAG}


def _header(variant: str, period_s: float = 1.0) -> bytes:
    head = bytearray(b"\xff" * SECTOR_HEADER)
    struct.pack_into("<HIHIII", head, 0, 0xFFFF, BITMASK | _FLAGS[variant], 0x0104, int(period_s * 10), 0, 0)
    head[0x1FA:0x200] = b"*\xff\xbb\xbb\xbb\xbb"
    return bytes(head) + _LABELS[variant]


def _height3(metres: float) -> bytes:
    """A Holux height: the float32's three high bytes (its low byte is not stored)."""
    return struct.pack("<f", metres)[1:]


def record_body(f: Fix, variant: str = "mtk") -> bytes:
    """One record's fields (without checksum) as ``variant`` logs them."""
    t, alt, speed_mps = int(f.time.timestamp()), f.alt_m or 0.0, f.speed_mps or 0.0
    if variant == "mtk":
        return struct.pack("<IHddff", t, 0x02, f.lat, f.lon, alt, speed_mps * 3.6)
    head = struct.pack("<IHff", t, 0x02, f.lat, f.lon)
    if variant == "m241":
        return head + _height3(alt) + struct.pack("<f", speed_mps * 3.6)
    return head + struct.pack("<i", round(speed_mps * 100)) + _height3(alt)


def seal(body: bytes, variant: str = "mtk") -> bytes:
    """The record as written: the body, ``*`` (not on Holux units) and the XOR checksum."""
    checksum = 0
    for b in body:
        checksum ^= b
    return body + (b"*" if variant == "mtk" else b"") + bytes([checksum])


def memory_image(fixes: list[Fix], size: int | None = None, variant: str = "mtk") -> bytes:
    """The flash after logging ``fixes`` (``size``: pad with unwritten flash to this many bytes)."""
    sectors: list[bytearray] = [bytearray(_header(variant))]
    for f in fixes:
        record = seal(record_body(f, variant), variant)
        if len(sectors[-1]) + len(record) > SECTOR:
            sectors[-1] += b"\xff" * (SECTOR - len(sectors[-1]))
            sectors.append(bytearray(_header(variant)))
        sectors[-1] += record
    data = b"".join(bytes(s) for s in sectors)
    return data.ljust(size or len(data), b"\xff")
