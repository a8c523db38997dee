"""Streaming NMEA decoder: byte chunks in, one `Fix` per reported instant out.

A receiver sends a burst of sentences for each instant, its cycle. Like gpsd,
the decoder learns which sentence ends the unit's cycle (the one with a time
that comes just before the time moves on) and reports what the unit has said
in the cycle when that sentence arrives: position from the last valid
position sentence, speed and course from RMC/VTG, altitude and satellites
from GGA/GNS, dilution from GSA. An instant's fix is its last valid report; a
cycle cut short before its ender (an unplug, a truncated log, a change in the
unit's sentence mix) is counted as incomplete, not stored. Dates come from
RMC or ZDA and are carried forward (across midnight too) to GGA/GNS/GLL-only
cycles; an instant whose date is unknown is counted as undated, never stored
under a guessed date, unless the caller gives one.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

import numpy as np

from drivers.framing import Bodies, FramingStats, SentenceFramer
from fleet_desk.gps import bulk, plausible
from fleet_desk.gps.fix import KNOTS_TO_MPS, Fix
from fleet_desk.gps.sentences import MalformedSentence, Sentence, parse_fast, parse_pynmea2

log = logging.getLogger(__name__)

_DAY_MS = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Chunks with at least this many sentences are tried in bulk (`fleet_desk.gps.bulk`).
_BULK_MIN = 2000
#: Sentences decoded one by one at a stream's start, while the unit's cycle is learned.
_LEARN = 64
#: Two sentence times closer than this belong to the same instant.
_SAME_INSTANT_MS = 10
#: A week-number rollover puts a receiver's date exactly this far in the past.
GPS_ROLLOVER = timedelta(weeks=1024)
#: How far before ``not_before`` a date must lie to be taken as a rollover.
ROLLOVER_SLACK = timedelta(days=180)

#: Sentence types the cycle detector knows beside those Fleet Desk reads (gpsd decodes them too): any of
#: them ends a GLL's "the cycle goes on". Other sentences leave that as it was.
_OTHER_KNOWN = frozenset({b"BWC", b"DBT", b"DTM", b"GBS", b"GST", b"HDG", b"HDT", b"MWD", b"MWV", b"THS", b"TXT"})
_OTHER_KNOWN_PROPRIETARY = (b"PGLOR,", b"PGRME,", b"PGRMF,", b"PGRMM,", b"PGRMZ,", b"PASHR,", b"PMGNST,", b"PMTK",
                            b"PSRFEPE,", b"PSTI,", b"PTNTA,", b"PTNTHTM,")
#: Position sentences and GSA state the fix mode; before the unit's cycle is known each of them is reported.
_STATES_FIX = frozenset({"RMC", "GGA", "GNS", "GLL", "GSA"})


@dataclass(slots=True)
class DecodeStats:
    """Counts for import summaries and the live unit status."""

    framing: FramingStats = field(default_factory=FramingStats)
    by_kind: Counter[str] = field(default_factory=Counter)
    unknown: int = 0
    malformed: int = 0
    #: Malformed sentences that raised something the parsers do not expect (a bug to look into, logged); live,
    #: a chunk of the unit's bytes that raised outside the sentence guard counts here (and as malformed) too.
    unexpected: int = 0
    #: Fixes (and dated sentences) whose values break `fleet_desk.gps.plausible`'s rules: counted, not stored.
    implausible: int = 0
    epochs: int = 0
    fixes: int = 0
    invalid: int = 0
    simulated: int = 0
    undated: int = 0
    incomplete: int = 0
    rollover_corrected: int = 0
    #: Sentences decoded in bulk, whole cycles at once (`fleet_desk.gps.bulk`).
    in_bulk: int = 0

    @property
    def sentences(self) -> int:
        """Sentences the framer passed on to decoding (checksum verified, or missing where the family omits it)."""
        return self.framing.sentences

    @property
    def rejected(self) -> int:
        """Sentences decoding refused: malformed, implausible, bad checksum."""
        return self.malformed + self.implausible + self.framing.bad_checksum

    def rejected_words(self) -> str:
        """The sentences decoding refused, by why, as a status line says it: a unit sending garbage shows here
        before it shows on the map."""
        n = self.unexpected
        unexpected = f" ({n} unexpected error{'s' if n != 1 else ''}, details in the log)" if n else ""
        return (f"rejected {self.malformed} malformed{unexpected}, {self.implausible} implausible, "
                f"{self.framing.bad_checksum} bad checksum")


def _epoch_ms(when: datetime) -> int:
    return (when - _EPOCH) // timedelta(milliseconds=1)


def _utc(epoch_ms: np.ndarray) -> list[datetime]:
    """Milliseconds since the epoch as aware UTC datetimes, exactly (whole seconds made from integers, the
    milliseconds put in where there are any): as `_fix`'s midnight + time of day, in a third of the time."""
    seconds, ms = np.divmod(epoch_ms, 1000)
    times = list(map(datetime.fromtimestamp, seconds.tolist(), [UTC] * len(seconds)))
    for i in np.flatnonzero(ms).tolist():
        times[i] = times[i].replace(microsecond=int(ms[i]) * 1000)
    return times


