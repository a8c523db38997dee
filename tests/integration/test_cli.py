"""The fleet-desk command line, run as a user runs it."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import gpxpy
import pytest

from fleet_desk.cli import main
from fleet_desk.store.export import CSV_HEADER
from tests.helpers.paths import NMEA_LOGS, ROOT

TELIT = next(p for p in NMEA_LOGS if p.name == "telit-he910.log")
CapSys = pytest.CaptureFixture[str]


def _run(capsys: CapSys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_log_twice_then_export_csv(capsys: CapSys, db_url: str) -> None:
    code, out, _ = _run(capsys, "--db", db_url, "import-log", str(TELIT), "--device", "telit", "--vehicle", "Van 7")
    assert code == 0
    assert "fixes stored        187" in out and "duplicates skipped  0" in out
    assert "2019-03-12T10:51:53.408Z .. 2019-03-12T10:54:59.408Z" in out
    code, out, _ = _run(capsys, "--db", db_url, "import-log", str(TELIT), "--device", "telit")
    assert "fixes stored        0" in out and "duplicates skipped  187" in out
    code, out, _ = _run(capsys, "--db", db_url, "export", "positions", "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == CSV_HEADER
    assert len(rows) == 188
    assert rows[1][0] == "telit" and rows[1][1] == "2019-03-12T10:51:53.408Z"
    assert [r[1] for r in rows[1:]] == sorted(r[1] for r in rows[1:])


def test_gzip_logs_and_time_filters(capsys: CapSys, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    gz = tmp_path / "telit.log.gz"
    gz.write_bytes(gzip.compress(TELIT.read_bytes()))
    assert _run(capsys, "--db", db, "import-log", str(gz), "--device", "telit")[0] == 0
    code, out, _ = _run(capsys, "--db", db, "export", "positions", "--device", "telit",
                        "--since", "2019-03-12T10:52:00Z", "--until", "2019-03-12T10:53:00Z")
    times = [r["time_utc"] for r in csv.DictReader(io.StringIO(out))]
    assert times and min(times) >= "2019-03-12T10:52:00" and max(times) <= "2019-03-12T10:53:00.000Z"


def test_missing_and_non_nmea_files_fail_clearly_and_keep_what_was_imported(capsys: CapSys, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(bytes(range(256)) * 100)
    code, out, err = _run(capsys, "--db", db, "import-log", str(TELIT), str(tmp_path / "nope.log"), str(junk),
                          "--device", "telit")
    assert code != 0
    assert "nope.log: no such file" in err
    assert "photo.jpg: no NMEA sentences found" in err
    code, out, _ = _run(capsys, "--db", db, "export", "positions")
    assert len(out.strip().splitlines()) == 188


def test_gpx_reads_back_with_gpxpy_and_geojson_is_valid(capsys: CapSys, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    _run(capsys, "--db", db, "import-log", str(TELIT), "--device", "telit")
    gpx_file = tmp_path / "out.gpx"
    assert _run(capsys, "--db", db, "export", "positions", "--format", "gpx", "-o", str(gpx_file))[0] == 0
    gpx = gpxpy.parse(gpx_file.read_text())
    points = gpx.tracks[0].segments[0].points
    assert gpx.version == "1.1" and len(points) == 187
    assert abs(points[0].latitude - 50.840203333) < 1e-7 and points[0].time.year == 2019
    code, out, _ = _run(capsys, "--db", db, "export", "positions", "--format", "geojson")
    doc = json.loads(out)
    assert len(doc["features"]) == 187 and doc["features"][0]["geometry"]["type"] == "Point"


def test_date_option_keeps_undated_gga_epochs(capsys: CapSys, tmp_path: Path) -> None:
    log = tmp_path / "gga.log"
    from drivers.framing import sentence

    log.write_bytes(b"".join(sentence(f"GPGGA,1200{s:02d},4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
                             for s in range(5)))
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    code, out, _ = _run(capsys, "--db", db, "import-log", str(log), "--device", "u")
    assert "fixes stored        0" in out and "undated             5" in out
    code, out, _ = _run(capsys, "--db", db, "import-log", str(log), "--device", "u", "--date", "2026-11-20")
    assert "fixes stored        5" in out


def test_db_upgrade_and_entry_point(tmp_path: Path) -> None:
    """An older database (schema 0001, with a position in it) is upgraded to head and keeps its data."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from fleet_desk.store.database import alembic_config, head_revision

    db = f"sqlite:///{tmp_path / 'up.db'}"
    old = create_engine(db)
    command.upgrade(alembic_config(old), "0001")
    with old.begin() as conn:
        conn.execute(text("INSERT INTO devices (id, name, family) VALUES (1, 'u', 'nmea')"))
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "--db", db, "db", "upgrade"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert f"schema 0001 -> {head_revision(old)}" in done.stdout
    with old.connect() as conn:
        assert conn.execute(text("SELECT name, live FROM devices")).all() == [("u", 0)]
    old.dispose()


