"""Streaming decoding: arbitrary chunks, noise, checksums, dates, validity."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.framing import sentence
from fleet_desk.gps import NmeaDecoder, decoder
from fleet_desk.sim.vans import SimulatedUnit, render
from tests.helpers.paths import NMEA_LOGS

DAY = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _decode(data: bytes, chunk: int | None = None, **kw) -> tuple[list, NmeaDecoder]:
    dec = NmeaDecoder(**kw)
    fixes = []
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        fixes += dec.feed(data[i : i + step])
    return fixes + dec.finish(), dec


def _sim_bytes(seconds: int = 60) -> bytes:
    return b"".join(b for _, b in render([SimulatedUnit(0)], DAY, seconds))


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=400))
def test_chunking_never_changes_the_result(chunk):
    data = NMEA_LOGS[1].read_bytes()
    whole, _ = _decode(data)
    assert _decode(data, chunk)[0] == whole


def test_one_fix_per_epoch_with_merged_fields():
    fixes, dec = _decode(_sim_bytes(60))
    assert len(fixes) == 60
    assert [f.time for f in fixes] == sorted(f.time for f in fixes)
    f = fixes[30]
    assert f.time.tzinfo is UTC
    assert f.sats is not None and f.hdop is not None and f.pdop is not None and f.alt_m is not None
    assert f.speed_mps is not None and f.course_deg is not None
    assert dec.stats.by_kind["RMC"] == 60 and dec.stats.by_kind["VTG"] == 60


def test_lf_and_crlf_endings_noise_and_overlong_lines():
    clean = _sim_bytes(10)
    lf = clean.replace(b"\r\n", b"\n")
    noisy = b"\x00\xff\xfe garbage\n" + b"X" * 5000 + b"\n" + lf.replace(b"$GPVTG", b"\x00\x00$GPVTG")
    a, _ = _decode(clean)
    b, dec = _decode(noisy, 7)
    assert a == b
    assert dec.stats.framing.noise >= 1 and dec.stats.framing.overlong >= 1


def test_bad_and_missing_checksums_are_counted_and_rejected():
    good = sentence("GPRMC,120000.00,A,4807.038,N,01131.000,E,022.4,084.4,201126,,,A")
    bad = good.replace(b"4807", b"4907")
    missing = good.split(b"*")[0] + b"\r\n"
    fixes, dec = _decode(bad + missing)
    assert fixes == []
    assert dec.stats.framing.bad_checksum == 1 and dec.stats.framing.missing_checksum == 1
    fixes, dec = _decode(missing, accept_missing_checksum=True)
    assert len(fixes) == 1 and fixes[0].lat > 48


def test_invalid_and_simulated_fixes_are_not_stored_only_counted():
    """A unit sending RMC then GGA each second: a second is a fix only when what it said by its cycle-ender
    (the GGA) is a valid fix."""
    data = b"".join(
        [
            sentence("GPRMC,120000,V,4807.038,N,01131.000,E,0.0,0.0,201126,,,N"),
            sentence("GPGGA,120000,,,,,0,00,99.9,,M,,M,,"),
            sentence("GPRMC,120001,A,4807.038,N,01131.000,E,0.0,0.0,201126,,,S"),
            sentence("GPGGA,120001,4807.038,N,01131.000,E,8,08,1.0,1.0,M,,M,,"),
            sentence("GPRMC,120002,A,4807.038,N,01131.000,E,0.0,0.0,201126,,,A"),
            sentence("GPGGA,120002,4807.038,N,01131.000,E,0,00,99.9,,M,,M,,"),
            sentence("GPRMC,120003,V,4807.038,N,01131.000,E,0.0,0.0,201126,,,N"),
            sentence("GPGGA,120003,,,,,0,00,99.9,,M,,M,,"),
            sentence("GPRMC,120004,A,4807.038,N,01131.000,E,0.0,0.0,201126,,,A"),
            sentence("GPGGA,120004,4807.038,N,01131.000,E,1,08,1.0,1.0,M,,M,,"),
        ]
    )
    fixes, dec = _decode(data)
    assert [f.time for f in fixes] == [datetime(2026, 11, 20, 12, 0, 4, tzinfo=UTC)]
    assert dec.stats.invalid == 4 and dec.stats.simulated == 1


def test_date_is_carried_to_gga_only_epochs_and_across_midnight():
    data = b"".join(
        sentence(s)
        for s in (
            "GPRMC,235958,A,4807.038,N,01131.000,E,0.0,0.0,201126,,,A",
            "GPGGA,235958,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
            *(f"GPGGA,{t},4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,," for t in ("235959", "000000", "000001")),
        )
    )
    fixes, _ = _decode(data)
    assert [f.time.isoformat() for f in fixes] == [
        "2026-11-20T23:59:58+00:00",
        "2026-11-20T23:59:59+00:00",
        "2026-11-21T00:00:00+00:00",
        "2026-11-21T00:00:01+00:00",
    ]


@pytest.mark.parametrize("chunk", [None, 1, 97])
def test_a_unit_that_says_each_epochs_date_crosses_midnight_into_the_next_day_not_the_one_after(chunk):
    """The RMC just past midnight says the new date: it is taken as said, not moved a day on again because the
    time of day went back (that put one fix a day ahead, where it stayed the van's latest position)."""
    start = datetime(2026, 12, 1, 23, 59, 57, 100000, tzinfo=UTC)
    unit = SimulatedUnit(0, 1)
    data = b"".join(unit.sentences(start + timedelta(seconds=s), s) for s in range(6))
    fixes, _ = _decode(data, chunk)
    assert [f.time for f in fixes] == [start + timedelta(seconds=s) for s in range(6)]


def test_undated_epochs_are_not_guessed_unless_a_date_is_given():
    data = b"".join(sentence(f"GPGGA,1200{s:02d},4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,") for s in range(3))
    fixes, dec = _decode(data)
    assert fixes == [] and dec.stats.undated == 3
    fixes, _ = _decode(data, date_hint=date(2026, 11, 20))
    assert len(fixes) == 3 and fixes[0].time == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_gps_week_rollover_is_corrected_against_a_known_date():
    data = sentence("GPRMC,120000,A,4807.038,N,01131.000,E,0.0,0.0,070407,,,A")  # 2007: 1024 weeks early
    fixes, dec = _decode(data, not_before=date(2026, 11, 1))
    assert fixes[0].time.date() == date(2026, 11, 21)
    assert dec.stats.rollover_corrected == 1


@pytest.mark.parametrize("log", NMEA_LOGS, ids=lambda p: p.name)
def test_live_release_of_sealed_epochs_gives_the_same_positions_at_once(log):
    """Live, an epoch's fix is handed over as soon as its cycle-ender arrived, not when the next epoch starts
    (where the unit's cycle is steady): on every recorded log, released line by line, the same positions come
    out, none twice."""
    data = log.read_bytes()
    whole, _ = _decode(data)
    dec = NmeaDecoder()
    released = []
    for line in data.splitlines(keepends=True):
        released += dec.feed(line) + dec.release_sealed()
    released += dec.finish()
    assert sorted((f.time, f.lat, f.lon) for f in released) == sorted((f.time, f.lat, f.lon) for f in whole)


def test_a_steady_unit_hands_over_each_fix_without_waiting_for_the_next_epoch():
    """Released once the unit's burst for the epoch is over (the live reader waits for a quiet line), every
    field is there, exactly as when the next epoch closes it."""
    data = _sim_bytes(60)
    dec = NmeaDecoder()
    early, waited = [], []
    for _t, burst in render([SimulatedUnit(0)], DAY, 60):
        fixes = dec.feed(burst)
        assert not (fixes and early)  # once the cycle is learned, nothing waits for the next epoch
        waited += fixes
        early += dec.release_sealed()
    assert len(waited) == 1 and len(early) == 59 and waited + early + dec.finish() == _decode(data)[0]


_POSITION_ONLY = re.compile(rb"^\$G[A-Z](RMC|GGA|VTG|GSA),")


def _decode_both_ways(data: bytes, chunk: int, monkeypatch) -> tuple[tuple, tuple]:
    """(whole cycles in bulk where possible, sentence by sentence): fixes and counts."""
    results = []
    for bulk_min in (10, 10**9):
        monkeypatch.setattr(decoder, "_BULK_MIN", bulk_min)
        fixes, dec = _decode(data, chunk)
        s = dec.stats
        counts = (s.epochs, s.fixes, s.invalid, s.simulated, s.undated, s.incomplete, dict(s.by_kind), s.unknown)
        results.append((fixes, counts, s.in_bulk))
    return results[0], results[1]


@pytest.mark.parametrize("log", NMEA_LOGS, ids=lambda p: p.name)
def test_bulk_decoding_gives_what_sentence_by_sentence_gives(log, monkeypatch):
    """Every recorded log, as recorded and cut down to the sentences bulk decoding reads (a unit with GSV
    and the rest turned off), in chunks of several sizes: the same fixes and counts both ways."""
    raw = log.read_bytes()
    cut = b"".join(line for line in raw.splitlines(keepends=True) if _POSITION_ONLY.match(line))
    for data in (raw, cut):
        for chunk in (300, 4096):
            (fixes, counts, _), (expected, expected_counts, none) = _decode_both_ways(data, chunk, monkeypatch)
            assert none == 0
            assert fixes == expected and counts == expected_counts


def test_bulk_decoding_of_a_long_day_with_trouble(monkeypatch):
    """Hours of a unit sending RMC, GGA, VTG and GSA each second, across midnight, with stretches of no fix,
    a stretch where its RMC is missing, a void GSA and a changed talker: most of it decoded in bulk, exactly
    as sentence by sentence, and an untimed "no fix" GGA."""
    lines = []
    for i in range(6 * 3600):
        t = (datetime(2026, 11, 20, 21, 0, tzinfo=UTC) + timedelta(seconds=i))
        hms, dmy = t.strftime("%H%M%S.00"), t.strftime("%d%m%y")
        lat = f"4807.{i % 10000:04d}"
        fix = not (7200 <= i < 7300)
        talker = "GN" if 9000 <= i < 9100 else "GP"
        if not (12000 <= i < 12030):
            lines.append(f"{talker}RMC,{hms},{'A' if fix else 'V'},{lat},N,01131.000,W,12.5,45.0,{dmy},,,A")
        lines.append(f"{talker}GGA,{hms},{lat},N,01131.000,W,{1 if fix else 0},08,0.9,35.2,M,47.0,M,,")
        lines.append("GPVTG,45.0,T,,M,12.5,N,23.1,K,A")
        lines.append(f"GPGSA,A,{3 if i % 500 else 1},01,02,03,04,,,,,,,,,1.8,0.9,1.5")
        if i == 21000:
            lines.append("GPGGA,,,,,,0,,,,,,,,")  # some units' untimed "no fix"
    data = b"".join(sentence(line) for line in lines)
    (fixes, counts, in_bulk), (expected, expected_counts, _) = _decode_both_ways(data, 1 << 16, monkeypatch)
    assert in_bulk > len(lines) * 0.9
    assert fixes == expected and counts == expected_counts
    assert counts[2] == 100 and len(fixes) == 6 * 3600 - 100  # the hundred seconds without a fix
    assert fixes[-1].time == datetime(2026, 11, 21, 2, 59, 59, tzinfo=UTC)


def test_a_cycle_cut_short_is_counted_not_stored():
    """Unplugged after an epoch's RMC and before its GGA (the unit's cycle-ender): that epoch is counted as
    cut short; the import summary says so."""
    from fleet_desk.ingest.pipeline import IngestSummary

    data = b"".join(
        sentence(s)
        for t in range(5)
        for s in (
            f"GPRMC,12000{t},A,4807.038,N,01131.000,E,0.0,0.0,201126,,,A",
            f"GPGGA,12000{t},4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,",
        )
    ) + sentence("GPRMC,120005,A,4807.038,N,01131.000,E,0.0,0.0,201126,,,A")
    fixes, dec = _decode(data)
    assert len(fixes) == 5 and dec.stats.incomplete == 1
    assert ("cut short", "1 epochs ended before the unit's cycle did; not stored") in IngestSummary(dec.stats).report()
