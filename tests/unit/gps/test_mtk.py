"""MTK logger dumps: decoded as GPSBabel does, on every field its GPX reports (time, position, elevation,
speed, course, fix, satellites, dilutions): the recorded dumps against the .gpx beside each, and images of
each layout GPSBabel reads (generic MTK, Holux M-241, Holux GR-245) against GPSBabel's decode of the same
image (stored in data/mtk beside this file, made by GPSBabel 1.8.0; checked again against the installed gpsbabel when
there is one) and against the values its documented layout gives."""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gpxpy
import pytest

from drivers.framing import sentence
from drivers.mtk import LoggerError, MtkLogger
from fleet_desk.gps.fix import Fix
from fleet_desk.gps.mtk import FIX_DGPS, FIX_NONE, FIX_PPS, FIX_SPS, MtkFormatError, MtkPoint, MtkStats, decode
from fleet_desk.sim.loggers import SimulatedMtkLogger
from tests.helpers.mtk_checks import decoded_both_ways
from tests.helpers.mtk_image import VARIANTS, memory_image, record_body, seal
from tests.helpers.paths import TESTDATA

DUMPS = sorted((TESTDATA / "mtk-loggers").glob("*.bin"))
IMAGES = Path(__file__).parent / "data" / "mtk"
GPSBABEL_FORMAT = {"mtk": "mtk-bin", "m241": "m241-bin", "gr245": "m241-bin"}
GPX_FIX = {FIX_NONE: "none", FIX_SPS: "3d", FIX_DGPS: "dgps", FIX_PPS: "pps"}  # anything else: no <fix>


def gpx_points(path: Path) -> list:
    with open(path, encoding="utf-8") as f:
        return [p for t in gpxpy.parse(f).tracks for s in t.segments for p in s.points]


def near(ours: float | None, theirs: float | None, decimals: int, float32: bool = False) -> bool:
    """Equal as GPSBabel prints it: rounded to ``decimals`` places (after keeping it in a float32 if it does)."""
    if ours is None or theirs is None:
        return ours is None and theirs is None
    return abs(ours - theirs) <= 0.5 * 10 ** -decimals + (1.2e-7 * abs(theirs) if float32 else 0) + 1e-12


def assert_as_gpsbabel(ours: list[MtkPoint], theirs: list) -> None:
    """Point for point, every field GPSBabel's GPX writes (ele %.3f; speed, course, DOPs float32 %.6f)."""
    assert len(ours) == len(theirs) > 100
    for i, (o, t) in enumerate(zip(ours, theirs, strict=True)):
        where = f"point {i}: {o} vs {t.latitude} {t.longitude} {t.elevation} {t.speed}"
        assert o.time_ms == round(t.time.timestamp() * 1000), where
        assert near(o.lat, t.latitude, 9) and near(o.lon, t.longitude, 9), where
        assert near(o.height_m, t.elevation, 3), where
        assert near(None if o.speed_kmh is None else o.speed_kmh / 3.6, t.speed, 6, float32=True), where
        assert near(o.heading_deg, t.course, 6, float32=True), where
        assert GPX_FIX.get(o.valid) == t.type_of_gpx_fix, where
        assert (o.sats_used or None) == t.satellites, where  # GPSBabel writes no <sat> for 0
        assert near(o.hdop, t.horizontal_dilution, 6, True) and near(o.vdop, t.vertical_dilution, 6, True), where
        assert near(o.pdop, t.position_dilution, 6, True), where


@pytest.mark.parametrize("dump", DUMPS, ids=lambda p: p.name)
def test_dump_decodes_to_gpsbabels_track_point_for_point(dump):
    stats = MtkStats()
    points = list(decode(dump.read_bytes(), stats=stats))
    assert_as_gpsbabel(points, gpx_points(dump.with_suffix(".gpx")))
    assert stats.bad_checksums == stats.implausible == stats.malformed == 0 and stats.records == len(points)


