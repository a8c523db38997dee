"""Writes a MediaTek logger's memory image from fixes, so a whole simulated delivery day can be docked.

Generic MTK format, fields UTC, VALID, LATITUDE, LONGITUDE, HEIGHT, SPEED:
a 0x200-byte header per 64 KiB sector, records with ``*`` and an XOR
checksum, unwritten flash as 0xFF. Test-only: the product only reads logs.
"""

from __future__ import annotations

import struct

from fleet_desk.gps.fix import Fix
from fleet_desk.gps.mtk import SECTOR, SECTOR_HEADER

BITMASK = 0x3F
_RECORD = struct.Struct("<IHddff")


def _header(period_s: float = 1.0) -> bytes:
    head = bytearray(b"\xff" * SECTOR_HEADER)
    struct.pack_into("<HIHIII", head, 0, 0xFFFF, BITMASK, 0x0104, int(period_s * 10), 0, 0)
    head[0x1FA:0x200] = b"*\xff\xbb\xbb\xbb\xbb"
    return bytes(head)


def memory_image(fixes: list[Fix], size: int | None = None) -> bytes:
    """The flash after logging ``fixes`` (``size``: pad with unwritten flash to this many bytes)."""
    sectors: list[bytearray] = [bytearray(_header())]
    for f in fixes:
        body = _RECORD.pack(int(f.time.timestamp()), 0x02, f.lat, f.lon, f.alt_m or 0.0,
                            (f.speed_mps or 0.0) * 3.6)
        checksum = 0
        for b in body:
            checksum ^= b
        record = body + b"*" + bytes([checksum])
        if len(sectors[-1]) + len(record) > SECTOR:
            sectors[-1] += b"\xff" * (SECTOR - len(sectors[-1]))
            sectors.append(bytearray(_header()))
        sectors[-1] += record
    data = b"".join(bytes(s) for s in sectors)
    return data.ljust(size or len(data), b"\xff")