def test_simulate_writes_to_a_given_port(tmp_path: Path) -> None:
    """`simulate --port` drives a real pty that a reader decodes."""
    import os

    from fleet_desk.gps import NmeaDecoder

    master, slave = os.openpty()
    path = os.ttyname(slave)
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "simulate", "--vehicles", "1", "--port", path,
                             "--duration", "3"])
    data = b""
    os.set_blocking(master, False)
    import time

    deadline = time.monotonic() + 10
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            data += os.read(master, 65536)
        except BlockingIOError:
            time.sleep(0.05)
    proc.wait(5)
    os.close(master)
    os.close(slave)
    dec = NmeaDecoder()
    fixes = dec.feed(data) + dec.finish()
    assert proc.returncode == 0 and len(fixes) >= 2


def test_app_without_a_display_says_what_to_do_instead_of_aborting(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "--db", f"sqlite:///{tmp_path / 'd.db'}"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "no display" in done.stderr and "--screenshot" in done.stderr and "Traceback" not in done.stderr


def test_the_headless_demo_runs_the_apps_demo_day(capsys: CapSys) -> None:
    """`--demo --headless` is the app's demo fleet without a window: the vans are on their rounds already (the
    morning imported), not starting from the depot."""
    from fleet_desk.sim.vans import DEPOT, distance_m

    assert main(["--demo", "--headless", "--vehicles", "2", "--duration", "3"]) == 0
    first: dict[str, tuple[float, float]] = {}
    for line in capsys.readouterr().out.splitlines():
        _time, van, number, lat, lon, *_rest = line.split()
        first.setdefault(f"{van} {number}", (float(lat), float(lon)))
    assert set(first) == {"Van 1", "Van 2"}
    assert all(distance_m(where, DEPOT) > 500 for where in first.values())


def test_ctrl_c_ends_the_headless_demo_cleanly(tmp_path: Path) -> None:
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "fleet_desk.cli", "--demo", "--headless", "--vehicles", "1"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        assert "Van 1" in proc.stdout.readline()  # a fix printed: the demo is running
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_the_database_may_be_named_after_the_command(tmp_path: Path, capsys: CapSys) -> None:
    """What a fresh-eyes trial typed: `fleet-desk db upgrade --db sqlite:///x.db` (was: unrecognized arguments)."""
    url = f"sqlite:///{tmp_path / 'after.db'}"
    code, out, err = _run(capsys, "db", "upgrade", "--db", url)
    assert code == 0, err
    assert f"{url}: schema empty -> " in out and (tmp_path / "after.db").is_file()
    before = tmp_path / "before.db"
    code, out, _ = _run(capsys, "--db", f"sqlite:///{before}", "import-log", str(TELIT), "--device", "telit",
                        "--db", url)
    assert code == 0 and "fixes stored        187" in out
    assert not before.exists()  # the one nearer the command wins
    code, out, _ = _run(capsys, "--db", url, "export", "positions")  # before the command, as always
    assert len(out.splitlines()) == 188
