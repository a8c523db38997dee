"""Lookup latency on a big depot database: 200,000 orders and 20 million positions (SQLite).

Builds the database once (the app's schema through its migrations, then bulk
rows: 40 days of 360 routes x 14 stops, customers from 400 first names x 600
last names with accents, phones, e-mails, streets; a timeline and a pushed
notice per order; 20 million positions of 360 vans), kept at --db for reuse.
Then times `fleet_desk.lookup.lookup_orders`, the function the Lookup window
and `fleet-desk lookup` call (search plus the top answer card), for 300
queries of each kind. Goals: p95 < 20 ms by tracking number and by phone,
< 50 ms by partial name.

Run: python benchmarks/lookup_latency.py [--db /tmp/fleet-desk-lookup.db] [--rebuild] [--positions 20000000]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fleet_desk.lookup import lookup_orders  # noqa: E402
from fleet_desk.store import open_database  # noqa: E402
from fleet_desk.store.search_index import NAME, STREET, email_key, phone_key, words  # noqa: E402
from fleet_desk.tracking.rules import TrackingRules  # noqa: E402

DAYS, ROUTES_PER_DAY, STOPS = 40, 360, 14  # 201,600 orders
SYLLABLES = ["ma", "ri", "lo", "é", "de", "na", "so", "phi", "ka", "rim", "lu", "cas", "jo", "na", "than", "è",
             "le", "na", "ber", "tin", "ro", "ssi", "gar", "cí", "a", "dam", "mo", "reau", "fer", "nand"]
STREETS = ["rue de la République", "avenue Jean Jaurès", "rue Paul Bert", "cours Lafayette", "rue Garibaldi",
           "boulevard des Belges", "rue Marietton", "quai Saint-Vincent", "rue Duguesclin", "place Bellecour",
           "rue Vendôme", "montée de la Grande Côte", "rue Mercière", "avenue Berthelot", "rue Servient"]


def name_list(rng: random.Random, n: int, parts: int) -> list[str]:
    names: set[str] = set()
    while len(names) < n:
        names.add("".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize())
    return sorted(names)


def build(path: Path, positions: int) -> None:
    path.unlink(missing_ok=True)
    open_database(f"sqlite:///{path}").dispose()  # the app's schema, through its migrations
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    rng = random.Random(7)
    first, last = name_list(rng, 400, 2), name_list(rng, 600, 3)
    vans = ROUTES_PER_DAY
    db.executemany("INSERT INTO vehicles (id, name) VALUES (?, ?)", [(v, f"Van {v}") for v in range(1, vans + 1)])
    db.executemany("INSERT INTO drivers (id, name, vehicle_id) VALUES (?, ?, ?)",
                   [(v, f"{first[v % len(first)]} {last[v * 7 % len(last)]}", v) for v in range(1, vans + 1)])
    db.executemany("INSERT INTO devices (id, name, family, live, vehicle_id) VALUES (?, ?, 'nmea', 0, ?)",
                   [(v, f"unit-{v:03d}", v) for v in range(1, vans + 1)])
    start_day = date.today() - timedelta(days=DAYS - 1)
    route_id = stop_id = 0
    stops, terms, events, outbox, routes = [], [], [], [], []
    for d in range(DAYS):
        day = start_day + timedelta(days=d)
        day_ms = int(datetime(day.year, day.month, day.day, 8, tzinfo=UTC).timestamp() * 1000)
        for r in range(ROUTES_PER_DAY):
            route_id += 1
            done = d < DAYS - 1
            routes.append((route_id, f"R{r + 1:03d}", day.isoformat(), r + 1, r + 1, day_ms, day_ms + 600_000,
                           "done" if done else "active"))
            for s in range(STOPS):
                stop_id += 1
                name = f"{rng.choice(first)} {rng.choice(last)}"
                phone = f"+33 {rng.randint(1, 9)} {rng.randint(0, 99):02d} {rng.randint(0, 99):02d} " \
                        f"{rng.randint(0, 99):02d} {rng.randint(0, 99):02d}"
                email = f"{words(name)[0]}.{words(name)[-1]}{stop_id % 97}@example.com"
                address = f"{rng.randint(1, 200)} {rng.choice(STREETS)}, Lyon"
                window = day_ms + s * 1_800_000
                status = "delivered" if done or s < 5 else "pending"
                stops.append((stop_id, route_id, s + 1, f"ORD-{stop_id:07d}", f"FD{stop_id:09d}", name, phone, email,
                              phone_key(phone, "FR"), email_key(email), address, 45.75 + rng.random() / 20,
                              4.85 + rng.random() / 20, window, window + 7_200_000, 240, window + 600_000, status,
                              window + 900_000 if status == "delivered" else None,
                              window + 1_100_000 if status == "delivered" else None,
                              None if status == "delivered" else window + 900_000, 0))
                terms += [(w, stop_id, NAME) for w in words(name)]
                terms += [(w, stop_id, STREET) for w in words(address) if not w.isdigit()]
                events.append((stop_id, day_ms - 3_600_000, "confirmed", "manifest", 0))
                events.append((stop_id, day_ms + 600_000, "out_for_delivery", "tracking", 1))
                if status == "delivered":
                    events.append((stop_id, window + 1_100_000, "delivered", "tracking", 1))
                outbox.append((f"{stop_id:08d}-0000-4000-8000-000000000000", stop_id, f"ORD-{stop_id:07d}", 1,
                               "out_for_delivery", day_ms + 600_000,
                               json.dumps({"type": "out_for_delivery", "stops_before": s}), "sent", 1, 0,
                               day_ms + 601_000))
    db.executemany("INSERT INTO routes (id, route_key, service_date, vehicle_id, driver_id, planned_start_ms, "
                   "departed_ms, status) VALUES (?,?,?,?,?,?,?,?)", routes)
    db.executemany("INSERT INTO stops (id, route_id, sequence, order_id, tracking_number, customer_name, phone, "
                   "email, phone_key, email_key, address, lat, lon, window_start_ms, window_end_ms, service_s, "
                   "planned_ms, status, arrived_ms, departed_ms, eta_ms, late) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", stops)
    db.executemany("INSERT INTO lookup_terms (term, stop_id, field) VALUES (?,?,?)", terms)
    db.executemany("INSERT INTO order_events (stop_id, time_ms, type, source, customer_facing) VALUES (?,?,?,?,?)",
                   events)
    db.executemany("INSERT INTO outbox (event_id, stop_id, order_id, sequence, type, created_ms, body, status, "
                   "attempts, next_attempt_ms, sent_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)", outbox)
    db.commit()
    per_van = positions // vans
    t0 = int(time.time() * 1000) - per_van * 1000
    for v in range(1, vans + 1):
        db.executemany(
            "INSERT INTO positions (device_id, vehicle_id, fix_time_ms, lat, lon, speed_mps, course_deg, alt_m, "
            "hdop, sats, fix_quality, source) VALUES (?,?,?,?,?,?,?,?,?,?,1,'live')",
            ((v, v, t0 + i * 1000, 45.75 + 0.02 * math.sin(i / 500 + v), 4.85 + 0.02 * math.cos(i / 500 + v),
              8.0, 45.0, 170.0, 0.9, 9) for i in range(per_van)))
        db.commit()
    db.executemany("INSERT INTO latest_positions (vehicle_id, device_id, fix_time_ms, lat, lon, speed_mps, "
                   "course_deg, source) VALUES (?,?,?,?,?,8.0,45.0,'live')",
                   [(v, v, t0 + (per_van - 1) * 1000, 45.75, 4.85) for v in range(1, vans + 1)])
    db.commit()
    db.execute("ANALYZE")
    db.close()


def timed(engine, queries: list[str], rules: TrackingRules) -> tuple[list[float], int]:
    times, found = [], 0
    for q in queries:
        t = time.perf_counter()
        hits, answers = lookup_orders(engine, q, rules)
        times.append((time.perf_counter() - t) * 1000)
        found += bool(answers)
    return times, found


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/fleet-desk-lookup.db"))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--positions", type=int, default=20_000_000)
    args = parser.parse_args()
    if args.rebuild or not args.db.exists():
        t = time.perf_counter()
        build(args.db, args.positions)
        print(f"built {args.db} in {time.perf_counter() - t:.0f} s ({args.db.stat().st_size / 1e9:.1f} GB)")
    engine = open_database(f"sqlite:///{args.db}")
    db = sqlite3.connect(args.db)
    orders = db.execute("SELECT count(*) FROM stops").fetchone()[0]
    positions = db.execute("SELECT max(id) FROM positions").fetchone()[0]
    sample = db.execute("SELECT tracking_number, phone, customer_name FROM stops ORDER BY random() LIMIT 300")\
        .fetchall()
    db.close()
    rules = TrackingRules(phone_region="FR")
    by_tracking = [s[0].lower() for s in sample]
    by_phone = ["0" + phone_key(s[1], "FR")[3:] for s in sample]  # typed the national way: 0412345678
    by_name = [" ".join(w[:4] for w in words(s[2])[::-1]) for s in sample]  # "mart elod": partial, no accents
    timed(engine, by_tracking[:20], rules)  # warm the cache, as a running app would be
    print(f"{orders:,} orders, {positions:,} positions")
    for label, queries, goal in (("tracking number", by_tracking, 20), ("phone (national format)", by_phone, 20),
                                 ("partial name, no accents", by_name, 50)):
        times, found = timed(engine, queries, rules)
        print(f"{label:<26} p50 {statistics.median(times):6.1f} ms  p95 {p95(times):6.1f} ms  "
              f"max {max(times):6.1f} ms  found {found}/{len(queries)}  (goal p95 < {goal} ms)")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
