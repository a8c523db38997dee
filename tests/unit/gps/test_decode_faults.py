"""Nothing a unit sends can stop decoding or get an absurd fix stored (issue 19, items 1 and 3).

The sentences named in the issue, a hypothesis fuzz of checksum-valid sentences through both the
sentence-by-sentence and the bulk decoder, and an import that holds the poison sentence (three live units on
real pseudo-terminals, one of them sending it: tests/integration/test_serial.py).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.framing import sentence
from fleet_desk.depot import Depot
from fleet_desk.gps import NmeaDecoder, plausible
from fleet_desk.ingest.pipeline import import_log
from fleet_desk.settings import Settings
from fleet_desk.sim.vans import SimulatedUnit
from fleet_desk.store import open_database
from fleet_desk.store.export import export_positions
from tests.helpers.nmea_faults import POISON

#: What the issue found stored, as an epoch's RMC or GGA (``{hms}``/``{dmy}``: the epoch's own time and date):
#: each must now be refused (counted as malformed or implausible) without losing the epochs around it.
ABSURD = [
    POISON.decode(),
    "GPRMC,{hms},A,-9100.000,N,01131.000,E,22.4,84.4,{dmy},,,A",  # lat -91 through a sign
    "GPRMC,{hms},A,4807.038,N,01131.000,E,1e9,84.4,{dmy},,,A",
    "GPRMC,{hms},A,4807.038,N,01131.000,E,inf,84.4,{dmy},,,A",
    "GPRMC,{hms},A,4807.038,N,01131.000,E,nan,84.4,{dmy},,,A",
    "GPRMC,{hms},A,4807.038,N,01131.000,E,540000.0,84.4,{dmy},,,A",  # 1e9 km/h written out in knots
    "GPRMC,{hms},A,4807.038,N,01131.000,E,-50,84.4,{dmy},,,A",
    "GPRMC,123502.9e9,A,4807.038,N,01131.000,E,22.4,84.4,{dmy},,,A",  # dated a fix in 2055
    "GPRMC,-10000.00,A,4807.038,N,01131.000,E,22.4,84.4,{dmy},,,A",  # stored as 23:00
    "GPRMC,{hms},A,4807.038,X,01131.000,E,22.4,84.4,{dmy},,,A",  # no such hemisphere
    "GPRMC,{hms},A,4807.038,N,01131.000,E,22.4,84.4,010130,,,A",  # 2030
    "GPGGA,{hms},4807.038,N,01131.000,E,1,08,0.9,1e12,M,46.9,M,,",
    "GPGGA,{hms},4807.038,N,01131.000,E,1,08,0.9,99999.0,M,46.9,M,,",  # 100 km up
    "GPZDA,{hms},01,01,9999,00,00",
]


@lru_cache(maxsize=8)
def _day(start: datetime, seconds: int) -> bytes:
    """A real-looking unit's NMEA for ``seconds`` epochs from ``start`` (the simulator's own sentences)."""
    unit = SimulatedUnit(0)
    return b"".join(unit.sentences(start + timedelta(seconds=s), float(s)) for s in range(seconds))


def _decode(data: bytes, chunk: int | None = None) -> tuple[list, NmeaDecoder]:
    decoder = NmeaDecoder()
    fixes = []
    step = chunk or len(data) or 1
    for i in range(0, len(data), step):
        fixes += decoder.feed(data[i:i + step])
    fixes += decoder.finish()
    return fixes, decoder


def _assert_believable(fixes: list) -> None:
    latest = plausible.latest_time()
    for f in fixes:
        why = plausible.why_implausible(f.time, f.lat, f.lon, f.speed_mps, f.course_deg, f.alt_m, f.hdop, f.pdop,
                                        latest)
        assert why is None, f"implausible fix produced: {why} ({f})"


def _with(epochs: bytes, k: int, template: str, when: datetime) -> bytes:
    """``epochs`` with epoch ``k``'s sentence of the template's type replaced by the template."""
    kind = template[:5].encode()
    text = template.format(hms=when.strftime("%H%M%S.00"), dmy=when.strftime("%d%m%y"))
    lines = epochs.split(b"\r\n")
    at = [i for i, line in enumerate(lines) if line[1:6] == kind][k] if kind != b"GPZDA" else None
    if at is None:
        at = [i for i, line in enumerate(lines) if line.startswith(b"$GPRMC")][k]
        lines.insert(at, sentence(text).rstrip(b"\r\n"))
    else:
        lines[at] = sentence(text).rstrip(b"\r\n")
    return b"\r\n".join(lines)


def test_each_absurd_sentence_is_refused_and_the_fixes_around_it_kept():
    start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    epochs = _day(start, 40)
    clean, _ = _decode(epochs)
    assert len(clean) == 40
    for template in ABSURD:
        fixes, decoder = _decode(_with(epochs, 10, template, start + timedelta(seconds=10)))
        assert decoder.stats.malformed + decoder.stats.implausible >= 1, template
        times = [f.time for f in fixes]
        assert set(times) <= {f.time for f in clean}, template
        assert len(times) >= 39, template  # at most the epoch with the absurd value is not stored
        _assert_believable(fixes)


def test_the_bulk_decoder_refuses_what_the_sentence_decoder_refuses():
    """A day's run goes through `fleet_desk.gps.bulk`; an absurd but syntactically plain value in it (an
    altitude of 99,999 m) must not slip through that road: the run then gives exactly what the sentence
    decoder gives (the GGA refused and counted, the epoch's position kept from its RMC)."""
    start = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    data = b"".join(line for line in _day(start, 900).splitlines(keepends=True) if not line.startswith(b"$GPGSV"))
    _, clean = _decode(data)
    assert clean.stats.in_bulk > 0, "a clean run of this size is decoded in bulk"
    lines = data.split(b"\r\n")
    bad = 0
    for i, line in enumerate(lines):
        if line.startswith(b"$GPGGA") and i % 97 == 1:
            fields = line[1:line.index(b"*")].split(b",")
            fields[9] = b"99999.0"
            lines[i] = sentence(b",".join(fields).decode()).rstrip(b"\r\n")
            bad += 1
    data = b"\r\n".join(lines)
    in_bulk, decoder = _decode(data)
    one_by_one, reference = _decode(data, 997)  # chunks too small for bulk decoding
    assert reference.stats.in_bulk == 0
    assert bad > 5
    assert decoder.stats.implausible == reference.stats.implausible == bad
    assert [(f.time, f.lat, f.alt_m) for f in in_bulk] == [(f.time, f.lat, f.alt_m) for f in one_by_one]
    _assert_believable(in_bulk)


def test_a_run_dated_in_the_future_is_refused_on_both_roads():
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=400)
    data = _day(start, 900)
    for chunk in (None, 997):
        fixes, decoder = _decode(data, chunk)
        assert fixes == []
        assert decoder.stats.implausible >= 899


