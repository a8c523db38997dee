"""Import a 24-hour 1 Hz log, side by side with gpsdecode and a pynmea2 loop.

Prints process wall times and the ratios the foundation issue sets goals for:
    fleet-desk import-log / gpsdecode          goal <= 1.0
    plain pynmea2 loop / fleet-desk import-log  goal >= 3.0
and the peak memory of importing a file ten times larger (goal < 200 MB).
Where the import's time goes: the same command on a one-sentence file (the
fixed cost of starting: Python, SQLAlchemy, numpy, creating the database),
and the decoder alone over the day's file, in this process. And two floors
no import through the product's stack can go below: a Python process that
only imports SQLAlchemy and numpy, and SQLite alone (the sqlite3 driver, no
SQLAlchemy) inserting the day's 86,400 stored rows into the positions table
of a new database, in the import's batches.

Run: python benchmarks/import_day.py [--big]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from drivers.framing import sentence  # noqa: E402
from fleet_desk.gps import NmeaDecoder  # noqa: E402

PYNMEA2_LOOP = """
import sys, pynmea2
n = 0
with open(sys.argv[1], encoding="ascii", errors="replace") as f:
    for line in f:
        try:
            pynmea2.parse(line.strip())
            n += 1
        except pynmea2.ParseError:
            pass
print(n)
"""


def write_day(path: Path, days: int = 1) -> None:
    start = datetime(2026, 11, 20, tzinfo=UTC)
    with open(path, "wb") as f:
        for i in range(86_400 * days):
            t = start + timedelta(seconds=i)
            lat = 48.85 + 0.01 * math.sin(i / 1000)
            lon = 2.35 + 0.01 * math.cos(i / 1000)
            la = f"{int(lat):02d}{(lat - int(lat)) * 60:07.4f}"
            lo = f"{int(lon):03d}{(lon - int(lon)) * 60:07.4f}"
            hms, dmy = t.strftime("%H%M%S.00"), t.strftime("%d%m%y")
            f.write(sentence(f"GPRMC,{hms},A,{la},N,{lo},E,12.5,45.0,{dmy},,,A"))
            f.write(sentence(f"GPGGA,{hms},{la},N,{lo},E,1,08,0.9,35.2,M,47.0,M,,"))
            f.write(sentence("GPVTG,45.0,T,,M,12.5,N,23.1,K,A"))


def timed(cmd: list[str], stdin: Path | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one child process."""
    with open(stdin, "rb") if stdin else open(os.devnull, "rb") as inp, open(os.devnull, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=inp, stdout=out)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd[0]} failed")
    return wall, usage.ru_maxrss / 1024


def best(cmd: list[str], stdin: Path | None = None, runs: int = 3) -> tuple[float, float]:
    results = [timed(cmd, stdin) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results)


def decode_only(path: Path, runs: int = 3) -> float:
    """Best wall time of the decoder alone over the file, read in the import's chunk size."""
    data = path.read_bytes()
    walls = []
    for _ in range(runs):
        decoder = NmeaDecoder()
        t0 = time.perf_counter()
        for i in range(0, len(data), 1 << 20):
            decoder.feed(data[i : i + (1 << 20)])
        decoder.finish()
        walls.append(time.perf_counter() - t0)
    return min(walls)


