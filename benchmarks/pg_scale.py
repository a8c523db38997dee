"""PostgreSQL beside SQLite, same data: lookup latency at depot scale and the 24 h log imported.

1. The lookup benchmark's database (benchmarks/lookup_latency.py's generator: 201,600 orders, their timeline,
   outbox and search terms, and --positions fixes of 360 vans) is built in SQLite, then copied row for row
   into a fresh PostgreSQL schema (COPY), made by the app's own migrations. The same 300 queries of each kind
   go through `fleet_desk.lookup.lookup_orders` on both. Goals (p95): 20 ms by tracking number and by
   phone, 50 ms by partial name.
2. benchmarks/import_day.py's 24 h 1 Hz log (259,200 sentences) imported by `fleet-desk import-log` into a
   new SQLite file and into a new PostgreSQL schema (wall time of the whole command).
3. Disk per stored position on both (table plus indexes), and what a year of 200 vans at 1 Hz over 10-hour
   days (about 2.6 billion fixes) would take, raw and thinned by `fleet-desk db maintain` (the share kept
   measured on a replayed day: --kept-share).

The full 20 million positions take long to load on a small machine; the default is 2 million and the
disk figures are projected from the measured bytes per row (lookups do not scan positions).

Run: python benchmarks/pg_scale.py [--positions 2000000] [--pg postgresql+psycopg://postgres@127.0.0.1/test]
     [--schema bench_pg_scale] [--lookups-only]

Lookups at 201,600 orders / 2 million positions, p50 / p95 ms, 2 cores with a load average of 1.6-2.0 (other
work running), before and after migration 0009 and the name search of the same day (2026-12-02):
    kind             SQLite before  after       PostgreSQL before  after
    tracking number  7.9 / 9.8      5.1 / 6.0   17.8 / 24.9        11.9 / 15.2
    phone            5.7 / 8.0      3.7 / 4.5   12.5 / 17.0        10.0 / 13.4
    partial name     25.2 / 69.8    7.8 / 17.4  32.8 / 60.6        16.2 / 26.0
"""

from __future__ import annotations

import argparse
import math
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import import_day  # noqa: E402
import lookup_latency  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from fleet_desk.store import open_database  # noqa: E402
from fleet_desk.store.search_index import phone_key, words  # noqa: E402
from fleet_desk.tracking.rules import TrackingRules  # noqa: E402

TABLES = ["vehicles", "drivers", "devices", "routes", "stops", "lookup_terms", "order_events", "outbox",
          "positions", "latest_positions"]
YEAR_FIXES = 200 * 10 * 3600 * 365  # 200 vans, 10 h a day at 1 Hz, a year: 2.63 billion


def pg_schema_url(pg: str, schema: str) -> str:
    """A fresh, empty schema on the server (dropped first if a previous run left it)."""
    admin = create_engine(pg)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{pg}?options=-csearch_path%3D{schema}"


def drop_schema(pg: str, schema: str) -> None:
    """The benchmark's schema gone from the server."""
    admin = create_engine(pg)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def copy_to_pg(sqlite_path: Path, url: str) -> float:
    """Every row of the SQLite database into the PostgreSQL schema at ``url`` (made by the app's migrations
    first), by COPY; returns the seconds it took."""
    engine = open_database(url)
    source = sqlite3.connect(sqlite_path)
    t0 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for table in TABLES:
            columns = [r[1] for r in source.execute(f"PRAGMA table_info({table})")]
            names = ", ".join(columns)
            rows = source.execute(f"SELECT {names} FROM {table}")
            with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                while batch := rows.fetchmany(50_000):
                    for row in batch:
                        copy.write_row(row)
            raw.commit()
            if "id" in columns:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM {table}))")
        raw.commit()
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]  # VACUUM runs outside a transaction
        for table in TABLES:  # as autovacuum leaves a live database: statistics, and the visibility map that
            cur.execute(f"VACUUM ANALYZE {table}")  # lets PostgreSQL answer from an index alone
    finally:
        raw.close()
        source.close()
        engine.dispose()
    return time.perf_counter() - t0


def queries(sqlite_path: Path) -> dict[str, list[str]]:
    """300 queries of each kind from 300 orders drawn with a fixed seed (the same ones every run)."""
    db = sqlite3.connect(sqlite_path)
    ids = random.Random(17).sample(range(1, db.execute("SELECT max(id) FROM stops").fetchone()[0] + 1), 300)
    found = {r[0]: r[1:] for r in db.execute(
        f"SELECT id, tracking_number, phone, customer_name FROM stops WHERE id IN ({','.join(map(str, ids))})")}
    sample = [found[i] for i in ids if i in found]
    db.close()
    return {"tracking number": [s[0].lower() for s in sample],
            "phone (national format)": ["0" + phone_key(s[1], "FR")[3:] for s in sample],
            "partial name, no accents": [" ".join(w[:4] for w in words(s[2])[::-1]) for s in sample]}


def lookups(url: str, asked: dict[str, list[str]]) -> dict[str, tuple[float, float, int]]:
    """(p50, p95, answered) per kind of query on the database at ``url``."""
    engine = open_database(url)
    rules = TrackingRules(phone_region="FR")
    lookup_latency.timed(engine, asked["tracking number"][:20], rules)  # warm, as a running app is
    out = {}
    for label, qs in asked.items():
        times, found = lookup_latency.timed(engine, qs, rules)
        out[label] = (statistics.median(times), lookup_latency.p95(times), found)
    engine.dispose()
    return out