def _or_none(values: np.ndarray, said: np.ndarray) -> list[float | None]:
    """A column as Python values, None where the unit did not say it."""
    out = values.astype(object)
    out[~said] = None
    return out.tolist()


#: What numpy and Python's date arithmetic can raise on absurd values a run holds.
_GARBLE = (ValueError, ArithmeticError, IndexError)


def _believable(s: Sentence) -> bool:
    """A sentence whose values break `fleet_desk.gps.plausible`'s rules is refused whole: a unit that states a
    speed of 540,000 knots or an altitude of 100 km in it has garbled the rest too."""
    return (plausible.speed(s.speed_kn * KNOTS_TO_MPS if s.speed_kn is not None else None)
            and plausible.course(s.course) and plausible.altitude(s.alt)
            and plausible.dilution(s.hdop) and plausible.dilution(s.pdop))


def _believable_run(cols: bulk.Columns) -> bool:
    """`_believable` over a run's columns at once (NaN: not said)."""
    def within(values: np.ndarray, lo: float, hi: float) -> bool:
        return bool(((values >= lo) & (values <= hi) | np.isnan(values)).all())

    return (within(cols.speed_kn, 0.0, plausible.MAX_SPEED_MPS / KNOTS_TO_MPS)
            and within(cols.course, 0.0, plausible.MAX_COURSE_DEG)
            and within(cols.alt, plausible.MIN_ALT_M, plausible.MAX_ALT_M)
            and within(cols.hdop, 0.0, plausible.MAX_DOP) and within(cols.pdop, 0.0, plausible.MAX_DOP))


class _Cycle:
    """What the unit has said since its time of day last moved on."""

    __slots__ = (
        "tod", "day", "lat", "lon", "valid", "simulated", "quality", "speed_kn", "course", "alt", "sats", "hdop",
        "pdop", "gsa_mode", "said_position", "reported",
    )
    tod: int | None
    day: date | None
    lat: float | None
    lon: float | None
    valid: bool
    simulated: bool
    quality: int
    speed_kn: float | None
    course: float | None
    alt: float | None
    sats: int | None
    hdop: float | None
    pdop: float | None
    gsa_mode: int | None
    said_position: bool
    reported: bool

    def __init__(self) -> None:
        self.tod = None
        self.day = None
        self.lat = self.lon = self.speed_kn = self.course = None
        self.alt = self.hdop = self.pdop = None
        self.sats = self.gsa_mode = None
        self.quality = 0
        self.valid = False
        self.simulated = False
        self.said_position = False
        self.reported = False


class _Report(NamedTuple):
    """Where the unit was, as the cycle stood when a report was due. The rest of the fix (speed, altitude,
    satellites, dilution) is what the whole cycle said."""

    day: date | None
    tod: int | None
    lat: float | None
    lon: float | None
    valid: bool
    simulated: bool
    quality: int
    cycle: _Cycle


def _known_elsewhere(body: bytes) -> str | None:
    """The type of a sentence Fleet Desk does not read but the cycle detector knows, else None."""
    if body[5:6] == b"," and body[2:5] in _OTHER_KNOWN:
        return body[2:5].decode()
    if body[:1] == b"P" and body.startswith(_OTHER_KNOWN_PROPRIETARY):
        return body.split(b",", 1)[0].decode("latin-1")
    return None


