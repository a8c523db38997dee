"""Decoding every recorded receiver log matches gpsd's fixes.

Parametrized over the whole folder, so a log dropped in later is tested too.
Fixes go through the real pipeline into a real SQLite file and are read back
with the CSV export, as a user would see them.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from fleet_desk.depot import Depot
from fleet_desk.gps import plausible
from fleet_desk.gps.decoder import GPS_ROLLOVER
from fleet_desk.ingest.pipeline import import_log
from fleet_desk.settings import Settings
from fleet_desk.store import open_database
from fleet_desk.store.export import export_positions
from tests.helpers.gpsd_oracle import gpsd_fixes
from tests.helpers.paths import NMEA_LOGS

TOLERANCE_DEG = 1e-7


def _stored(tmp_path, log):
    engine = open_database(f"sqlite:///{tmp_path / 'oracle.db'}")
    import_log(engine, Depot(engine, Settings()).tracker, log, device=log.stem)
    out = io.StringIO()
    export_positions(engine, out, "csv")
    engine.dispose()
    out.seek(0)
    return {row["time_utc"]: (float(row["lat"]), float(row["lon"])) for row in csv.DictReader(out)}


def _as_fleet_desk_dates_them(when: str) -> str:
    """gpsd's time of a fix as Fleet Desk stores it: gpsd moves a date 1024 weeks on when it lies before its
    own build (rst39.log's 2014 fixes become 2033); Fleet Desk never moves a date into the future (a fix
    dated 2033 would stay the van's latest position for years), so the unit's own date stands."""
    moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    if moment <= plausible.latest_time():
        return when
    return (moment - GPS_ROLLOVER).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _compare(log, tmp_path) -> tuple[int, int, list[str]]:
    """(matched, gpsd's fix count, times we stored where gpsd has no fix)."""
    expected = {_as_fleet_desk_dates_them(t): pos for t, pos in gpsd_fixes(log.with_name(log.name + ".chk")).items()}
    stored = _stored(tmp_path, log)
    # The export writes milliseconds only when a fix has them; gpsd always does.
    normalised = {(t if "." in t else t[:-1] + ".000Z"): pos for t, pos in stored.items()}
    matched = sum(
        1
        for t, (lat, lon) in expected.items()
        if t in normalised
        and abs(normalised[t][0] - lat) <= TOLERANCE_DEG
        and abs(normalised[t][1] - lon) <= TOLERANCE_DEG
    )
    return matched, len(expected), sorted(set(normalised) - set(expected))


def test_a_rollover_is_never_moved_into_the_future():
    """rst39.log's fixes are dated 2014-02-19 by the unit; gpsd moves them to 2033."""
    rst39 = next(p for p in NMEA_LOGS if p.name == "rst39.log")
    gpsd = sorted(gpsd_fixes(rst39.with_name(rst39.name + ".chk")))
    assert gpsd[0].startswith("2033-") and _as_fleet_desk_dates_them(gpsd[0]).startswith("2014-02-19T")


@pytest.mark.parametrize("log", NMEA_LOGS, ids=lambda p: p.name)
def test_log_matches_gpsd(log, tmp_path):
    matched, expected, extra = _compare(log, tmp_path)
    assert extra == [], f"fixes stored where gpsd has none: {extra[:5]}"
    assert matched == expected, f"{matched}/{expected} of gpsd's fixes matched"


def test_folder_is_not_empty():
    assert len(NMEA_LOGS) >= 23


def test_folder_overall_match_rate(tmp_path):
    """Across the whole folder at least 99% of gpsd's fix epochs match, and nothing more is stored."""
    matched = expected = extra = 0
    for log in NMEA_LOGS:
        db = tmp_path / log.stem
        db.mkdir()
        m, e, more = _compare(log, db)
        matched, expected, extra = matched + m, expected + e, extra + len(more)
    print(f"gpsd oracle: {matched}/{expected} fix epochs matched, {extra} stored where gpsd has none")
    assert expected >= 690
    assert matched / expected >= 0.99 and extra == 0