def test_an_import_with_the_poison_sentence_stores_every_other_fix_and_a_rerun_stores_nothing_twice(tmp_path):
    start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    log = tmp_path / "poison.nmea"
    log.write_bytes(_day(start, 300) + sentence(POISON.decode()) + _day(start + timedelta(seconds=300), 300))
    engine = open_database(f"sqlite:///{tmp_path / 'depot.db'}")
    try:
        tracker = Depot(engine, Settings()).tracker
        first = import_log(engine, tracker, log, device="unit-p")
        again = import_log(engine, tracker, log, device="unit-p")
        out = io.StringIO()
        export_positions(engine, out, "geojson")
    finally:
        engine.dispose()
    assert first.result.stored == 600
    assert first.stats.malformed == 1
    assert again.result.stored == 0 and again.result.duplicates == 600
    json.loads(out.getvalue(), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # no NaN/Infinity


# --------------------------------------------------------------------------
# Fuzzing: checksum-valid sentences with hostile fields

_NUMBERS = st.one_of(
    st.sampled_from(["", "0", "-0", "1e9", "1E-400", "5.5e400", "inf", "-inf", "nan", "NaN", "Infinity",
                     "-50", "+5", "1_000", " 12", "12 ", "0x1F", "..", ".", "-", "9" * 40, "1" * 5000,
                     "123505.5e400", "-10000.00", "-9100.000", "4807.038", "01131.000", "999999", "000000",
                     "\u0661\u0662", "12.5.5"]),
    st.from_regex(r"\A-?[0-9]{0,12}(\.[0-9]{0,9})?([eE][-+]?[0-9]{1,4})?\Z", fullmatch=True),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet="0123456789.-+eEnaNIf,*$ ", max_size=20),
)
_LETTERS = st.sampled_from(["", "A", "V", "N", "S", "E", "W", "X", "T", "M", "K", "D", "1", "é"])
_SHAPES = {
    "RMC": ["n", "l", "n", "l", "n", "l", "n", "n", "n", "n", "l", "l"],
    "GGA": ["n", "n", "l", "n", "l", "n", "n", "n", "n", "l", "n", "l", "n", "n"],
    "GNS": ["n", "n", "l", "n", "l", "l", "n", "n", "n", "n", "n", "n"],
    "GLL": ["n", "l", "n", "l", "n", "l", "l"],
    "VTG": ["n", "l", "n", "l", "n", "l", "n", "l", "l"],
    "GSA": ["l", "n"] + ["n"] * 12 + ["n", "n", "n"],
    "ZDA": ["n", "n", "n", "n", "n", "n"],
    "GSV": ["n", "n", "n", "n", "n", "n", "n"],
}


