"""What a new user's first day at the command line tripped over: every one a line naming the file or the
database and a non-zero exit, never a traceback or a silent success."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from fleet_desk.cli import main
from tests.helpers.paths import NMEA_LOGS, ROOT

TELIT = next(p for p in NMEA_LOGS if p.name == "telit-he910.log")
BIG = max(NMEA_LOGS, key=lambda p: p.stat().st_size)
CapSys = pytest.CaptureFixture[str]
HEADER = "route_id,vehicle,stop_sequence,order_id,tracking_number,customer_name,address,lat,lon,window_start," \
         "window_end\n"


def _run(capsys: CapSys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'depot.db'}"


def test_a_damaged_gz_log_is_one_line_naming_it(capsys: CapSys, tmp_path: Path) -> None:
    packed = gzip.compress(BIG.read_bytes())
    cut, garbled = tmp_path / "cut.log.gz", tmp_path / "garbled.log.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    middle = len(packed) // 2
    garbled.write_bytes(packed[:middle] + b"x" * 200 + packed[middle + 200:])  # deflate may read on: a CRC error
    for path in (cut, garbled):
        code, _, err = _run(capsys, "--db", _db(tmp_path), "import-log", str(path), "--device", "u1")
        assert code == 1
        lines = [line for line in err.strip().splitlines() if "created new database" not in line]
        assert len(lines) == 1 and lines[0].startswith(f"fleet-desk: {path}: the compressed file is cut short or "
                                                       "damaged"), err


def test_a_folder_or_a_missing_file_given_as_a_log_says_which(capsys: CapSys, tmp_path: Path) -> None:
    for fmt in ("nmea", "mtk"):
        code, _, err = _run(capsys, "--db", _db(tmp_path), "import-log", str(tmp_path), "--device", "u1",
                            "--format", fmt)
        assert code == 1 and f"{tmp_path}: is a folder, not a log file" in err, err
        code, _, err = _run(capsys, "--db", _db(tmp_path), "import-log", str(tmp_path / "nope.bin"), "--device",
                            "u1", "--format", fmt)
        assert code == 1 and f"{tmp_path / 'nope.bin'}: no such file" in err and "Errno" not in err, err


def test_mtk_errors_name_the_file(capsys: CapSys, tmp_path: Path) -> None:
    short = tmp_path / "short.bin"
    short.write_bytes(b"not a dump")
    code, _, err = _run(capsys, "--db", _db(tmp_path), "import-log", str(short), str(TELIT), "--device", "u1",
                        "--format", "mtk")
    assert code == 1
    assert f"fleet-desk: {short}: " in err and f"fleet-desk: {TELIT}: " in err, err
    assert "MTK" in err and "Errno" not in err


def test_export_to_a_folder_that_does_not_exist_and_for_an_unknown_unit(capsys: CapSys, tmp_path: Path) -> None:
    db = _db(tmp_path)
    assert _run(capsys, "--db", db, "import-log", str(TELIT), "--device", "telit")[0] == 0
    code, _, err = _run(capsys, "--db", db, "export", "positions", "--format", "gpx", "-o",
                        str(tmp_path / "nowhere" / "x.gpx"))
    assert code == 1 and "x.gpx" in err and "nothing was written" in err and len(err.strip().splitlines()) == 1
    output = tmp_path / "van.csv"
    code, out, err = _run(capsys, "--db", db, "export", "positions", "--device", "telitt", "-o", str(output))
    assert code == 1 and out == ""
    assert "no unit named 'telitt'" in err and "units: telit" in err, err
    assert not output.exists()
    code, out, err = _run(capsys, "--db", db, "export", "positions", "--device", "telit")
    assert code == 0 and len(out.splitlines()) == 188


def test_a_manifest_with_no_valid_row_imports_nothing_and_fails(capsys: CapSys, tmp_path: Path) -> None:
    manifest = tmp_path / "bad.csv"
    manifest.write_text(HEADER + "R1,Van 1,1,O-1,T-1,A,addr,95,4.8,09:00,11:00\n"
                                 "R1,Van 1,x,O-2,T-2,B,addr,45,4.8,09:00,11:00\n", encoding="utf-8")
    code, out, err = _run(capsys, "--db", _db(tmp_path), "manifest", "import", str(manifest), "--date",
                          "2026-12-01", "--skip-invalid")
    assert code == 1 and out == ""
    assert f"{manifest}: no valid row to import (2 row(s) with problems, listed above); nothing was imported" in err


def test_a_mistyped_database_folder_is_refused_and_a_new_file_is_said(capsys: CapSys, tmp_path: Path) -> None:
    typo = tmp_path / "depto" / "depot.db"
    code, out, err = _run(capsys, "--db", f"sqlite:///{typo}", "export", "stops")
    assert code == 1 and out == ""
    assert f"there is no folder {typo.parent}; check the database path given (--db or FLEET_DESK_DB)" in err
    assert not typo.parent.exists()
    fresh = tmp_path / "fresh.db"
    code, _, err = _run(capsys, "--db", f"sqlite:///{fresh}", "lookup", "anyone")
    assert f"created new database at {fresh}" in err and fresh.is_file()
    code, _, err = _run(capsys, "--db", f"sqlite:///{fresh}", "lookup", "anyone")
    assert "created new database" not in err


def test_config_show_lists_every_setting_and_never_a_secret(capsys: CapSys, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import fields

    from fleet_desk.settings import Settings

    Settings(endpoint_url="https://hooks.example.com/in?api_key=k3y-in-the-url", phone_region="FR").save()
    monkeypatch.setenv("FLEET_DESK_SIGNING_SECRET", "s3cret-value")
    code, out, err = _run(capsys, "config", "show")
    assert code == 0, err
    assert all(f.name in out for f in fields(Settings))
    assert "s3cret-value" not in out and "k3y-in-the-url" not in out
    assert "https://hooks.example.com/in?api_key=" in out
    assert "signing_secret" in out and "set (from FLEET_DESK_SIGNING_SECRET)" in out
    assert "phone_region             FR" in out


def test_no_traceback_reaches_the_terminal(tmp_path: Path) -> None:
    """The same refusals as a user's shell sees them: one line each, no traceback."""
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(gzip.compress(BIG.read_bytes())[:2000])
    runs = [["import-log", str(cut), "--device", "u1"], ["import-log", str(tmp_path), "--device", "u1"],
            ["export", "positions", "-o", "/nonexistent/dir/x.gpx", "--format", "gpx"]]
    for args in runs:
        done = subprocess.run([sys.executable, "-m", "fleet_desk.cli", "--db", _db(tmp_path), *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        said = [line for line in done.stderr.splitlines() if "created new database" not in line]
        assert len(said) == 1, done.stderr


def test_lookup_says_whose_clock_its_times_are_on_when_the_depot_zone_is_not_set(capsys: CapSys,
                                                                                  tmp_path: Path) -> None:
    """A trial on the demo's database read ETAs an hour off from the app: the CLI used this computer's zone
    and did not say so."""
    from fleet_desk.settings import Settings

    manifest = tmp_path / "m.csv"
    manifest.write_text("route_id,vehicle,stop_sequence,order_id,tracking_number,customer_name,address,lat,lon,"
                        "window_start,window_end\nR1,Van 1,1,ORD-1,T-1,Bruno Novak,1 rue Créqui,45.75,4.85,"
                        "2026-11-20T09:00:00+00:00,2026-11-20T10:00:00+00:00\n", encoding="utf-8")
    assert _run(capsys, "--db", _db(tmp_path), "manifest", "import", str(manifest))[0] == 0
    code, out, err = _run(capsys, "--db", _db(tmp_path), "lookup", "Novak")
    assert code == 0 and "Bruno Novak" in out
    assert "note: times are this computer's (" in err and "config set depot_timezone" in err
    Settings(depot_timezone="Europe/Paris").save()
    code, out, err = _run(capsys, "--db", _db(tmp_path), "lookup", "Novak")
    assert code == 0 and "10:00 to 11:00" in out  # the 09:00-10:00 UTC window, in Paris
    assert "note: times" not in err
