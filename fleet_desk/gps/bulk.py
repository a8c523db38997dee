"""Whole runs of a steady unit's sentences parsed at once with numpy.

A day's log is a quarter of a million sentences of the same few types in the
same order every second. Once the decoder knows the unit's cycle, a run of
complete cycles made only of RMC, GGA, VTG and GSA is parsed here column by
column (field boundaries from the comma positions, numbers from their digits)
instead of sentence by sentence. Numbers come out bit for bit as the
sentence parser makes them (an integer mantissa over a power of ten is the
correctly rounded decimal, as ``float()`` gives), and the tests hold both
roads to the same fixes on every recorded log. Anything this does not handle
(another sentence type, a field it cannot read, a cycle that changes shape,
midnight) is left to the sentence-by-sentence decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from drivers.framing import Bodies
from fleet_desk.gps.sentences import GNSS_TALKERS

KINDS = ("RMC", "GGA", "VTG", "GSA")
RMC, GGA, VTG, GSA = range(4)
_TYPE_CODE = {int.from_bytes(k.encode(), "big"): i for i, k in enumerate(KINDS)}
_TALKER_CODES = np.array(sorted(int.from_bytes(t.encode(), "big") for t in GNSS_TALKERS))
_FAA_QUALITY = np.ones(256, dtype=np.int64)
for _c, _q in zip(b"ADPRFEM", (1, 2, 3, 4, 5, 6, 7), strict=True):
    _FAA_QUALITY[_c] = _q
_NO_FIX = np.zeros(256, dtype=bool)
_NO_FIX[list(b"NSV")] = True
#: The widest number field read here (survey-grade coordinates have 7 decimals).
_WIDTH = 16
_POW10 = 10.0 ** np.arange(_WIDTH + 1)


class Unreadable(Exception):
    """The run holds something only the sentence-by-sentence decoder handles."""


class Run:
    """A run of sentence bodies cut into fields: their types, where each field starts and ends."""

    def __init__(self, bodies: Bodies, lo: int = 0) -> None:
        """Bodies ``lo`` to the end, read in place."""
        self.starts, self.ends = bodies.starts[lo:], bodies.ends[lo:]
        self.n = n = len(self.starts)
        self.arr = arr = np.frombuffer(bodies.block, dtype=np.uint8)
        if n == 0 or (self.ends - self.starts).min() < 6:
            raise Unreadable
        head = arr[self.starts[:, None] + np.arange(6)].astype(np.int64)
        if not (head[:, 5] == 44).all() or not np.isin(head[:, 0] << 8 | head[:, 1], _TALKER_CODES).all():
            raise Unreadable
        codes = head[:, 2] << 16 | head[:, 3] << 8 | head[:, 4]
        kind = np.full(n, -1, dtype=np.int64)
        for code, k in _TYPE_CODE.items():
            kind[codes == code] = k
        if (kind < 0).any():
            raise Unreadable
        self.kind = kind
        self.commas = np.flatnonzero(arr == 44)
        self.first_comma = np.searchsorted(self.commas, self.starts)
        self.fields = np.searchsorted(self.commas, self.ends) - self.first_comma + 1

    def field(self, rows: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) of field ``i`` of the sentences ``rows``; empty where a sentence has fewer fields."""
        base = self.first_comma[rows]
        nf = self.fields[rows]
        has = i < nf
        commas = self.commas
        last = len(commas) - 1
        start = np.where(has, commas[np.minimum(base + i - 1, last)] + 1, 0)
        end = np.where(i < nf - 1, commas[np.minimum(base + i, last)], self.ends[rows])
        end = np.where(has, end, 0)
        return start, end

    def chars(self, start: np.ndarray, end: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Each field's first ``width`` bytes as rows (0 past its end), and the fields' lengths."""
        length = end - start
        idx = start[:, None] + np.arange(width)
        inside = idx < end[:, None]
        return np.where(inside, self.arr[np.minimum(idx, len(self.arr) - 1)], 0).astype(np.int64), length

    def scan(self, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, ...]:
        """Decimal fields (``-12.50``, ``.00``, ``7``) read digit by digit across all rows at once:
        (integer mantissa, digits after the point, position of the point (the length if none), present)."""
        arr, last = self.arr, len(self.arr) - 1
        length = end - start
        width = int(length.max(initial=0))
        if width > _WIDTH:
            raise Unreadable
        n = len(start)
        present = length > 0
        negative = present & (arr[np.minimum(start, last)] == 45)
        mantissa = np.zeros(n, dtype=np.int64)
        decimals = np.zeros(n, dtype=np.int64)
        digits = np.zeros(n, dtype=np.int64)
        dot_at = length.copy()
        seen_dot = np.zeros(n, dtype=bool)
        bad = np.zeros(n, dtype=bool)
        no = np.zeros(n, dtype=bool)
        for j in range(width):
            inside = j < length
            ch = arr[np.minimum(start + j, last)].astype(np.int64)
            is_digit = inside & (ch >= 48) & (ch <= 57)
            is_dot = inside & (ch == 46)
            bad |= inside & ~is_digit & ~is_dot & ~(negative if j == 0 else no)
            bad |= is_dot & seen_dot
            mantissa = np.where(is_digit, mantissa * 10 + (ch - 48), mantissa)
            decimals += is_digit & seen_dot
            digits += is_digit
            dot_at = np.where(is_dot, j, dot_at)
            seen_dot |= is_dot
        if (bad | (present & (digits == 0))).any() or digits.max(initial=0) > 15:
            raise Unreadable
        return np.where(negative, -mantissa, mantissa), decimals, dot_at, present

    def number(self, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(value, present) of decimal fields, as ``float()`` reads them."""
        mantissa, decimals, _, present = self.scan(start, end)
        return mantissa / _POW10[decimals], present

    def integer(self, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(value, present) of whole-number fields (a GGA's fix quality, satellites in use); a field with
        digits after the point makes the run `Unreadable`."""
        mantissa, decimals, _, present = self.scan(start, end)
        if (decimals > 0).any():
            raise Unreadable
        return mantissa, present

    def char(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """A one-letter field's letter (0 when empty)."""
        return np.where(end > start, self.arr[np.minimum(start, len(self.arr) - 1)], 0).astype(np.int64)

    def time_of_day(self, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(milliseconds since midnight, present) of ``hhmmss[.sss]`` fields."""
        mantissa, decimals, dot_at, present = self.scan(start, end)
        if (present & ((dot_at != 6) | (mantissa < 0))).any():
            raise Unreadable
        scale = 10 ** decimals
        hhmmss, frac = mantissa // scale, mantissa % scale
        h, m, s = hhmmss // 10000, hhmmss // 100 % 100, hhmmss % 100
        if (present & ((h > 23) | (m > 59) | (s > 60))).any():
            raise Unreadable
        ms = (h * 3600 + m * 60 + s) * 1000 + np.round(frac / _POW10[decimals] * 1000).astype(np.int64)
        return np.where(present, ms, -1), present

    def coordinate(self, rows: np.ndarray, i: int, negative: int, limit: int) -> tuple[np.ndarray, np.ndarray]:
        """(signed degrees, present) of a ``dddmm.mmmm`` field ``i`` and its hemisphere in field ``i + 1``."""
        start, end = self.field(rows, i)
        hemi = self.char(*self.field(rows, i + 1))
        present = (end > start) & (hemi != 0)
        mantissa, decimals, dot_at, _ = self.scan(np.where(present, start, 0), np.where(present, end, 0))
        if (present & ((dot_at < 2) | (mantissa < 0))).any():
            raise Unreadable
        scale = 10 ** (decimals + 2)
        minutes = (mantissa % scale) / _POW10[decimals]
        degrees = mantissa // scale + minutes / 60.0
        if (present & ((minutes >= 60.0) | (degrees > limit))).any():
            raise Unreadable
        return np.where(hemi == negative, -degrees, degrees), present

    def dates(self, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """``ddmmyy`` fields as proleptic ordinals of their dates (`date.toordinal`; 0 where empty, not six
        digits, or 000000)."""
        c, length = self.chars(start, end, 6)
        d = c - 48
        six = (length == 6) & ((d >= 0) & (d <= 9)).all(axis=1)
        code = np.where(six, (d[:, 0] * 10 + d[:, 1]) * 10000 + (d[:, 2] * 10 + d[:, 3]) * 100 + d[:, 4] * 10
                        + d[:, 5], -1)
        codes, at = np.unique(code, return_inverse=True)
        ordinals = np.zeros(len(codes), dtype=np.int64)
        for i, value in enumerate(codes.tolist()):
            day, month, yy = value // 10000, value // 100 % 100, value % 100
            if value < 0 or day == 0 or month == 0:
                continue
            try:
                ordinals[i] = date(1900 + yy if yy >= 80 else 2000 + yy, month, day).toordinal()
            except ValueError as exc:
                raise Unreadable from exc
        return ordinals[at.reshape(-1)]


class Columns:
    """What each sentence of a run says, as the sentence parser would report it (NaN / -1: not said)."""

    def __init__(self, run: Run) -> None:
        n, kind = run.n, run.kind
        self.kind = kind
        nan = np.full(n, np.nan)
        self.tod = np.full(n, -1, dtype=np.int64)
        self.lat, self.lon = nan.copy(), nan.copy()
        self.valid = np.full(n, -1, dtype=np.int64)  # 1 a usable fix, 0 "no fix", -1 not said
        self.quality = np.zeros(n, dtype=np.int64)
        self.simulated = np.zeros(n, dtype=bool)
        self.speed_kn, self.course, self.alt = nan.copy(), nan.copy(), nan.copy()
        self.hdop, self.pdop = nan.copy(), nan.copy()
        self.sats = np.full(n, -1, dtype=np.int64)
        self.gsa_mode = np.full(n, -1, dtype=np.int64)
        self.day = np.zeros(n, dtype=np.int64)  # the date said, as `date.toordinal` (0: none)
        for k, parse in ((RMC, self._rmc), (GGA, self._gga), (VTG, self._vtg), (GSA, self._gsa)):
            rows = np.flatnonzero(kind == k)
            if len(rows):
                if (run.fields[rows] < (10, 10, 8, 18)[k]).any():
                    raise Unreadable
                parse(run, rows)
        #: Rows whose time is the unit's position time (a GGA's, a dated RMC's): the cycle detector's times.
        self.timed = (self.tod >= 0) & ((kind == GGA) | ((kind == RMC) & (self.day > 0)))

    def _position(self, run: Run, rows: np.ndarray, first: int) -> None:
        lat, has_lat = run.coordinate(rows, first, 83, 90)  # S
        lon, has_lon = run.coordinate(rows, first + 2, 87, 180)  # W
        self.lat[rows] = np.where(has_lat, lat, np.nan)
        self.lon[rows] = np.where(has_lon, lon, np.nan)

    def _rmc(self, run: Run, rows: np.ndarray) -> None:
        tod, _ = run.time_of_day(*run.field(rows, 1))
        status = run.char(*run.field(rows, 2))
        self._position(run, rows, 3)
        mode = run.char(*run.field(rows, 12))
        valid = (status == 65) & ~_NO_FIX[mode]  # A
        self.tod[rows] = tod
        self.valid[rows] = valid
        self.quality[rows] = np.where(valid, _FAA_QUALITY[mode], 0)
        self.simulated[rows] = mode == 83  # S
        for col, i in ((self.speed_kn, 7), (self.course, 8)):
            value, present = run.number(*run.field(rows, i))
            col[rows] = np.where(present, value, np.nan)
        start, end = run.field(rows, 9)
        a = status == 65
        self.day[rows] = run.dates(np.where(a, start, 0), np.where(a, end, 0))

    def _gga(self, run: Run, rows: np.ndarray) -> None:
        tod, _ = run.time_of_day(*run.field(rows, 1))
        self._position(run, rows, 2)
        quality, present = run.integer(*run.field(rows, 6))
        quality = np.where(present, quality, 0)
        self.tod[rows] = tod
        self.valid[rows] = (quality >= 1) & (quality <= 6)
        self.quality[rows] = quality
        self.simulated[rows] = quality == 8
        sats, present = run.integer(*run.field(rows, 7))
        self.sats[rows] = np.where(present, sats, -1)
        for col, i in ((self.hdop, 8), (self.alt, 9)):
            value, present = run.number(*run.field(rows, i))
            col[rows] = np.where(present, value, np.nan)

    def _vtg(self, run: Run, rows: np.ndarray) -> None:
        true_first = (run.char(*run.field(rows, 2)) == 84) | (run.fields[rows] >= 9)  # T
        if not true_first.all():
            raise Unreadable  # NMEA 1.x VTG: the sentence parser has it
        course, has_course = run.number(*run.field(rows, 1))
        knots, has_knots = run.number(*run.field(rows, 5))
        kmh, has_kmh = run.number(*run.field(rows, 7))
        self.course[rows] = np.where(has_course, course, np.nan)
        self.speed_kn[rows] = np.where(has_knots, knots, np.where(has_kmh, kmh / 1.852, np.nan))

    def _gsa(self, run: Run, rows: np.ndarray) -> None:
        mode, present = run.integer(*run.field(rows, 2))
        self.gsa_mode[rows] = np.where(present, mode, -1)
        for col, i in ((self.pdop, 15), (self.hdop, 16)):
            value, present = run.number(*run.field(rows, i))
            col[rows] = np.where(present, value, np.nan)


_HALF_DAY_MS = 43_200_000


def _last_in_cycle(mask: np.ndarray, at: np.ndarray, cycle_start: np.ndarray) -> np.ndarray:
    """For each position in ``at``: the index of the last ``mask`` row at or before it in its own cycle
    (-1 if none). ``cycle_start``: the first row of the cycle of each position in ``at``."""
    last = np.maximum.accumulate(np.where(mask, np.arange(len(mask)), -1))[at]
    return np.where(last >= cycle_start, last, -1)


@dataclass(slots=True)
class Cycles:
    """The complete cycles of a run, each with the report the sentence-by-sentence decoder would make.

    Built only when the unit's cycle stays as learned over the whole run (the sentence before each change of
    time is one of ``enders``); otherwise `steady` returns None and the run is decoded sentence by sentence.
    The arrays hold one element per reported cycle.
    """

    #: Cycles cut short before their ender (not reported).
    incomplete: int
    #: The report's time of day (ms since midnight) and date (`date.toordinal`, 0: not known).
    tod: npt.NDArray[np.int64]
    day: npt.NDArray[np.int64]
    valid: npt.NDArray[np.bool_]
    simulated: npt.NDArray[np.bool_]
    quality: npt.NDArray[np.int64]
    #: Degrees, NaN where the report is not valid.
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    #: The rest of the fix by `Columns` name (speed_kn, course, alt, hdop, pdop, sats, gsa_mode): (values, said).
    extra: dict[str, tuple[np.ndarray, npt.NDArray[np.bool_]]]
    #: Sentences of each of `KINDS` in the run.
    kinds: npt.NDArray[np.intp]
    #: Where the run leaves the unit: its last timed sentence's type, its time of day, the date it has said.
    last_kind: str
    instant: int
    last_date: date | None

    @classmethod
    def steady(cls, cols: Columns, lo: int, hi: int, enders: set[int], day: date | None,
               last_tod: int | None) -> Cycles | None:
        """The cycles of rows ``lo`` (a cycle's first timed row) to ``hi`` (the next cycle's first)."""
        kind = cols.kind[lo:hi]
        tod = cols.tod[lo:hi]
        said_day = cols.day[lo:hi]
        timed = cols.timed[lo:hi]
        rows = np.flatnonzero(timed)
        if not len(rows) or rows[0] != 0:
            return None
        if (((kind == RMC) | (kind == GGA)) & (tod < 0) & (cols.valid[lo:hi] == 0)).any():
            return None  # an untimed "no fix": the sentence decoder learns the unit's cycle anew after it
        times = tod[rows]
        starts_at = np.ones(len(rows), dtype=bool)
        starts_at[1:] = np.abs(np.diff(times)) > 10
        cycle_of_timed = np.cumsum(starts_at) - 1
        if (times != times[starts_at][cycle_of_timed]).any():
            return None  # times within one cycle that differ a little: the sentence decoder keys them apart
        # The unit's cycle as learned: the timed sentence before each change of time is an ender, and so is
        # the run's last timed sentence (the one before the change at ``hi``).
        before_change = np.append(rows[np.flatnonzero(starts_at)[1:] - 1], rows[-1])
        ender_kind = np.isin(kind, list(enders))
        if not ender_kind[before_change].all():
            return None
        # Midnight passing, or a unit whose clock runs backwards: the sentence decoder handles it.
        previous = np.concatenate(([last_tod if last_tod is not None else -1], times[:-1]))
        if ((previous >= 0) & (times < previous - _HALF_DAY_MS)).any():
            return None

        starts = rows[starts_at]
        n = hi - lo
        cycle = np.zeros(n, dtype=np.int64)
        cycle[starts[1:]] = 1
        cycle = np.cumsum(cycle)
        first_row = starts[cycle]
        ends = np.append(starts[1:], n) - 1
        # The date as the unit has said it, at each row (ordinals, 0: not known yet).
        last_said = np.maximum.accumulate(np.where(said_day > 0, np.arange(n), -1))
        day_of = np.where(last_said >= 0, said_day[np.maximum(last_said, 0)], day.toordinal() if day else 0)

        reports = np.flatnonzero(timed & ender_kind)
        c_start = first_row[reports]
        lat, lon = cols.lat[lo:hi], cols.lon[lo:hi]
        valid_col = cols.valid[lo:hi]
        good = (valid_col == 1) & ~np.isnan(lat) & ~np.isnan(lon)
        said_no = (valid_col == 0) | (cols.gsa_mode[lo:hi] == 1)
        where = _last_in_cycle(good, reports, c_start)
        last_word = _last_in_cycle(good | said_no, reports, c_start)
        valid = (where >= 0) & (last_word >= 0) & good[np.maximum(last_word, 0)]
        sim = _last_in_cycle((valid_col == 0) & cols.simulated[lo:hi], reports, c_start) >= 0
        quality = cols.quality[lo:hi]
        last_gga = _last_in_cycle(good & (kind == GGA), reports, c_start)
        first_rmc = np.full(len(starts), n, dtype=np.int64)
        good_rmc = np.flatnonzero(good & (kind == RMC))
        np.minimum.at(first_rmc, cycle[good_rmc], good_rmc)
        first_rmc_r = first_rmc[cycle[reports]]
        q = np.where(last_gga >= 0, quality[np.maximum(last_gga, 0)],
                     np.where(first_rmc_r <= reports, np.maximum(quality[np.minimum(first_rmc_r, n - 1)], 1), 0))
        # A cycle's report: its last valid one, else its last one.
        chosen = np.full(len(starts), -1, dtype=np.int64)
        order = np.arange(len(reports))
        np.maximum.at(chosen, cycle[reports], order)
        best_valid = np.full(len(starts), -1, dtype=np.int64)
        np.maximum.at(best_valid, cycle[reports[valid]], order[valid])
        chosen = np.where(best_valid >= 0, best_valid, chosen)
        reported = chosen >= 0
        pick = chosen[reported]
        rows_picked = reports[pick]
        # The rest of the fix is what the whole cycle said.
        cyc_end = ends[reported]
        cyc_start = starts[reported]
        extra = {}
        for name in ("speed_kn", "course", "alt", "hdop", "pdop", "sats", "gsa_mode"):
            col = getattr(cols, name)[lo:hi]
            said = ~np.isnan(col) if col.dtype.kind == "f" else col >= 0
            at = _last_in_cycle(said, cyc_end, cyc_start)
            extra[name] = (col[np.maximum(at, 0)], at >= 0)
        return cls(
            incomplete=int(np.count_nonzero(~reported)),
            tod=tod[rows_picked],
            day=day_of[rows_picked],
            valid=valid[pick],
            simulated=sim[pick],
            quality=q[pick],
            lat=np.where(valid[pick], lat[np.maximum(where[pick], 0)], np.nan),
            lon=np.where(valid[pick], lon[np.maximum(where[pick], 0)], np.nan),
            extra=extra,
            kinds=np.bincount(kind, minlength=len(KINDS)),
            last_kind=KINDS[int(kind[rows[-1]])],
            instant=int(times[-1]),
            last_date=date.fromordinal(int(day_of[-1])) if day_of[-1] else None,
        )