@st.composite
def hostile_sentences(draw) -> bytes:
    kind = draw(st.sampled_from(sorted(_SHAPES)))
    talker = draw(st.sampled_from(["GP", "GN", "GL"]))
    shape = _SHAPES[kind]
    cut = draw(st.integers(0, len(shape)))  # truncation
    fields = [draw(_NUMBERS if s == "n" else _LETTERS) for s in shape[:cut]]
    body = ",".join([talker + kind, *fields])
    return body.encode("utf-8", "surrogateescape").decode("latin-1")


_FUZZ_CASES = {"cases": 0, "implausible_produced": 0}


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile_sentences(), min_size=1, max_size=12), st.integers(0, 2))
def test_fuzzed_sentences_never_raise_and_never_give_an_implausible_fix(bodies, where):
    """Among a unit's steady sentences, hostile checksum-valid ones: no exception, every valid fix around
    them believable, through the sentence decoder (small chunks) and the bulk decoder (one big chunk)."""
    start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    head, tail = _day(start, 40), _day(start + timedelta(seconds=40), 600 if where == 2 else 40)
    poison = b"".join(sentence(b) for b in bodies)
    data = head + poison + tail if where else poison + head + tail
    _FUZZ_CASES["cases"] += 1
    for chunk in (None, 997):
        fixes, decoder = _decode(data, chunk)
        _assert_believable(fixes)
        assert decoder.stats.unexpected == 0, "a sentence raised something the parsers did not expect"


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=400))
def test_random_bytes_between_sentences_never_raise(noise):
    start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    fixes, _ = _decode(_day(start, 10) + noise + _day(start + timedelta(seconds=10), 10), 61)
    _assert_believable(fixes)
    assert len(fixes) >= 15  # the noise can eat at most the epochs it lands in


def test_a_date_no_single_rollover_makes_believable_is_refused_and_none_is_moved_into_the_future():
    """A unit saying 1999 in a stream of 2026 (with the log's header date): one rollover makes it 2019, still
    too old, so it is refused, never moved on twice to 2039. A date one rollover would push past today
    (an old log, a clock a little behind) stands as the unit said it."""
    start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    epochs = _day(start, 40)
    decoder = NmeaDecoder(not_before=date(2026, 11, 20))
    fixes = decoder.feed(_with(epochs, 10, "GPRMC,{hms},A,4807.038,N,01131.000,E,22.4,84.4,201199,,,A",
                               start + timedelta(seconds=10))) + decoder.finish()
    assert all(f.time.year == 2026 for f in fixes) and len(fixes) >= 39
    assert decoder.stats.implausible >= 1 and decoder.stats.rollover_corrected == 0

    thirteen_months_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=395)
    live = NmeaDecoder(not_before=(datetime.now(UTC) - timedelta(days=365)).date())
    old = live.feed(_day(thirteen_months_ago, 20)) + live.finish()
    assert len(old) == 20 and old[0].time == thirteen_months_ago and live.stats.rollover_corrected == 0
    assert max(f.time for f in old) < datetime.now(UTC)
