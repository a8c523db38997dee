"""Decoding every recorded receiver log matches gpsd's fixes.

Parametrized over the whole folder, so a log dropped in later is tested too.
Fixes go through the real pipeline into a real SQLite file and are read back
with the CSV export, as a user would see them.
"""

from __future__ import annotations

import csv
import io

import pytest

from fleet_desk.ingest.pipeline import import_log
from fleet_desk.store import open_database
from fleet_desk.store.export import export_positions
from tests.helpers.gpsd_oracle import gpsd_fixes
from tests.helpers.paths import NMEA_LOGS

TOLERANCE_DEG = 1e-7


def _stored(tmp_path, log):  # noqa: ANN001, ANN202
    engine = open_database(f"sqlite:///{tmp_path / 'oracle.db'}")
    import_log(engine, log, device=log.stem)
    out = io.StringIO()
    export_positions(engine, out, "csv")
    engine.dispose()
    out.seek(0)
    return {row["time_utc"]: (float(row["lat"]), float(row["lon"])) for row in csv.DictReader(out)}


def _compare(log, tmp_path) -> tuple[int, int, list[str]]:  # noqa: ANN001
    """(matched, gpsd's fix count, times we stored where gpsd has no fix)."""
    expected = gpsd_fixes(log.with_name(log.name + ".chk"))
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


@pytest.mark.parametrize("log", NMEA_LOGS, ids=lambda p: p.name)
def test_log_matches_gpsd(log, tmp_path):  # noqa: ANN001
    matched, expected, extra = _compare(log, tmp_path)
    assert extra == [], f"fixes stored where gpsd has none: {extra[:5]}"
    assert matched == expected, f"{matched}/{expected} of gpsd's fixes matched"


def test_folder_is_not_empty():
    assert len(NMEA_LOGS) >= 23


def test_folder_overall_match_rate(tmp_path):  # noqa: ANN001
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
