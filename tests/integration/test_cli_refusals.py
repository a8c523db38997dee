"""What a fresh-eyes trial of the command line still met as tracebacks: each is now one line.

The command line runs in its own process, as a user runs it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers.mounts import read_only
from tests.helpers.paths import NMEA_LOGS, ROOT

TELIT = next(p for p in NMEA_LOGS if p.name == "telit-he910.log")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fleet_desk.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def _one_line(err: str) -> str:
    """The one line said, besides the notice that a command made the database it was given."""
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if not line.startswith("fleet-desk: created new database at")]
    assert len(lines) == 1, err
    return lines[0]


def test_an_export_into_a_read_only_folder_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'depot.db'}"
    assert _cli("--db", url, "import-log", str(TELIT), "--device", "telit").returncode == 0
    folder = tmp_path / "share"
    folder.mkdir()
    with read_only(folder):
        done = _cli("--db", url, "export", "positions", "-o", str(folder / "out.csv"))
        line = _one_line(done.stderr)
        assert done.returncode == 1
        assert line.startswith(f"fleet-desk: {folder / 'out.csv'}: cannot be written there")
        assert list(folder.iterdir()) == []


def test_a_database_url_of_another_kind_is_one_line(tmp_path: Path) -> None:
    done = _cli("--db", "mysql://someone@127.0.0.1/depot", "lookup", "ORD-1")
    line = _one_line(done.stderr)
    assert done.returncode == 1
    assert "SQLite (sqlite:///FILE) or PostgreSQL" in line and "mysql" in line


def test_a_cut_short_gz_log_is_one_line_and_keeps_what_was_read_before(tmp_path: Path) -> None:
    import gzip
    import sqlite3

    whole = gzip.compress(TELIT.read_bytes())
    cut = tmp_path / "cut.nmea.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    url = f"sqlite:///{tmp_path / 'depot.db'}"
    done = _cli("--db", url, "import-log", str(cut), "--device", "telit")
    line = _one_line(done.stderr.split("\r")[-1])
    assert done.returncode == 1
    assert line.startswith(f"fleet-desk: {cut}: the compressed file is cut short or damaged")
    with sqlite3.connect(tmp_path / "depot.db") as conn:
        assert conn.execute("select count(*) from positions").fetchone()[0] > 50  # of the log's 187


def test_a_setting_tracking_cannot_use_is_refused_and_not_saved(tmp_path: Path) -> None:
    """`config set` checks what the Settings dialog checks: an unknown time zone used to be saved, and then
    every command that opened the depot ended in a traceback."""
    import os

    env = {**os.environ, "FLEET_DESK_CONFIG_DIR": str(tmp_path / "config")}
    run = [sys.executable, "-m", "fleet_desk.cli", "config", "set", "depot_timezone", "Mars/Base"]
    done = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    line = _one_line(done.stderr)
    assert done.returncode == 2 and "depot timezone" in line and line.endswith("not saved")
    assert not (tmp_path / "config" / "settings.json").exists()
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "settings.json").write_text('{"depot_timezone": "Mars/Base"}')  # edited by hand
    lookup = [sys.executable, "-m", "fleet_desk.cli", "--db", f"sqlite:///{tmp_path / 'd.db'}", "lookup", "X"]
    done = subprocess.run(lookup, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and "Mars/Base" in _one_line(done.stderr)