def courier_round() -> list[Fix]:
    """On foot at walking pace, then in the van; heights from below sea level to a mountain pass."""
    t0 = datetime(2025, 6, 2, 6, 0, 0, tzinfo=UTC)
    fixes = []
    for i in range(240):
        speed = 1.4 + 0.05 * (i % 5) if i < 120 else 8.0 + 19.0 * abs(math.sin(i / 17))
        alt = -25.0 + 11.3 * i if i % 40 else 0.0
        fixes.append(Fix(time=t0 + timedelta(seconds=5 * i), lat=45.75 + 0.0004 * i * (-1) ** (i // 60),
                         lon=4.83 - 0.0007 * i, speed_mps=0.0 if i % 30 == 0 else speed, alt_m=alt))
    return fixes


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_layout_decodes_as_gpsbabel_decodes_it(variant: str, tmp_path: Path) -> None:
    """The GR-245 case of issue 19: its records swap height and speed (speed in cm/s); read as an M-241 they
    said 1e-42 m and 80 m/s at walking pace."""
    image = memory_image(courier_round(), variant=variant)
    stats = MtkStats()
    points = list(decode(image, stats=stats))
    assert stats.records == len(points) == 240 and stats.implausible == stats.bad_checksums == 0
    # GPSBabel's documented layout: a Holux height keeps its float32's high three bytes; a GR-245 speed is
    # cm/s made km/h in a float32; generic MTK stores float32 height and km/h.
    for p, f in zip(points, courier_round(), strict=True):
        height = struct.unpack("<f", struct.pack("<f", f.alt_m))[0]
        kmh = struct.unpack("<f", struct.pack("<f", f.speed_mps * 3.6))[0]
        if variant != "mtk":
            height = struct.unpack("<f", b"\x00" + struct.pack("<f", f.alt_m)[1:])[0]
        if variant == "gr245":
            kmh = struct.unpack("<f", struct.pack("<f", round(f.speed_mps * 100) * 3.6 / 100))[0]
        assert (p.time_ms, p.height_m, p.speed_kmh) == (int(f.time.timestamp()) * 1000, height, kmh)
        assert abs(p.height_m - f.alt_m) < 0.1 and abs(p.speed_kmh / 3.6 - f.speed_mps) < 0.01
    assert_as_gpsbabel(points, gpx_points(IMAGES / f"{variant}.gpx"))
    if shutil.which("gpsbabel"):  # the installed GPSBabel decodes the same image the same way
        (tmp_path / "image.bin").write_bytes(image)
        subprocess.run(["gpsbabel", "-t", "-i", GPSBABEL_FORMAT[variant], "-f", str(tmp_path / "image.bin"),
                        "-o", "gpx", "-F", str(tmp_path / "out.gpx")], check=True, capture_output=True)
        assert_as_gpsbabel(points, gpx_points(tmp_path / "out.gpx"))


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


def test_import_log_format_mtk_stores_the_track_once_through_the_store(tmp_path, capsys):
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
def test_records_decoded_in_runs_equal_records_decoded_one_by_one(dump) -> None:
    data = dump.read_bytes()
    damaged = bytearray(data)
    damaged[0x400] ^= 0x55  # one record with a bad checksum inside a run
    decoded_both_ways(data)
    assert decoded_both_ways(bytes(damaged))[1].bad_checksums == 1


def impossible(good: list[Fix], variant: str) -> list[Fix]:
    """Fixes no unit can have had, as issue 19 met them; each sealed with a right checksum."""
    cases = [{"lat": -91.0}, {"lon": 181.0}, {"speed_mps": 300.0}, {"speed_mps": -50 / 3.6}, {"alt_m": 1e6},
             {"alt_m": -9000.0}, {"time": datetime(2055, 1, 1, tzinfo=UTC)}]
    if variant == "mtk":  # float fields: not-a-number and infinities too
        cases += [{"speed_mps": 1e9}, {"speed_mps": math.inf}, {"alt_m": math.nan}, {"lat": math.nan},
                  {"lon": -math.inf}]
    return [replace(good[i % len(good)], **case) for i, case in enumerate(cases)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_impossible_values_are_counted_and_never_become_points(variant: str) -> None:
    good = courier_round()
    bad = impossible(good, variant)
    records = [seal(record_body(f, variant), variant) for f in good]
    for i, f in enumerate(bad):  # among the good ones, inside runs
        records.insert(7 * i + 3, seal(record_body(f, variant), variant))
    image = memory_image([], variant=variant) + b"".join(records)
    points, stats = decoded_both_ways(image)
    assert stats.implausible == len(bad) and stats.records == len(good) + len(bad) and stats.bad_checksums == 0
    assert [p.time_ms for p in points] == [int(f.time.timestamp()) * 1000 for f in good]


def test_an_import_says_how_many_records_were_implausible(tmp_path: Path) -> None:
    from fleet_desk.depot import Depot
    from fleet_desk.ingest.pipeline import import_mtk_dump
    from fleet_desk.settings import Settings
    from fleet_desk.store import open_database

    good = courier_round()
    bad = impossible(good, "gr245")
    dump = tmp_path / "gr245.bin"
    dump.write_bytes(memory_image(good + bad, variant="gr245"))
    engine = open_database(f"sqlite:///{tmp_path / 'depot.db'}")
    said = dict(import_mtk_dump(engine, Depot(engine, Settings()).tracker, dump, "logger-1").report())
    engine.dispose()
    assert said["fixes stored"] == str(len(good)) and said["implausible"].startswith(f"{len(bad)}  (")


def test_a_fault_in_the_decoder_skips_the_record_and_goes_on(monkeypatch, caplog) -> None:
    """The one guard: whatever goes wrong inside a record's decoding is counted, said once, and the log goes on."""
    from fleet_desk.gps import mtk

    def fault(*args: object) -> None:
        raise ValueError("a fault of the decoder's own")

    image = memory_image(courier_round())
    monkeypatch.setattr(mtk, "_columns", fault)
    monkeypatch.setattr(mtk, "_read", fault)
    stats = MtkStats()
    assert list(decode(image, stats=stats)) == [] and stats.malformed == 240
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and r.name == "fleet_desk.gps.mtk"]
    assert said == ["MTK log at byte 0x200: record not understood (ValueError(\"a fault of the decoder's own\")); "
                    "skipped, decoding goes on"]
    monkeypatch.undo()
    assert len(list(decode(image))) == 240


class _HostileLogger(SimulatedMtkLogger):
    """A logger on a pty whose answers have right checksums but are not what PMTK182 says (``fault``)."""

    def __init__(self, fault: str):
        super().__init__(memory_image(courier_round()), line_rate=False, live_nmea=False)
        self.fault = fault

    def _answer(self, command: str) -> None:
        hex_of = bytes(self.memory[:0x800]).hex().upper()
        if command == "PMTK182,2,8" and self.fault == "used":
            self.send(sentence("PMTK182,3,8,ZZ1000") + sentence("PMTK001,182,2,3"))
        elif command.startswith("PMTK182,7,") and self.fault != "used":
            lines = {"no data": ["PMTK182,8,00000000", "PMTK001,182,7,3"],
                     "overlap": [f"PMTK182,8,00000000,{hex_of}", f"PMTK182,8,00000400,{hex_of}", "PMTK001,182,7,3"],
                     "ack": [f"PMTK182,8,00000000,{hex_of}", f"PMTK182,8,00000800,{hex_of}", "PMTK001,182,7,x"]}
            self.send(b"".join(sentence(line) for line in lines[self.fault]))
        else:
            super()._answer(command)


@pytest.mark.parametrize(("fault", "said"), [("used", "not a number"), ("no data", "damaged memory data"),
                                             ("overlap", "do not add up"), ("ack", "flag -1")])
def test_a_logger_answering_nonsense_is_a_logger_error_not_a_crash(fault: str, said: str) -> None:
    """Checksum-valid but ill-formed answers: the driver's `LoggerError` (which the dock reports and retries),
    never a ValueError out of the download, nor wrong bytes taken as memory."""
    sim = _HostileLogger(fault).start()
    try:
        with MtkLogger(sim.path, baud=115200) as logger:
            logger.open()
            with pytest.raises(LoggerError, match=said):
                if fault == "used":
                    logger.used_bytes()
                else:
                    list(logger.read(0, 0x1000))
    finally:
        sim.close()
