"""The fast parser agrees with pynmea2 on every sentence of every recorded log."""

from __future__ import annotations

import math

import pytest

from drivers.framing import SentenceFramer
from fleet_desk.gps.sentences import MalformedSentence, parse_fast, parse_pynmea2
from tests.helpers.paths import NMEA_LOGS


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
    return a == b


@pytest.mark.parametrize("log", NMEA_LOGS, ids=lambda p: p.name)
def test_fast_path_matches_pynmea2(log):
    framer = SentenceFramer()
    bodies = framer.feed(log.read_bytes()) + framer.flush()
    compared = 0
    for body in bodies:
        try:
            fast = parse_fast(body)
        except MalformedSentence:
            fast = "malformed"
        try:
            ref = parse_pynmea2(body)
        except MalformedSentence:
            ref = "malformed"
        if fast == "malformed" or ref == "malformed":
            continue  # pynmea2 and we may disagree on what is garbage; both must not crash
        assert (fast is None) == (ref is None), body
        if fast is None:
            continue
        for field in fast._fields:
            assert _same(getattr(fast, field), getattr(ref, field)), (body, field, fast, ref)
        compared += 1
    assert compared > 0 or not bodies


def test_talkers_and_unknown_kinds():
    assert parse_fast(b"GNRMC,120000.00,A,4807.038,N,01131.000,E,022.4,084.4,230394,,,A").lat == pytest.approx(48.1173)
    for talker in ("GP", "GN", "GL", "GA", "GB", "BD", "GQ", "GI"):
        assert parse_fast(f"{talker}GGA,120000,4807.038,N,01131.000,W,1,08,0.9,545.4,M,46.9,M,,".encode()).lon < 0
    assert parse_fast(b"PMTK001,604,3") is None
    assert parse_fast(b"SDDBT,1.0,f,0.3,M,0.1,F") is None
    assert parse_fast(b"GPTXT,01,01,02,hello") is None


def test_malformed_fields_raise_not_crash():
    with pytest.raises(MalformedSentence):
        parse_fast(b"GPRMC,256100,A,4807.038,N,01131.000,E,022.4,084.4,230394,,,A")
    with pytest.raises(MalformedSentence):
        parse_fast(b"GPGGA,120000,48x7.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
    with pytest.raises(MalformedSentence):
        parse_fast(b"GPRMC,120000")