class NmeaDecoder:
    """Turns a stream of NMEA bytes from one unit into validated fixes.

    Args:
        date_hint: date for epochs before the stream reveals one (``--date``).
        not_before: receiver dates earlier than this (less a slack) are taken
            as GPS week-number rollover and moved forward by 1024 weeks.
        accept_missing_checksum: for unit families that omit checksums.
        use_pynmea2: parse every sentence with pynmea2 instead of the fast path.
        label: names the unit or file in log lines about sentences that could not be decoded.
        latest: the latest fix time believed, asked at every chunk (`fleet_desk.gps.plausible.latest_time`).
    """

    def __init__(
        self,
        date_hint: date | None = None,
        not_before: date | None = None,
        accept_missing_checksum: bool = False,
        use_pynmea2: bool = False,
        label: str = "",
    ) -> None:
        self.stats = DecodeStats()
        self._prefix = f"{label}: " if label else ""
        self._latest = plausible.latest_time()
        self._framer = SentenceFramer(accept_missing_checksum)
        self.stats.framing = self._framer.stats
        self._parse = parse_pynmea2 if use_pynmea2 else parse_fast
        self._date: date | None = date_hint
        self._not_before = not_before - ROLLOVER_SLACK if not_before else None
        self._last_tod: int | None = None
        self._cycle = _Cycle()
        # The end-of-cycle detector (gpsd's): a timed sentence type seen just before the time of day moves on
        # ends the unit's cycles. A GLL says the cycle goes on: the type before it is not taken as an ender,
        # and an untimed sentence right after it takes over as the ender.
        self._enders: set[str | None] = set()
        self._last_timed: str | None = None
        self._instant: int | None = None
        self._goes_on = False
        self._cycle_known = False
        #: Reports of the current cycle by (day, time of day): the last valid one of each is its fix.
        self._pending: dict[tuple[date | None, int | None], _Report] = {}
        self._sealed: tuple[date | None, int | None] | None = None
        self._released: tuple[date | None, int | None] | None = None
        self._out: list[Fix] = []
        #: Midnight UTC of each date the unit has said (after any week-number rollover correction).
        self._midnights: dict[date, datetime | None] = {}

    def feed(self, chunk: bytes) -> list[Fix]:
        """Decode a chunk; returns the fixes of the instants it completed. Never raises for what the bytes say."""
        self._latest = plausible.latest_time()
        bodies = self._framer.frame(chunk)
        done = self._bulk(bodies) if len(bodies) >= _BULK_MIN and self._parse is parse_fast else 0
        for body in bodies.cut(done):
            self._guarded(body)
        out, self._out = self._out, []
        return out

    def release_sealed(self) -> list[Fix]:
        """Live: once the unit's one cycle-ender has been reported, the instant's position is known, so hand
        the fix over now rather than when the next cycle starts, up to a second later. Sentences the unit
        still sends for this instant (GSA, GSV, VTG after the ender) are then not waited for."""
        key, self._sealed = self._sealed, None
        if key is not None and key in self._pending:
            self._emit(self._pending.pop(key))
            self._released = key
        out, self._out = self._out, []
        return out

    def finish(self) -> list[Fix]:
        """End of stream: decode the unterminated tail and close the last cycle."""
        self._latest = plausible.latest_time()
        for body in self._framer.flush():
            self._guarded(body)
        self._close_cycle()
        out, self._out = self._out, []
        return out

    # ------------------------------------------------------------------

    def _steady(self) -> bool:
        """The unit's cycle is known and nothing is under way that only the sentence decoder follows."""
        return self._cycle_known and not self._goes_on and self._released is None

    def _bulk(self, bodies: Bodies) -> int:
        """Decode the complete cycles of a long run at once where the unit's cycle is steady; returns how
        many of ``bodies`` were decoded (the rest go sentence by sentence)."""
        done = 0
        if not self._steady():
            done = _LEARN
            for body in bodies.cut(0, done):
                self._guarded(body)
            if not self._steady():
                return done
        try:
            cols = bulk.Columns(bulk.Run(bodies, done))
        except (bulk.Unreadable, *_GARBLE):  # the sentence decoder reads (or counts) what this cannot
            return done
        if not _believable_run(cols):  # the sentence decoder refuses (and counts) each absurd sentence
            return done
        enders = {bulk.KINDS.index(k) for k in self._enders if k in bulk.KINDS}
        timed = np.flatnonzero(cols.timed)
        if len(timed) < 2:
            return done
        times = cols.tod[timed]
        changes = np.flatnonzero(np.abs(np.diff(times)) > _SAME_INSTANT_MS) + 1
        if len(changes) < 2:
            return done
        lo, hi = int(timed[changes[0]]), int(timed[changes[-1]])
        for body in bodies.cut(done, done + lo):  # the rest of the cycle under way
            self._guarded(body)
        if not self._steady() or self._last_timed not in self._enders:
            return done + lo
        try:
            cycles = bulk.Cycles.steady(cols, lo, hi, enders, self._date, self._last_tod)
        except _GARBLE:
            cycles = None
        if cycles is None:
            return done + lo
        self._close_cycle()
        self._emit_cycles(cycles)
        self.stats.incomplete += cycles.incomplete
        self.stats.in_bulk += hi - lo
        for k, count in zip(bulk.KINDS, cycles.kinds.tolist(), strict=True):
            if count:
                self.stats.by_kind[k] += count
        self._instant = self._last_tod = cycles.instant
        self._last_timed = cycles.last_kind
        self._date = cycles.last_date
        return done + hi

    def _emit_cycles(self, cycles: bulk.Cycles) -> None:
        """The cycles' reports counted and made into fixes at once, as `_fix` does them one by one."""
        stats = self.stats
        n = len(cycles.tod)
        valid = cycles.valid
        dated = cycles.day > 0
        stats.epochs += n
        stats.invalid += int(np.count_nonzero(~valid))
        stats.simulated += int(np.count_nonzero(~valid & cycles.simulated))
        stats.undated += int(np.count_nonzero(valid & ~dated))
        rows = np.flatnonzero(valid & dated)
        if not len(rows):
            return
        ordinals, at = np.unique(cycles.day[rows], return_inverse=True)
        days = [date.fromordinal(d) for d in ordinals.tolist()]
        midnights = [self._midnight(d) for d in days]
        known = np.array([m is not None for m in midnights])  # a date no rollover makes believable: not
        midnight_ms = np.array([_epoch_ms(m) if m is not None else 0 for m in midnights], dtype=np.int64)
        corrected = np.array([m is not None and m.date() != d for m, d in zip(midnights, days, strict=True)])
        at = at.reshape(-1)
        epoch_ms = midnight_ms[at] + cycles.tod[rows]
        extra = {k: (v[rows], said[rows]) for k, (v, said) in cycles.extra.items()}
        # The run's values passed `_believable_run` and its positions the parser's ranges: what is left to judge
        # is the time (a date in the future, or one no rollover makes believable).
        believed = known[at] & (epoch_ms <= _epoch_ms(self._latest))
        if not believed.all():
            stats.implausible += int(np.count_nonzero(~believed))
            rows, at, epoch_ms = rows[believed], at[believed], epoch_ms[believed]
            extra = {k: (v[believed], said[believed]) for k, (v, said) in extra.items()}
            if not len(rows):
                return
        stats.rollover_corrected += int(np.count_nonzero(corrected[at]))
        speed, has_speed = extra["speed_kn"]
        gsa_mode, has_mode = extra["gsa_mode"]
        _, has_alt = extra["alt"]
        three_d = np.where(has_mode, gsa_mode == 3, has_alt)
        fixes = map(
            Fix, _utc(epoch_ms), cycles.lat[rows].tolist(), cycles.lon[rows].tolist(),
            _or_none(speed * KNOTS_TO_MPS, has_speed), _or_none(*extra["course"]), _or_none(*extra["alt"]),
            cycles.quality[rows].tolist(), np.where(three_d, 3, 2).tolist(), _or_none(*extra["sats"]),
            _or_none(*extra["hdop"]), _or_none(*extra["pdop"]),
        )
        self._out.extend(fixes)
        stats.fixes += len(rows)

    def _guarded(self, body: bytes) -> None:
        """One sentence under the one guard: whatever it makes go wrong is counted as malformed and logged
        with the sentence, and decoding goes on (one checksum-valid sentence must not stop a depot)."""
        try:
            self._sentence(body)
        except MalformedSentence:
            self.stats.malformed += 1
        except Exception as exc:
            self.stats.malformed += 1
            self.stats.unexpected += 1
            log.warning("%scould not decode %r (%s: %s); skipped", self._prefix,
                        body[:200], type(exc).__name__, exc)

    def _sentence(self, body: bytes) -> None:
        s = self._parse(body)
        if s is None:
            self.stats.unknown += 1
            other = _known_elsewhere(body)
            if other is not None:
                self._goes_on = False
            self._end_of_cycle(other, None, False)
            return
        kind = s.kind
        if not _believable(s) or (s.date is not None and not plausible.day(s.date, self._latest)):
            self.stats.implausible += 1
            return
        self.stats.by_kind[kind] += 1
        # A sentence's time counts for the cycle when it is the time of the unit's position: ZDA is left out
        # (some units send it only with a fix), an RMC only when it is valid and dated.
        instant = s.tod_ms if kind != "ZDA" and (kind != "RMC" or s.date is not None) else None
        self._goes_on = kind == "GLL"
        report = self._end_of_cycle(kind, instant, s.more)
        if s.date is not None:
            self._date = s.date
        cycle = self._cycle
        if s.tod_ms is not None and (kind not in ("RMC", "ZDA") or s.date is not None):
            self._timed(cycle, s.tod_ms, s.date is not None)
        if s.lat is not None or s.valid is not None:
            self._position(cycle, s)
        if s.speed_kn is not None:
            cycle.speed_kn = s.speed_kn
        if s.course is not None:
            cycle.course = s.course
        if s.alt is not None:
            cycle.alt = s.alt
        if s.sats is not None:
            cycle.sats = s.sats
        if s.hdop is not None:
            cycle.hdop = s.hdop
        if s.pdop is not None:
            cycle.pdop = s.pdop
        if s.gsa_mode is not None:
            cycle.gsa_mode = s.gsa_mode
            if s.gsa_mode == 1:
                cycle.valid = False
        if s.tod_ms is None and s.valid is False and kind in ("RMC", "GGA"):
            # An untimed "no fix" (some units' $GPRMC,,V,...): said at once; the unit's cycle is learned anew.
            self._cycle_known = False
            report = True
        if report or (not self._cycle_known and kind in _STATES_FIX):
            self._report(cycle)
            if report and len(self._enders) == 1:
                self._sealed = (cycle.day, cycle.tod)

    def _end_of_cycle(self, tag: str | None, instant: int | None, more: bool) -> bool:
        """gpsd's end-of-cycle detector; True when this sentence ends the unit's cycle."""
        enders = self._enders
        if more:
            return False
        if instant is not None:
            last = self._instant
            self._instant = instant
            if last is not None and abs(instant - last) > _SAME_INSTANT_MS:
                previous = self._last_timed
                if previous is not None and previous not in enders and not self._goes_on:
                    enders.add(previous)
                    self._cycle_known = True
                self._close_cycle()
            self._last_timed = tag
            return tag in enders
        if self._goes_on:
            enders.discard(self._last_timed)
            enders.add(tag)
            self._cycle_known = True
            return tag in enders
        return False

    def _timed(self, cycle: _Cycle, tod: int, dated: bool) -> None:
        """``dated``: the sentence said its own date (an RMC or ZDA just past midnight says the new one)."""
        last = self._last_tod
        if last is not None and tod < last - _DAY_MS // 2 and self._date is not None and not dated:
            self._date += timedelta(days=1)  # midnight passed since the date was said
        self._last_tod = tod
        cycle.tod = tod
        cycle.day = self._date

    def _position(self, cycle: _Cycle, s: Sentence) -> None:
        cycle.said_position = True
        if s.valid and s.lat is not None and s.lon is not None:
            cycle.lat, cycle.lon = s.lat, s.lon
            cycle.valid = True
            if s.kind in ("GGA", "GNS") or not cycle.quality:
                cycle.quality = s.quality or 1
        elif s.valid is False:
            cycle.valid = False
            cycle.simulated = cycle.simulated or s.simulated

    def _report(self, c: _Cycle) -> None:
        if not c.said_position:
            return
        c.reported = True
        key = (c.day, c.tod)
        if key == self._released:
            return  # already handed over live
        valid = c.valid and c.lat is not None
        if c.tod is not None:  # what the cycle said before its time was known is superseded
            self._pending.pop((None, None), None)
            self._pending.pop((c.day, None), None)
        earlier = self._pending.get(key)
        if valid or earlier is None or not earlier.valid:
            self._pending[key] = _Report(c.day, c.tod, c.lat, c.lon, valid, c.simulated, c.quality, c)

    def _close_cycle(self) -> None:
        cycle, self._cycle = self._cycle, _Cycle()
        if cycle.said_position and not cycle.reported:
            self.stats.incomplete += 1
        pending, self._pending = self._pending, {}
        for report in pending.values():
            self._emit(report)
        self._sealed = self._released = None

    def _emit(self, r: _Report) -> None:
        c = r.cycle
        self._fix(r.day, r.tod, r.lat, r.lon, r.valid, r.simulated, r.quality, c.speed_kn, c.course, c.alt, c.sats,
                  c.hdop, c.pdop, c.gsa_mode)

    def _midnight(self, day: date) -> datetime | None:
        """Midnight UTC of a date the unit said, after any week-number rollover correction; None when the
        date cannot be believed.

        A date before ``not_before`` is moved on by exactly one rollover (1024 weeks) when that lands it
        between ``not_before`` and the latest time believed. When one rollover would overshoot into the
        future, the unit's own date stands (an old log, or a clock a little behind); when it still leaves
        the date too old, the date is garbage (a unit saying 1999 in a 2026 stream) and no fix is made."""
        midnight = self._midnights.get(day)
        if midnight is None and day not in self._midnights:
            corrected: date | None = day
            if self._not_before is not None and day < self._not_before:
                rolled = day + GPS_ROLLOVER
                if rolled > self._latest.date():
                    corrected = day
                elif rolled >= self._not_before:
                    corrected = rolled
                else:
                    corrected = None
            midnight = None if corrected is None else datetime(corrected.year, corrected.month, corrected.day,
                                                               tzinfo=UTC)
            self._midnights[day] = midnight
        return midnight

    def _fix(self, day: date | None, tod: int | None, lat: float | None, lon: float | None, valid: bool,
             simulated: bool, quality: int, speed_kn: float | None, course: float | None, alt: float | None,
             sats: int | None, hdop: float | None, pdop: float | None, gsa_mode: int | None) -> None:
        """An instant's report, counted, and stored as a `Fix` when it is a valid dated one.

        The sentence decoder's form, one report at a time (numpy on one row would cost the live path 0.14
        of a core at 500 units); `_emit_cycles` is the same rule over a run's columns, and the tests hold
        the two to the same fixes and counts on every recorded log."""
        stats = self.stats
        stats.epochs += 1
        if not valid or lat is None or lon is None:  # a valid report always has its position (`_report`)
            stats.invalid += 1
            stats.simulated += simulated
            return
        if day is None or tod is None:
            stats.undated += 1
            return
        midnight = self._midnight(day)
        if midnight is None:
            stats.implausible += 1
            log.debug("%sfix dated %s not stored: too old for a week-number rollover", self._prefix, day)
            return
        when = midnight + timedelta(milliseconds=tod)
        # Speed, course, altitude and dilution were judged sentence by sentence (`_believable`); what is left is
        # the time, and the position for pynmea2's reference parse (the fast parser checks its ranges).
        if when > self._latest or not plausible.position(lat, lon):
            stats.implausible += 1
            log.debug("%sfix at %s, %s, %s not stored", self._prefix, when.isoformat(), lat, lon)
            return
        speed = speed_kn * KNOTS_TO_MPS if speed_kn is not None else None
        if midnight.date() != day:
            stats.rollover_corrected += 1
        three_d = gsa_mode == 3 or (gsa_mode is None and alt is not None)
        self._out.append(  # positional: a day's log makes 86,400 of these
            Fix(when, lat, lon, speed, course, alt, quality, 3 if three_d else 2, sats, hdop, pdop)
        )
        stats.fixes += 1