def import_wall(day: Path, url: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "main.py"), "--db", url, "import-log", str(day), "--device", "bench"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def bytes_per_position_pg(url: str) -> float:
    engine = create_engine(url)
    with engine.connect() as conn:
        size = conn.scalar(text("SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('positions')"))
        rows = conn.scalar(text("SELECT count(*) FROM positions"))
    engine.dispose()
    return size / max(1, rows)


def bytes_per_position_sqlite(path: Path) -> float:
    db = sqlite3.connect(path)
    try:
        db.execute("SELECT 1 FROM dbstat LIMIT 1")
    except sqlite3.OperationalError:  # no dbstat in this SQLite: the whole file per position, an upper bound
        rows = db.execute("SELECT count(*) FROM positions").fetchone()[0]
        db.close()
        return path.stat().st_size / max(1, rows)
    size = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'positions' OR name IN "
                      "(SELECT name FROM sqlite_master WHERE tbl_name = 'positions' AND type = 'index')").fetchone()[0]
    rows = db.execute("SELECT count(*) FROM positions").fetchone()[0]
    db.close()
    return size / max(1, rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=2_000_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite", type=Path, default=Path(tempfile.gettempdir()) / "fleet-desk-pg-scale.db")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--schema", default="bench_pg_scale", help="the PostgreSQL schema made (and dropped)")
    parser.add_argument("--lookups-only", action="store_true", help="stop after the lookup latencies")
    parser.add_argument("--kept-share", type=float, default=2905 / 18000,
                        help="share of a day's fixes thinning keeps (measured on tests/unit/store/test_retention's "
                             "replayed day: 2,905 of 18,000)")
    args = parser.parse_args()

    if args.rebuild or not args.sqlite.exists():
        t = time.perf_counter()
        lookup_latency.build(args.sqlite, args.positions)
        print(f"built SQLite {args.sqlite} in {time.perf_counter() - t:.0f} s")
    pg_url = pg_schema_url(args.pg, args.schema)
    copied = copy_to_pg(args.sqlite, pg_url)
    db = sqlite3.connect(args.sqlite)
    orders, positions = (db.execute("SELECT count(*) FROM stops").fetchone()[0],
                         db.execute("SELECT count(*) FROM positions").fetchone()[0])
    db.close()
    print(f"copied {orders:,} orders and {positions:,} positions into PostgreSQL in {copied:.0f} s")

    asked = queries(args.sqlite)
    lite = lookups(f"sqlite:///{args.sqlite}", asked)
    pg = lookups(pg_url, asked)
    print(f"\nlookup at {orders:,} orders / {positions:,} positions (300 queries each, ms)")
    print(f"{'query':<26} {'SQLite p50':>10} {'p95':>7} {'PG p50':>8} {'p95':>7}  goal p95")
    for (label, (lp50, lp95, lf)), goal in zip(lite.items(), (20, 20, 50), strict=True):
        pp50, pp95, pf = pg[label]
        print(f"{label:<26} {lp50:10.1f} {lp95:7.1f} {pp50:8.1f} {pp95:7.1f}  < {goal}"
              f"   answered {lf}/300 and {pf}/300")
    if args.lookups_only:
        drop_schema(args.pg, args.schema)
        return 0

    with tempfile.TemporaryDirectory(prefix="fleet-desk-pg-scale-") as tmp:
        day = Path(tmp) / "day.nmea"
        import_day.write_day(day)
        s_walls = [import_wall(day, f"sqlite:///{Path(tmp) / f'day{i}.db'}") for i in range(2)]
        p_walls = [import_wall(day, pg_schema_url(args.pg, f"bench_pg_import_{i}")) for i in range(2)]
        admin = create_engine(args.pg)
        with admin.begin() as conn:
            for i in range(2):
                conn.execute(text(f'DROP SCHEMA IF EXISTS "bench_pg_import_{i}" CASCADE'))
        admin.dispose()
    print("\n24 h 1 Hz log (259,200 sentences, 86,400 fixes) by fleet-desk import-log, best of 2 (s)")
    print(f"{'SQLite':<12} {min(s_walls):6.2f}")
    print(f"{'PostgreSQL':<12} {min(p_walls):6.2f}")

    b_pg, b_lite = bytes_per_position_pg(pg_url), bytes_per_position_sqlite(args.sqlite)
    print(f"\ndisk per stored position (table and indexes): SQLite {b_lite:.0f} B, PostgreSQL {b_pg:.0f} B")
    print(f"a year of 200 vans at 1 Hz, 10 h days ({YEAR_FIXES / 1e9:.2f} billion fixes), projected:")
    for label, b in (("SQLite", b_lite), ("PostgreSQL", b_pg)):
        raw = YEAR_FIXES * b / 1e9
        thinned = (30 / 365 + (335 / 365) * args.kept_share) * raw
        print(f"  {label:<11} raw {raw:8,.0f} GB   thinned past 30 days {thinned:8,.0f} GB "
              f"(kept share {args.kept_share:.2f})")
    if positions < 20_000_000:
        print(f"\n(run at {positions:,} positions, not 20 million: lookups probe indexes and do not scan "
              "positions; the disk figures scale by rows)")
    drop_schema(args.pg, args.schema)
    return 0 if not math.isnan(b_pg) else 1


if __name__ == "__main__":
    sys.exit(main())