def sqlite_only(db: Path, tmp: Path) -> float:
    """Wall time of the sqlite3 driver alone re-inserting the rows an import stored, into a new database
    made by Fleet Desk (same schema, indexes, foreign keys and pragmas), in batches of the import's size."""
    from fleet_desk.ingest.pipeline import BATCH
    from fleet_desk.store import ensure_device, open_database

    fresh = tmp / "floor.db"
    engine = open_database(f"sqlite:///{fresh}")
    ensure_device(engine, "bench")
    engine.dispose()
    with sqlite3.connect(db) as source:
        columns = [r[1] for r in source.execute("PRAGMA table_info(positions)") if r[1] != "id"]
        rows = source.execute(f"SELECT {', '.join(columns)} FROM positions ORDER BY fix_time_ms").fetchall()
    conn = sqlite3.connect(fresh)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    insert = (f"INSERT INTO positions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
              "ON CONFLICT (device_id, fix_time_ms) DO NOTHING")
    t0 = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        conn.executemany(insert, rows[i : i + BATCH])
        conn.commit()
    wall = time.perf_counter() - t0
    conn.close()
    return wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", action="store_true", help="also import a 10-day file and report peak memory")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fleet-desk-bench-"))
    try:
        day = tmp / "day.nmea"
        write_day(day)
        size = day.stat().st_size
        fleet = [sys.executable, str(ROOT / "main.py")]

        def import_cmd(db: str) -> list[str]:
            return [*fleet, "--db", db, "import-log", str(day), "--device", "bench"]

        gpsdecode = shutil.which("gpsdecode")
        g_wall = best([gpsdecode], day)[0] if gpsdecode else float("nan")
        p_wall = best([sys.executable, "-c", PYNMEA2_LOOP, str(day)])[0]
        walls = []
        for run in range(3):
            db = f"sqlite:///{tmp / f'run{run}.db'}"
            walls.append(timed(import_cmd(db))[0])
        f_wall = min(walls)
        one = tmp / "one.nmea"
        one.write_bytes(day.read_bytes()[:200].split(b"\n", 1)[0] + b"\n")
        s_wall = min(timed([*fleet, "--db", f"sqlite:///{tmp / f'one{run}.db'}", "import-log", str(one), "--device",
                            "bench"])[0] for run in range(3))
        e_wall = min(timed([*fleet, "--db", f"sqlite:///{tmp / 'one0.db'}", "import-log", str(one), "--device",
                            "bench"])[0] for _ in range(3))
        d_wall = decode_only(day)
        i_wall = best([sys.executable, "-c", "import sqlalchemy, sqlalchemy.orm, numpy"])[0]
        q_wall = sqlite_only(tmp / "run0.db", tmp)
        print(f"24 h log: 259,200 sentences, {size / 1e6:.1f} MB")
        print(f"  gpsdecode (decode only)        {g_wall:6.2f} s")
        print(f"  plain pynmea2.parse loop       {p_wall:6.2f} s")
        print(f"  fleet-desk import-log (SQLite) {f_wall:6.2f} s")
        print(f"  ratio import / gpsdecode       {f_wall / g_wall:6.2f}   (goal <= 1.0)")
        print(f"  ratio pynmea2 loop / import    {p_wall / f_wall:6.2f}   (goal >= 3.0)")
        print("where the import's time goes:")
        print(f"  start-up (one-sentence file)   {s_wall:6.2f} s  (Python, SQLAlchemy, numpy, a new database; "
              f"{e_wall:.2f} s when it exists: Alembic's share {s_wall - e_wall:.2f} s)")
        print(f"  decoding alone (in process)    {d_wall:6.2f} s  ({g_wall / d_wall:.1f}x faster than gpsdecode, "
              f"{p_wall / d_wall:.1f}x than the pynmea2 loop)")
        print(f"  storing, the rest              {f_wall - s_wall - d_wall:6.2f} s")
        print("floors:")
        print(f"  Python importing SQLAlchemy and numpy, nothing else   {i_wall:6.2f} s")
        print(f"  SQLite alone inserting the day's 86,400 rows          {q_wall:6.2f} s")
        print(f"  together {i_wall + q_wall:.2f} s: {(i_wall + q_wall) / g_wall:.2f} of gpsdecode's time, "
              f"{p_wall / (i_wall + q_wall):.2f}x faster than the pynmea2 loop at best")
        if args.big:
            big = tmp / "ten-days.nmea"
            write_day(big, days=10)
            wall, rss = timed([*fleet, "--db", f"sqlite:///{tmp / 'big.db'}", "import-log", str(big),
                               "--device", "bench"])
            print(f"10-day log ({big.stat().st_size / 1e6:.0f} MB): {wall:.1f} s, peak memory {rss:.0f} MB "
                  "(goal < 200 MB)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
