"""MTK logger dumps: decoded point for point as GPSBabel does (its reference .gpx beside each dump)."""

from __future__ import annotations

import gpxpy
import pytest

from fleet_desk.gps.mtk import MtkFormatError, MtkStats, decode
from tests.conftest import TESTDATA

DUMPS = sorted((TESTDATA / "mtk-loggers").glob("*.bin"))


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.name)
def test_dump_decodes_to_gpsbabels_track_point_for_point(dump):  # noqa: ANN001
    stats = MtkStats()
    points = list(decode(dump.read_bytes(), stats=stats))
    with open(dump.with_suffix(".gpx"), encoding="utf-8") as f:
        reference = [p for t in gpxpy.parse(f).tracks for s in t.segments for p in s.points]
    assert len(points) == len(reference) > 100
    for ours, theirs in zip(points, reference, strict=True):
        assert ours.time_ms == round(theirs.time.timestamp() * 1000)
        assert abs(ours.lat - theirs.latitude) < 1e-9 and abs(ours.lon - theirs.longitude) < 1e-9
        assert theirs.elevation is None or abs(ours.height_m - theirs.elevation) < 5e-4
    assert stats.bad_checksums == 0 and stats.records == len(points)


def test_holux_variant_is_detected_and_garbage_is_refused():
    holux = next(d for d in DUMPS if "m241" in d.name).read_bytes()
    generic = next(d for d in DUMPS if "m241" not in d.name).read_bytes()
    # Read as the wrong variant, the records do not line up: checksums fail instead of inventing points.
    wrong = MtkStats()
    assert len(list(decode(generic, holux=True, stats=wrong))) < 50 and wrong.bad_checksums > 0
    assert len(list(decode(holux))) == len(list(decode(holux, holux=True)))
    with pytest.raises(MtkFormatError):
        list(decode(b"$GPRMC,not a dump\r\n" * 4000))
    with pytest.raises(MtkFormatError):
        list(decode(b"\x00" * 100))


def test_import_log_format_mtk_stores_the_track_once_through_the_store(tmp_path, capsys):  # noqa: ANN001
    from sqlalchemy import func, select

    from fleet_desk.cli import main
    from fleet_desk.store import open_database
    from fleet_desk.store.models import Position

    url = f"sqlite:///{tmp_path / 'depot.db'}"
    dump = next(d for d in DUMPS if "m241" not in d.name)
    args = ["--db", url, "import-log", str(dump), "--format", "mtk", "--device", "logger-1", "--vehicle", "Van 4"]
    assert main(args) == 0
    assert main(args) == 0  # docked again: nothing twice
    out = capsys.readouterr().out
    engine = open_database(url)
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Position))
        sources = set(conn.scalars(select(Position.source)))
    engine.dispose()
    with_fix = [p for p in decode(dump.read_bytes()) if p.has_fix]
    assert stored == len({p.time_ms for p in with_fix}) > 700 and sources == {"import"}
    assert "fixes stored        0" in out
    nmea = TESTDATA / "nmea-receivers" / "bt451.log"
    assert main(["--db", url, "import-log", str(nmea), "--format", "mtk", "--device", "logger-1"]) == 1
    assert "MTK logger dump" in capsys.readouterr().err


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.name)
def test_records_decoded_in_runs_equal_records_decoded_one_by_one(dump, monkeypatch) -> None:  # noqa: ANN001
    from fleet_desk.gps import mtk

    data = dump.read_bytes()
    damaged = bytearray(data)
    damaged[0x400] ^= 0x55  # one record with a bad checksum inside a run
    for memory in (data, bytes(damaged)):
        fast_stats, slow_stats = mtk.MtkStats(), mtk.MtkStats()
        fast = list(mtk.decode(memory, stats=fast_stats))
        with monkeypatch.context() as m:
            m.setattr(mtk, "_record_dtype", lambda layout: None)  # every record through `_record`
            slow = list(mtk.decode(memory, stats=slow_stats))
        assert fast == slow and fast_stats == slow_stats
    assert fast_stats.bad_checksums == 1
