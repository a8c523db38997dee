"""Streaming NMEA decoder: byte chunks in, one `Fix` per epoch out.

An epoch is the set of sentences a receiver sends for one instant (same
time of day). Its sentences are merged: position from the last valid
position sentence, speed and course from RMC/VTG, altitude and satellites
from GGA/GNS, dilution from GSA. Dates come from RMC or ZDA and are carried
forward (across midnight too) to GGA/GNS/GLL-only epochs; an epoch whose
date is unknown is counted as undated, never stored under a guessed date,
unless the caller gives one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from fleet_desk.gps.fix import KNOTS_TO_MPS, Fix
from fleet_desk.gps.framing import FramingStats, SentenceFramer
from fleet_desk.gps.sentences import MalformedSentence, Sentence, parse_fast, parse_pynmea2

_DAY_MS = 86_400_000
#: A week-number rollover puts a receiver's date exactly this far in the past.
GPS_ROLLOVER = timedelta(weeks=1024)
#: How far before ``not_before`` a date must lie to be taken as a rollover.
ROLLOVER_SLACK = timedelta(days=180)


@dataclass(slots=True)
class DecodeStats:
    """Counts for import summaries and the live unit status."""

    framing: FramingStats = field(default_factory=FramingStats)
    by_kind: Counter[str] = field(default_factory=Counter)
    unknown: int = 0
    malformed: int = 0
    epochs: int = 0
    fixes: int = 0
    invalid: int = 0
    simulated: int = 0
    undated: int = 0
    incomplete: int = 0
    rollover_corrected: int = 0

    @property
    def sentences(self) -> int:
        return self.framing.sentences


class _Epoch:
    """The sentences of one instant, merged as they arrive."""

    __slots__ = (
        "tod", "lat", "lon", "day", "valid", "simulated", "quality", "speed_kn",
        "course", "alt", "sats", "hdop", "pdop", "gsa_mode", "said_position",
        "sealed",
    )

    def __init__(self, tod: int | None) -> None:
        self.tod = tod
        self.lat = self.lon = self.speed_kn = self.course = None
        self.alt = self.hdop = self.pdop = None
        self.day: date | None = None
        self.sats = self.gsa_mode = None
        self.quality = 0
        self.valid = False
        self.simulated = False
        self.said_position = False
        #: (lat, lon, day, valid, gsa_mode) when the epoch's last cycle-ending sentence arrived.
        self.sealed: tuple | None = None


class NmeaDecoder:
    """Turns a stream of NMEA bytes from one unit into validated fixes.

    Args:
        date_hint: date for epochs before the stream reveals one (``--date``).
        not_before: receiver dates earlier than this (less a slack) are taken
            as GPS week-number rollover and moved forward by 1024 weeks.
        accept_missing_checksum: for unit families that omit checksums.
        use_pynmea2: parse every sentence with pynmea2 instead of the fast path.
    """

    def __init__(
        self,
        date_hint: date | None = None,
        not_before: date | None = None,
        accept_missing_checksum: bool = False,
        use_pynmea2: bool = False,
    ) -> None:
        self.stats = DecodeStats()
        self._framer = SentenceFramer(accept_missing_checksum)
        self.stats.framing = self._framer.stats
        self._parse = parse_pynmea2 if use_pynmea2 else parse_fast
        self._date: date | None = date_hint
        self._not_before = not_before - ROLLOVER_SLACK if not_before else None
        self._last_tod: int | None = None
        self._epoch: _Epoch | None = None
        # gpsd's end-of-cycle detector: a sentence type seen just before the
        # time of day changes ends the unit's cycles; an epoch is what the
        # unit had said when its last cycle-ender arrived.
        self._enders: set[str] = set()
        self._last_timed_kind: str | None = None
        self._released_tod: int | None = None
        self._out: list[Fix] = []

    def feed(self, chunk: bytes) -> list[Fix]:
        """Decode a chunk; returns the fixes of the epochs it completed."""
        for body in self._framer.feed(chunk):
            self._sentence(body)
        out, self._out = self._out, []
        return out

    def release_sealed(self) -> list[Fix]:
        """Live: once the current epoch's cycle-ender has arrived its position is known, so hand the fix over
        now rather than when the next epoch starts, up to a second later. Untimed sentences the unit still
        sends for this epoch (GSA, GSV, VTG after the ender) are then not waited for."""
        epoch = self._epoch
        if epoch is not None and epoch.sealed is not None and len(self._enders) == 1:
            self._released_tod = epoch.tod
            self._close_epoch()
        out, self._out = self._out, []
        return out

    def finish(self) -> list[Fix]:
        """End of stream: decode the unterminated tail and close the last epoch."""
        for body in self._framer.flush():
            self._sentence(body)
        self._close_epoch()
        out, self._out = self._out, []
        return out

    # ------------------------------------------------------------------

    def _sentence(self, body: bytes) -> None:
        try:
            s = self._parse(body)
        except MalformedSentence:
            self.stats.malformed += 1
            return
        if s is None:
            self.stats.unknown += 1
            return
        self.stats.by_kind[s.kind] += 1
        if s.tod_ms is not None:
            self._enter_epoch(s.tod_ms)
            self._last_timed_kind = s.kind
        if s.date is not None:
            self._date = s.date
        epoch = self._epoch
        if epoch is None:
            return
        if s.lat is not None or s.valid is not None:
            self._position(epoch, s)
        if s.speed_kn is not None:
            epoch.speed_kn = s.speed_kn
        if s.course is not None:
            epoch.course = s.course
        if s.alt is not None:
            epoch.alt = s.alt
        if s.sats is not None:
            epoch.sats = s.sats
        if s.hdop is not None:
            epoch.hdop = s.hdop
        if s.pdop is not None:
            epoch.pdop = s.pdop
        if s.gsa_mode is not None:
            epoch.gsa_mode = s.gsa_mode
        if s.kind in self._enders and s.tod_ms is not None and epoch.said_position:
            epoch.sealed = (epoch.lat, epoch.lon, epoch.day, epoch.valid, epoch.gsa_mode)

    def _position(self, epoch: _Epoch, s: Sentence) -> None:
        epoch.said_position = True
        if s.valid and s.lat is not None and s.lon is not None:
            epoch.lat, epoch.lon = s.lat, s.lon
            epoch.day = self._date
            epoch.valid = True
            if s.kind in ("GGA", "GNS") or not epoch.quality:
                epoch.quality = s.quality or 1
        elif s.valid is False:
            epoch.valid = False
            epoch.simulated = epoch.simulated or s.simulated

    def _enter_epoch(self, tod: int) -> None:
        current = self._epoch
        if current is not None and current.tod == tod:
            return
        if current is None and tod == self._released_tod:
            return  # the rest of an epoch already released: nothing more to say about it
        kind = self._last_timed_kind
        mix_changed = kind is not None and kind not in self._enders
        if kind is not None:
            self._enders.add(kind)
        self._close_epoch(mix_changed)
        last = self._last_tod
        if last is not None and tod < last - _DAY_MS // 2 and self._date is not None:
            self._date += timedelta(days=1)  # midnight passed since the date was said
        self._last_tod = tod
        self._epoch = _Epoch(tod)

    def _close_epoch(self, mix_changed: bool = False) -> None:
        epoch, self._epoch = self._epoch, None
        if epoch is None or not epoch.said_position:
            return
        stats = self.stats
        stats.epochs += 1
        if epoch.sealed is not None:
            epoch.lat, epoch.lon, epoch.day, epoch.valid, epoch.gsa_mode = epoch.sealed
        elif self._enders and not mix_changed:
            # No cycle-ender arrived and the unit's sentence mix did not just
            # change: the cycle was cut short (unplugged, truncated log).
            stats.incomplete += 1
            return
        if not epoch.valid or epoch.gsa_mode == 1:
            stats.invalid += 1
            if epoch.simulated:
                stats.simulated += 1
            return
        day = epoch.day
        if day is None:
            stats.undated += 1
            return
        if self._not_before is not None and day < self._not_before:
            while day < self._not_before:
                day += GPS_ROLLOVER
            stats.rollover_corrected += 1
        when = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(milliseconds=epoch.tod)
        speed = epoch.speed_kn * KNOTS_TO_MPS if epoch.speed_kn is not None else None
        three_d = epoch.gsa_mode == 3 or (epoch.gsa_mode is None and epoch.alt is not None)
        self._out.append(
            Fix(
                time=when,
                lat=epoch.lat,
                lon=epoch.lon,
                speed_mps=speed,
                course_deg=epoch.course,
                alt_m=epoch.alt,
                fix_quality=epoch.quality,
                mode=3 if three_d else 2,
                sats=epoch.sats,
                hdop=epoch.hdop,
                pdop=epoch.pdop,
            )
        )
        stats.fixes += 1
