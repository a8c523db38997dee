"""NMEA 0183 decoding: bytes in, one validated `Fix` per epoch out.

Plain Python, no Qt: runs in the CLI, in tests and in worker threads.
"""

from fleet_desk.gps.decoder import DecodeStats, NmeaDecoder
from fleet_desk.gps.fix import Fix

__all__ = ["DecodeStats", "Fix", "NmeaDecoder"]
