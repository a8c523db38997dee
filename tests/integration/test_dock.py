"""Docking: a data logger on a real pseudo-terminal hands over its stored track.

The MTK loggers answer PMTK182 from the recorded dumps (or from a whole
simulated delivery day written in the MTK format); the NMEA logger plays a
recorded receiver log back. The download goes through `dock_unit`, the same
function the Dock view and ``fleet-desk dock`` call.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import gpxpy
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from drivers.base import PortInfo
from drivers.mtk import MtkLogger
from fleet_desk.cli import main
from fleet_desk.depot import Depot
from fleet_desk.gps.mtk import decode
from fleet_desk.ingest.dock import DockError, dock_unit, recognise
from fleet_desk.ingest.dock.cache import DownloadCache
from fleet_desk.ingest.pipeline import import_log
from fleet_desk.settings import Settings
from fleet_desk.sim.day import render_day
from fleet_desk.sim.loggers import SimulatedMtkLogger, SimulatedNmeaLogger
from fleet_desk.store import open_database
from fleet_desk.store.models import OrderEvent, Position, Stop
from fleet_desk.store.units import UnitAssignment
from fleet_desk.tracking import RouteTracker, TrackingRules
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import store_manifest
from tests.helpers.days import day_in_a_logger
from tests.helpers.paths import TESTDATA

DUMPS = sorted((TESTDATA / "mtk-loggers").glob("*.bin"))
RULES = TrackingRules(timezone=UTC)


@pytest.fixture
def logger_sim():
    sims = []

    def make(memory: bytes, **kw: object) -> SimulatedMtkLogger:
        sim = SimulatedMtkLogger(memory, **{"line_rate": False, **kw}).start()
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        sim.close()


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.name)
def test_download_over_a_pty_matches_the_dump_and_gpsbabels_track(dump: Path, logger_sim) -> None:
    memory = dump.read_bytes()
    holux = b"HOLUX" in memory
    sim = logger_sim(memory, baud=38400 if holux else 115200, model="M-241" if holux else "MTK-LOGGER",
                     damage_every=7)  # every 7th memory line arrives damaged and is asked for again
    with MtkLogger(sim.path) as logger:
        identity = logger.open()  # finds the baud rate by asking
        assert identity.baud == sim.baud and identity.model == sim.model
        used = logger.used_bytes()
        data = b"".join(piece for _, piece in logger.read(0, used))
    assert used == sim.used and data == memory[:used]
    reference = [p for t in gpxpy.parse(dump.with_suffix(".gpx").read_text()).tracks for s in t.segments
                 for p in s.points]
    points = list(decode(data))
    assert len(points) == len(reference)
    for ours, ref in zip(points, reference, strict=True):
        assert ours.time_ms // 1000 == int(ref.time.timestamp())
        assert abs(ours.lat - ref.latitude) < 1e-6 and abs(ours.lon - ref.longitude) < 1e-6


def _stops(engine) -> list[Stop]:
    with Session(engine) as s:
        return list(s.scalars(select(Stop).order_by(Stop.sequence)))


def _positions(engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Position))


def test_a_docked_day_fills_in_every_stop_and_tells_no_customer_old_news(tmp_path, db_url, logger_sim) -> None:
    day, manifest, fixes, memory = day_in_a_logger(tmp_path)
    engine = open_database(db_url)
    tracker = Depot(engine, Settings()).tracker
    store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
    sim = logger_sim(memory)
    used = sim.used
    seen = []
    summary = dock_unit(engine, tracker, sim.path, "logger-1", vehicle=day.vehicle, erase=True, progress=seen.append)
    assert summary.complete and summary.family == "mtk" and summary.erased and sim.erased
    assert summary.ingest.result.stored == len(fixes) == _positions(engine)
    stops = _stops(engine)
    assert [s.status for s in stops] == ["delivered"] * 6
    for stop, truth in zip(stops, day.arrivals, strict=True):
        assert abs(stop.arrived_ms / 1000 - truth.timestamp()) <= 90, stop.order_id
    assert [v.sequence for v in summary.stops] == [1, 2, 3, 4, 5, 6] and all(v.filled_in for v in summary.stops)
    assert summary.distance_m > 10_000
    with Session(engine) as s:
        events = list(s.scalars(select(OrderEvent).where(OrderEvent.source == "dock")))
    assert {"arrived", "delivered"} <= {e.type for e in events}
    assert not any(e.customer_facing for e in events)  # hours-old fixes: history, not news
    downloading = [p for p in seen if p.phase == "downloading"]
    assert downloading[-1].bytes_done == downloading[-1].bytes_total == used
    assert downloading[-1].records == summary.records and downloading[-1].time_left_s == 0
    assert [p.phase for p in seen][-1] == "erasing" and "reconciling" in [p.phase for p in seen]
    engine.dispose()


def test_dock_after_live_tracking_fills_in_only_what_live_missed(tmp_path, logger_sim) -> None:
    day, manifest, fixes, memory = day_in_a_logger(tmp_path, 2)
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    tracker = Depot(engine, Settings()).tracker
    store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
    # Live tracking heard the van until just after its second delivery, then the unit lost its link.
    cut = next(i for i, f in enumerate(fixes) if f.time > day.arrivals[1]) + 400
    live_log = tmp_path / "live.nmea"
    live_log.write_bytes(render_day(day, int((fixes[cut].time - fixes[0].time).total_seconds())))
    import_log(engine, RouteTracker(RULES, clock=None), live_log, "live-unit", day.vehicle, source="live")
    before = {s.id: (s.status, s.arrived_ms, s.departed_ms) for s in _stops(engine)}
    assert [s for s, _, _ in before.values()] == ["delivered"] * 2 + ["pending"] * 4

    summary = dock_unit(engine, tracker, logger_sim(memory).path, "logger-2", family="mtk", vehicle=day.vehicle)
    stops = _stops(engine)
    assert [s.status for s in stops] == ["delivered"] * 6
    for s in stops[:2]:  # what live tracking recorded stays as it was
        assert (s.status, s.arrived_ms, s.departed_ms) == before[s.id]
    assert [v.filled_in for v in summary.stops] == [False, False, True, True, True, True]
    engine.dispose()


def test_cancel_keeps_what_was_read_and_docking_again_resumes_without_duplicates(tmp_path, logger_sim) -> None:
    _day, _manifest, fixes, memory = day_in_a_logger(tmp_path, 3)
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    tracker = Depot(engine, Settings()).tracker
    sim = logger_sim(memory)
    used, halfway = sim.used, len(memory) // 2
    first = dock_unit(engine, tracker, sim.path, "logger-3", family="mtk", erase=True,
                      cancelled=lambda: sim.memory_bytes_sent > halfway)
    assert first.cancelled and not first.erased and not sim.erased and "nothing was erased" in first.note
    kept = _positions(engine)
    assert 0 < kept < len(fixes) and kept == first.ingest.result.stored
    second = dock_unit(engine, tracker, sim.path, "logger-3", erase=True)  # family remembered from the first dock
    assert second.resumed_from >= halfway - 0x2000 and second.resumed_from + second.bytes_read == used
    assert second.complete and second.erased and sim.erased
    assert _positions(engine) == len(fixes) and second.ingest.result.stored == len(fixes) - kept
    assert not DownloadCache(engine.url.render_as_string(hide_password=True), 1).path.exists()
    engine.dispose()


@pytest.mark.expected_errors
def test_unplugged_mid_download_keeps_the_sectors_read_and_erases_nothing(tmp_path, logger_sim) -> None:
    _day, _manifest, fixes, memory = day_in_a_logger(tmp_path, 4)
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    sim = logger_sim(memory, unplug_after=200_000)
    summary = dock_unit(engine, Depot(engine, Settings()).tracker, sim.path, "logger-4", family="mtk", erase=True)
    assert summary.problem and "unplugged" in summary.problem and sim.path in summary.problem
    assert not summary.erased and not summary.complete
    stored = _positions(engine)
    assert 0 < stored < len(fixes) and stored == summary.ingest.result.stored
    assert ("stopped early", f"{summary.problem}; what was read is stored, dock again to finish") in summary.report()
    engine.dispose()


def test_no_logger_answering_is_a_clear_error(tmp_path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
    silent = SimulatedNmeaLogger(b"", baud=4800).start()
    try:
        with pytest.raises(DockError, match="no MTK logger answered"):
            dock_unit(engine, Depot(engine, Settings()).tracker, silent.path, "logger-5", family="mtk")
    finally:
        silent.close()
    assert _positions(engine) == 0
    engine.dispose()


def test_an_nmea_logger_playing_back_stores_what_an_import_of_its_log_stores(tmp_path) -> None:
    log = TESTDATA / "nmea-receivers" / "bt451.log"
    sim = SimulatedNmeaLogger(log.read_bytes(), baud=4800, line_rate=False).start()
    try:
        engine = open_database(f"sqlite:///{tmp_path / 'd.db'}")
        summary = dock_unit(engine, Depot(engine, Settings()).tracker, sim.path, "nmea-logger", family="nmea")
    finally:
        sim.close()
    reference = open_database(f"sqlite:///{tmp_path / 'ref.db'}")
    expected = import_log(reference, Depot(reference, Settings()).tracker, log, "nmea-logger").result.stored
    assert expected > 0 and summary.ingest.result.stored == expected == _positions(engine)
    assert summary.family == "nmea" and summary.complete
    engine.dispose()
    reference.dispose()


def _unit(name: str, serial: str | None = None, vid_pid: str | None = None, identity: str | None = None):
    return UnitAssignment(name, "mtk", None, None, None, False, serial, vid_pid, None, identity)


def test_a_unit_is_recognised_by_serial_number_then_by_model_only_when_unambiguous() -> None:
    units = [_unit("a", "S1", "0E8D:3329"), _unit("b", None, "067B:2303", "MTK logger M-241, firmware X"),
             _unit("c", None, "10C4:EA60"), _unit("d", None, "10C4:EA60")]
    port = PortInfo("/dev/ttyUSB0", "", "0E8D:3329", "S1", None)
    assert recognise(units, port).device == "a"
    assert recognise(units, PortInfo("/dev/ttyUSB0", "", "0E8D:3329", "S2", None)) is None  # another unit
    assert recognise(units, PortInfo("/dev/ttyUSB0", "", "067B:2303", None, None)).device == "b"
    assert recognise(units, PortInfo("/dev/ttyUSB0", "", "10C4:EA60", None, None)) is None  # c or d?
    assert recognise(units, PortInfo("/dev/pts/3", "", None, None, None), "MTK logger M-241, firmware X").device == "b"


def test_cli_dock_registers_then_recognises_the_unit_by_asking_it(tmp_path, logger_sim, capsys) -> None:
    memory = DUMPS[0].read_bytes()
    sim = logger_sim(memory)
    db = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["--db", db, "dock", sim.path]) == 1
    assert "unknown unit" in capsys.readouterr().err
    assert main(["--db", db, "dock", sim.path, "--device", "logger-7", "--vehicle", "Van 7"]) == 0
    out = capsys.readouterr().out
    assert "fixes stored          803" in out and "logged without a fix  14" in out and "Van 7" in out
    assert main(["--db", db, "dock", sim.path, "--erase"]) == 0  # known now: it said who it is
    out = capsys.readouterr().out
    assert "logger-7" in out and "duplicates skipped    803" in out and "erased" in out and sim.erased


def test_import_log_of_an_mtk_dump_reconciles_like_a_dock(tmp_path) -> None:
    day, manifest, fixes, memory = day_in_a_logger(tmp_path, 5)
    dump = tmp_path / "day.bin"
    dump.write_bytes(memory)
    db = f"sqlite:///{tmp_path / 'd.db'}"
    assert main(["--db", db, "manifest", "import", str(manifest)]) == 0
    assert main(["--db", db, "import-log", str(dump), "--format", "mtk", "--device", "u5", "--vehicle",
                 day.vehicle]) == 0
    engine = open_database(db)
    assert [s.status for s in _stops(engine)] == ["delivered"] * 6
    engine.dispose()
