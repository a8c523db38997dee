"""The store under faults: a database killed while being created, a full disk, read-only and damaged files.

Real processes are killed with SIGKILL, real file systems fill up (a small
tmpfs when this runs as root and may mount, else a file-size limit that
really stops the writes) and real read-only mounts refuse writes even to root.
Every message a user sees is one line naming the database and what to do.
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select

from fleet_desk.cli import main
from fleet_desk.store import DatabaseError, open_database
from fleet_desk.store.database import HEAD, alembic_config, create_db_engine, current_revision, is_read_only
from fleet_desk.store.models import Base, Position, Stop
from tests.helpers.mounts import limit_file_size, mount, read_only, small_disk
from tests.helpers.paths import NMEA_LOGS, ROOT

TELIT = next(p for p in NMEA_LOGS if p.name == "telit-he910.log")  # 187 fixes
ALL_TABLES = set(Base.metadata.tables) | {"alembic_version"}
MANIFEST = ("route_id,vehicle,stop_sequence,order_id,tracking_number,customer_name,address,lat,lon,window_start,"
            "window_end\n"
            "R1,Van 7,1,O-1,TRK1,Anna Keller,1 rue A,45.75,4.85,2026-11-20T09:00:00Z,2026-11-20T11:00:00Z\n")


def _cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """The command line as a user runs it, in its own process."""
    return subprocess.run([sys.executable, "-m", "fleet_desk.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, **kwargs)


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    """What the user was told: exactly one line, no traceback."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def _assert_whole(url: str) -> None:
    """The database opens, at the newest schema, with every table."""
    engine = open_database(url)
    try:
        assert current_revision(engine) == HEAD
        assert ALL_TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _count(url: str, what=Position) -> int:
    engine = open_database(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(what))
    finally:
        engine.dispose()


# -- killed while being created ------------------------------------------------------------------------------

