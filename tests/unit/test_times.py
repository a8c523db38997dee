"""fleet_desk.times: stored UTC milliseconds read in the depot's zone, whatever zone the machine is in."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from fleet_desk import times

PARIS = ZoneInfo("Europe/Paris")
# 2026-11-20 08:05:09.250 UTC, a Friday: 09:05 in Paris, 21:05 in Auckland (summer time, UTC+13).
MS = times.to_ms(datetime(2026, 11, 20, 8, 5, 9, 250_000, tzinfo=UTC))


@pytest.fixture
def machine_in_auckland(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This computer's zone is Pacific/Auckland for the test (the depot's is not)."""
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_round_trips_and_iso_text() -> None:
    assert times.from_ms(MS) == datetime(2026, 11, 20, 8, 5, 9, 250_000, tzinfo=UTC)
    assert times.to_ms(times.from_ms(MS)) == MS
    assert times.iso_z(MS) == "2026-11-20T08:05:09.250Z"
    assert times.iso_z(MS - 250) == "2026-11-20T08:05:09Z"
    assert times.parse_utc("2026-11-20T08:05:09.250Z") == times.from_ms(MS)
    assert times.parse_utc("2026-11-20T09:05:09.250+01:00") == times.from_ms(MS)
    assert times.parse_utc("2026-11-20T08:05:09.250").tzinfo is UTC  # no offset: UTC


@pytest.mark.usefixtures("machine_in_auckland")
def test_people_read_the_depot_time_not_the_machines() -> None:
    assert (times.hhmm(MS, PARIS), times.hhmmss(MS, PARIS)) == ("09:05", "09:05:09")
    assert times.day_hhmm(MS, PARIS) == "20 Nov 09:05"
    assert times.weekday(MS, PARIS) == "Fri 20 Nov"
    assert times.local_day(MS - 9 * 3_600_000, PARIS) == "2026-11-20"  # 00:05 in Paris
    assert times.local_day(MS - 9 * 3_600_000, UTC) == "2026-11-19"
    assert times.date_time(MS, PARIS) == "20 Nov 2026 09:05 CET"  # a road map built then, app and CLI alike
    # The setting left empty (tz None): the computer's zone stands in for the depot's.
    assert times.hhmm(MS, None) == "21:05"
    assert times.date_time(MS, None) == "20 Nov 2026 21:05 NZDT"


@pytest.mark.usefixtures("machine_in_auckland")
def test_utc_times_stay_utc_on_any_machine() -> None:
    assert times.utc_hhmmss(times.from_ms(MS)) == "08:05:09Z"  # a fix's time on the command line's lines
    assert times.utc_hhmmss(times.from_ms(MS).astimezone(PARIS)) == "08:05:09Z"
    assert times.utc_day(MS - 9 * 3_600_000) == "2026-11-19"  # positions are thinned by whole UTC days
    assert times.long_day(times.at_depot(MS, PARIS).date()) == "Fri 20 Nov 2026"


def test_durations_read_as_people_say_them() -> None:
    said = [times.duration(s) for s in (-2, 0, 5.4, 59.6, 190, 7500, 86_399, 86_400, 3 * 86_400)]
    assert said == ["0 s", "0 s", "5 s", "1 min 00 s", "3 min 10 s", "2 h 05 min", "23 h 59 min", "1 day",
                    "3 days"]


def test_no_time_reads_as_nothing() -> None:
    assert times.hhmm(None, PARIS) == times.hhmmss(None, PARIS) == times.day_hhmm(None, PARIS) == ""