def test_creation_killed_at_random_times_opens_again(tmp_path):
    """`db upgrade` on a new file SIGKILLed at random points, 24 times: half across its whole run, half across the
    part after the file appears (where the tables are made); each database opens again whole."""
    path = tmp_path / "whole.db"
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "fleet_desk.cli", "--db", f"sqlite:///{path}", "db", "upgrade"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not path.exists() and proc.poll() is None:
        time.sleep(0.001)
    file_s = time.monotonic() - start
    assert proc.wait() == 0
    run_s = time.monotonic() - start
    seed = int.from_bytes(os.urandom(4), "little")
    rng = random.Random(seed)
    for trial in range(24):
        url = f"sqlite:///{tmp_path / f'kill-{trial}.db'}"
        proc = subprocess.Popen([sys.executable, "-m", "fleet_desk.cli", "--db", url, "db", "upgrade"], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        at = rng.uniform(0.0 if trial % 2 else file_s, run_s)
        time.sleep(at)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        try:
            _assert_whole(url)
        except Exception as exc:
            raise AssertionError(f"seed {seed}, trial {trial}: killed at {at:.3f} s of {run_s:.3f} s: {exc}") from exc


# Forked from one process that imported everything once, so every statement of the run can be a kill point.
_KILL_AFTER_STATEMENT = """
import os, signal, sys
from sqlalchemy import Engine, event
from fleet_desk.cli import main
import alembic.command, fleet_desk.store.models  # imported once, before the forks
folder, kills = sys.argv[1], [int(k) for k in sys.argv[2:]]
for k in kills:
    pid = os.fork()
    if pid == 0:
        seen = [0]

        @event.listens_for(Engine, "after_cursor_execute")
        def count(*_args):
            seen[0] += 1
            if seen[0] == k:
                os.kill(os.getpid(), signal.SIGKILL)

        code = main(["--db", f"sqlite:///{folder}/kill-{k}.db", "db", "upgrade"])
        print("statements", seen[0], "exit", code, flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("killed", k, os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, flush=True)
"""


def test_creation_killed_after_each_statement_opens_again(tmp_path):
    """A SIGKILL right after each statement the creation runs, one database per statement: each opens again."""
    counted = subprocess.run([sys.executable, "-c", _KILL_AFTER_STATEMENT, str(tmp_path), "0"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert "exit 0" in counted.stdout, counted.stderr
    statements = int(counted.stdout.split("statements ")[1].split()[0])
    assert statements > 30  # the tables and indexes of every migration, each a statement
    kills = list(range(1, statements + 1))
    run = subprocess.run([sys.executable, "-c", _KILL_AFTER_STATEMENT, str(tmp_path), *map(str, kills)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.stdout.count(" True") == len(kills), run.stdout + run.stderr
    left_tables = []
    for k in kills:
        path = tmp_path / f"kill-{k}.db"
        with contextlib.closing(sqlite3.connect(path)) as conn:
            if conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]:
                left_tables.append(k)
        _assert_whole(f"sqlite:///{path}")
    # Every kill point comes before the one commit: all or nothing means nothing (not repaired on open either).
    assert left_tables == []


def _half_made(path: Path, with_row: bool) -> str:
    """What an older version left when killed while creating: some of the first tables, no revision."""
    url = f"sqlite:///{path}"
    engine = create_db_engine(url)
    tables = Base.metadata.tables
    for name in ("vehicles", "devices", "drivers"):
        tables[name].create(engine)
    if with_row:
        with engine.begin() as conn:
            conn.execute(tables["vehicles"].insert().values(id=1, name="Van 7"))
    engine.dispose()
    return url


def test_half_made_database_from_an_older_version_is_rebuilt(tmp_path, capsys, caplog):
    url = _half_made(tmp_path / "half.db", with_row=False)
    code, out, err = _run(capsys, "--db", url, "db", "upgrade")
    assert code == 0, err
    assert f"schema empty -> {HEAD}" in out
    assert "creation that did not finish" in caplog.text
    _assert_whole(url)


def test_half_made_database_holding_rows_is_refused_and_kept_and_the_command_said_makes_a_new_one(tmp_path,
                                                                                                   capsys):
    path = tmp_path / "half.db"
    url = _half_made(path, with_row=True)
    before = path.read_bytes()
    fix = f"`fleet-desk --db {url} db upgrade`"
    for args in (("db", "upgrade"), ("lookup", "TRK1"), ("export", "positions")):
        code, _, err = _run(capsys, "--db", url, *args)
        line = _one_line(err)
        assert code == 1
        assert str(path) in line and "no record of its schema version" in line and "vehicles" in line
        assert "restore it from a backup, or move it aside (rename half.db" in line and fix in line, line
    assert path.read_bytes() == before
    path.rename(tmp_path / "half.db.aside")  # doing what it says
    code, out, err = _run(capsys, *fix.strip("`").split()[1:])
    assert code == 0, err
    assert f"schema empty -> {HEAD}" in out
    _assert_whole(url)
    assert (tmp_path / "half.db.aside").read_bytes() == before


# -- a full disk ------------------------------------------------------------------------------------------------

def _day_log(path: Path, seconds: int) -> Path:
    """A van's NMEA for ``seconds`` seconds: enough positions to fill a small disk."""
    from fleet_desk.sim.vans import SimulatedUnit

    unit, start = SimulatedUnit(0, seed=3), datetime(2026, 11, 20, 6, tzinfo=UTC)
    path.write_bytes(b"".join(unit.sentences(start + timedelta(seconds=s), float(s)) for s in range(seconds)))
    return path


@pytest.mark.parametrize("disk", ["tmpfs", "file size limit"])
def test_disk_full_during_import_is_one_line_and_loses_nothing(tmp_path, disk):
    """The disk fills in the middle of an import: one line naming the database and what to do, the batches
    stored before stay stored, and once there is room the same import goes on, storing each fix once."""
    log = _day_log(tmp_path / "day.log", 15_000)
    with small_disk(tmp_path / "disk", "1500k") as mounted:
        folder = mounted or tmp_path / "disk"
        path = folder / "depot.db"
        url = f"sqlite:///{path}"
        assert _cli("--db", url, "import-log", str(TELIT), "--device", "telit").returncode == 0
        if disk == "tmpfs" and mounted is not None:
            full = _cli("--db", url, "import-log", str(log), "--device", "van")
        else:  # the stand-in: this process may write no more than the database's size and 1 MB more
            full = _cli("--db", url, "import-log", str(log), "--device", "van",
                        preexec_fn=limit_file_size(path.stat().st_size + 1_000_000))
        line = _one_line(full.stderr)
        assert full.returncode == 1
        assert line.startswith(f"fleet-desk: database {path}: ")
        assert ("the disk is full; free space on it" in line if disk == "tmpfs" and mounted
                else "input/output error" in line or "the disk is full" in line), line
        assert "positions stored before stay stored" in line
        stored = _count(url)
        assert 187 + 5000 <= stored < 187 + 15_000  # the telit log and the van's batches before the disk filled
        if mounted is not None:
            assert mount("-o", "remount,size=20m", folder)
        again = _cli("--db", url, "import-log", str(log), "--device", "van")
        assert again.returncode == 0, again.stderr
        assert f"fixes stored        {187 + 15_000 - stored}" in again.stdout
        assert _count(url) == 187 + 15_000
        _assert_whole(url)


def test_new_database_on_a_full_disk_is_not_left_half_made(tmp_path):
    """Creation stopped by a full disk leaves nothing that stops the next one, once there is room."""
    with small_disk(tmp_path / "disk", "400k") as mounted:
        folder = mounted or tmp_path / "disk"
        url = f"sqlite:///{folder / 'depot.db'}"
        if mounted is not None:
            (folder / "filler").write_bytes(b"\0" * (os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
                                                      - 60_000))
            full = _cli("--db", url, "db", "upgrade")
        else:
            full = _cli("--db", url, "db", "upgrade", preexec_fn=limit_file_size(60_000))
        line = _one_line(full.stderr)
        assert full.returncode == 1 and str(folder / "depot.db") in line
        if mounted is not None:
            (folder / "filler").unlink()
        again = _cli("--db", url, "db", "upgrade")
        assert again.returncode == 0, again.stderr
        _assert_whole(url)


@pytest.mark.parametrize("disk", ["tmpfs", "file size limit"])
def test_export_to_a_full_disk_is_one_line_and_keeps_the_earlier_export(tmp_path, disk):
    url = f"sqlite:///{tmp_path / 'depot.db'}"
    assert _cli("--db", url, "import-log", str(TELIT), "--device", "telit").returncode == 0
    with small_disk(tmp_path / "disk", "64k") as mounted:
        folder = mounted or tmp_path / "disk"
        export = folder / "positions.gpx"
        export.write_text("an earlier export\n")
        if disk == "tmpfs" and mounted is not None:
            (folder / "filler").write_bytes(b"\0" * (os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize))
            full = _cli("--db", url, "export", "positions", "--format", "gpx", "-o", str(export))
        else:  # room for the database's 32 KiB WAL index, not for the 36 KB GPX of its 187 positions
            full = _cli("--db", url, "export", "positions", "--format", "gpx", "-o", str(export),
                        preexec_fn=limit_file_size(34_000))
        line = _one_line(full.stderr)
        assert full.returncode == 1
        assert line.startswith(f"fleet-desk: {export}: ") and line.endswith("; nothing was written to it")
        if disk == "tmpfs" and mounted is not None:
            assert "the disk is full; free space on it, then export again" in line
        assert export.read_text() == "an earlier export\n"
        assert sorted(p.name for p in folder.iterdir()) == sorted(["positions.gpx"] + (["filler"] if
                                                                  disk == "tmpfs" and mounted else []))


# -- read-only files and folders ----------------------------------------------------------------------------

def _depot(url: str, capsys, tmp_path: Path) -> None:
    """A depot with positions and one order, closed cleanly (no WAL files left beside it)."""
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(MANIFEST, encoding="utf-8")
    assert _run(capsys, "--db", url, "import-log", str(TELIT), "--device", "telit")[0] == 0
    assert _run(capsys, "--db", url, "manifest", "import", str(manifest))[0] == 0
    gc.collect()  # the command line's engines close: the last one checkpoints and removes the WAL
    assert not Path(url.removeprefix("sqlite:///") + "-wal").exists()


@pytest.mark.parametrize("what", ["file", "folder"])
def test_read_only_database_serves_lookup_and_export_and_refuses_writes_in_one_line(tmp_path, capsys,
                                                                                     what):
    folder = tmp_path / "depot"
    folder.mkdir()
    path = folder / "depot.db"
    url = f"sqlite:///{path}"
    _depot(url, capsys, tmp_path)
    before = path.read_bytes()
    with read_only(path if what == "file" else folder):
        engine = open_database(url)  # what the app's read-only views open
        assert is_read_only(engine)
        with engine.connect() as conn:
            assert conn.scalar(select(Stop.order_id)) == "O-1"
        engine.dispose()
        code, out, err = _run(capsys, "--db", url, "lookup", "TRK1")
        assert code == 0, err
        assert "O-1" in out or "TRK1" in out
        code, out, err = _run(capsys, "--db", url, "export", "positions")
        assert code == 0, err
        assert len(out.strip().splitlines()) == 1 + 187
        assert _run(capsys, "--db", url, "db", "upgrade")[0] == 0  # at the newest schema: nothing to write
        code, _, err = _run(capsys, "--db", url, "import-log", str(TELIT), "--device", "other")
        line = _one_line(err)
        assert code == 1
        assert line.startswith(f"fleet-desk: database {path} is read-only: check the permissions")
        assert path.read_bytes() == before
    assert _count(url) == 187


def test_read_only_database_at_an_older_schema_is_refused_with_the_command_that_fixes_it(tmp_path,
                                                                                          capsys):
    from alembic import command

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    engine = create_db_engine(url)
    command.upgrade(alembic_config(engine), "0003")
    engine.dispose()
    with read_only(path):
        for args in (("lookup", "TRK1"), ("db", "upgrade")):
            code, _, err = _run(capsys, "--db", url, *args)
            line = _one_line(err)
            assert code == 1
            assert str(path) in line and "read-only" in line and "0003" in line
        assert "db upgrade`" in _one_line(_run(capsys, "--db", url, "lookup", "TRK1")[2])
    _assert_whole(url)  # writable again: upgraded on open


def test_new_database_in_a_read_only_folder_says_so(tmp_path, capsys):
    folder = tmp_path / "depot"
    folder.mkdir()
    with read_only(folder):
        code, _, err = _run(capsys, "--db", f"sqlite:///{folder / 'new.db'}", "lookup", "TRK1")
    line = _one_line(err)
    assert code == 1
    assert f"{folder / 'new.db'} cannot be created: its folder {folder} is read-only" in line


# -- damaged files ------------------------------------------------------------------------------------------

def _damage_positions(path: Path) -> None:
    """Overwrite the positions table's first page: the schema still reads, its rows do not."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'positions'").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as f:
        f.seek((page - 1) * size)
        f.write(b"\xff" * size)


@pytest.mark.parametrize("damage", ["not a database", "a damaged table"])
def test_damaged_database_is_one_line_and_left_as_it_is(tmp_path, capsys, damage):
    path = tmp_path / "depot.db"
    url = f"sqlite:///{path}"
    if damage == "not a database":
        path.write_bytes(random.Random(7).randbytes(64 * 1024))
    else:
        _depot(url, capsys, tmp_path)
        _damage_positions(path)
    before = path.read_bytes()
    export = tmp_path / "positions.csv"
    export.write_text("an earlier export\n")
    for args in (("import-log", str(TELIT), "--device", "telit"), ("export", "positions", "-o", str(export)),
                 ("db", "upgrade")):
        code, _, err = _run(capsys, "--db", url, *args)
        line = _one_line(err)
        assert code == 1, args  # db upgrade said nothing and exited 0 on a damaged file
        assert line.startswith(f"fleet-desk: database {path} is damaged"), line
        assert line.endswith("restore from a backup or move it aside"), line
    assert path.read_bytes() == before
    assert export.read_text() == "an earlier export\n"  # not replaced by a cut-off one
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_db_upgrade_error_on_an_unreachable_server_is_one_line_without_the_password(capsys):
    code, _, err = _run(capsys, "--db", "postgresql+psycopg://depot:s3cret@127.0.0.1:9/depot", "db", "upgrade")
    line = _one_line(err)
    assert code == 1
    assert "127.0.0.1:9" in line and "s3cret" not in line


def test_damaged_database_raises_database_error_on_open(tmp_path):
    """The app's road: open_database says it in one line too (the window shows it)."""
    path = tmp_path / "depot.db"
    path.write_bytes(b"SQLite format 3\0" + b"\x13" * 8000)
    with pytest.raises(DatabaseError, match=r"is damaged .*restore from a backup or move it aside$") as caught:
        open_database(f"sqlite:///{path}")
    assert "\n" not in str(caught.value)
