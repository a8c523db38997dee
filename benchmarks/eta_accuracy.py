"""ETA quality on replayed days with realistic trouble, and the cost of keeping 500 routes' ETAs current.

Part 1 simulates N vans' days (traffic slowdowns, long service times, late
departures, GPS dropouts and noise; one-hour windows), replays each van's
NMEA through the real pipeline (decoder, store, tracker; now = fix time)
into a fresh SQLite database, and scores what the tracker recorded against
what the vans really did.

Part 2 stores 500 routes of 30 stops, then times live batches (one fix per
vehicle, as live ingestion stores them once a second) with and without the
tracker: the difference is the ETA update cost.

Run: python benchmarks/eta_accuracy.py [--vans 24] [--routes 500]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from fleet_desk.gps.fix import Fix  # noqa: E402
from fleet_desk.ingest.pipeline import import_log  # noqa: E402
from fleet_desk.sim.day import DayTrouble, render_day, rows_to_csv, simulate_day  # noqa: E402
from fleet_desk.store import PositionWriter, ensure_device, open_database  # noqa: E402
from fleet_desk.store.models import EtaPrediction, OrderEvent, Stop  # noqa: E402
from fleet_desk.store.positions import write_batches  # noqa: E402
from fleet_desk.tracking import RouteTracker, TrackingRules  # noqa: E402
from fleet_desk.tracking.manifest import read_manifest  # noqa: E402
from fleet_desk.tracking.routes import store_manifest  # noqa: E402

RULES = TrackingRules(timezone=UTC)
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def trouble_for(i: int, rng: random.Random) -> DayTrouble:
    """A mix: every van has noise and the odd dropout; some start late, some hit traffic, some long stops."""
    t = DayTrouble(noise_m=3.0, dropout_rate=0.002)
    if i % 4 == 1:
        t.late_departure_s = rng.uniform(1200, 3600)
    if i % 3 == 0:
        first = rng.randrange(2, 8)
        t.slow_legs = {leg: rng.uniform(0.4, 0.7) for leg in range(first, first + rng.randrange(2, 5))}
    if i % 5 == 2:
        t.long_stops = {rng.randrange(1, 10): rng.uniform(900, 2400)}
    return t


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def accuracy(vans: int, stops: int) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{tmp}/replay.db")
        tracker = RouteTracker(RULES, clock=None)
        truth: dict[str, datetime] = {}
        started = time.perf_counter()
        for i in range(vans):
            day = simulate_day(i, START, stops=stops, seed=11, trouble=trouble_for(i, rng))
            for row, arrival in zip(day.rows, day.arrivals, strict=True):
                ws = datetime.fromisoformat(row["window_start"]) + timedelta(minutes=15)  # planned - 30 min
                row["window_start"], row["window_end"] = ws.isoformat(), (ws + timedelta(hours=1)).isoformat()
                truth[row["order_id"]] = arrival
            manifest = Path(tmp) / f"m{i}.csv"
            manifest.write_text(day.manifest_csv(), encoding="utf-8")
            store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
            log = Path(tmp) / f"van{i}.nmea"
            log.write_bytes(render_day(day, 6 * 3600))
            import_log(engine, tracker, log, f"unit-{i + 1:02d}", day.vehicle)
        elapsed = time.perf_counter() - started

        with engine.connect() as conn:
            rows = {r.order_id: r for r in conn.execute(select(Stop))}
            history: dict[int, list[tuple[int, int]]] = {}
            for sid, at, eta in conn.execute(select(EtaPrediction.stop_id, EtaPrediction.predicted_at_ms,
                                                    EtaPrediction.eta_ms).order_by(EtaPrediction.predicted_at_ms)):
                history.setdefault(sid, []).append((at, eta))
            events = list(conn.execute(select(OrderEvent.stop_id, OrderEvent.type, OrderEvent.time_ms,
                                              OrderEvent.customer_facing)))
        engine.dispose()

    detected = sum(1 for o, r in rows.items()
                   if r.arrived_ms is not None and abs(r.arrived_ms / 1000 - truth[o].timestamp()) <= 90)
    errors: dict[int, list[float]] = {60: [], 30: [], 10: []}
    for order, r in rows.items():
        t = truth[order].timestamp() * 1000
        for ahead in errors:
            before = [eta for at, eta in history.get(r.id, []) if at <= t - ahead * 60_000]
            if before:
                errors[ahead].append(abs(before[-1] - t) / 60_000)
    first_flag: dict[int, int] = {}
    for sid, kind, at, _ in events:
        if kind == "delayed":
            first_flag[sid] = min(at, first_flag.get(sid, at))
    late = [r for o, r in rows.items() if truth[o].timestamp() * 1000 > r.window_end_ms]
    on_time = [r for o, r in rows.items() if truth[o].timestamp() * 1000 <= r.window_end_ms]
    flagged = [r for r in late if r.id in first_flag and first_flag[r.id] < r.window_end_ms]
    leads = [(r.window_end_ms - first_flag[r.id]) / 60_000 for r in flagged]
    false_alarms = [r for r in on_time if r.id in first_flag]
    facing = sum(1 for _, kind, _, f in events if f and kind in ("eta_updated", "delayed"))

    print(f"{vans} vans x {stops} stops replayed in {elapsed:.1f} s ({len(rows)} orders, one-hour windows)")
    print(f"  arrivals detected within 90 s      {detected}/{len(rows)} ({detected / len(rows):.1%})")
    for ahead, errs in errors.items():
        goal = "  (goal median <= 5)" if ahead == 30 else ""
        print(f"  ETA error T-{ahead:<2} min (median / p90)  {statistics.median(errs):.1f} / "
              f"{percentile(errs, 90):.1f} min over {len(errs)} stops{goal}")
    share = len(flagged) / len(late) if late else 1.0
    print(f"  late arrivals flagged in time      {len(flagged)}/{len(late)} ({share:.0%}; goal >= 90%), "
          f"median lead {statistics.median(leads) if leads else 0:.0f} min (goal >= 15)")
    print(f"  on-time stops falsely flagged      {len(false_alarms)}/{len(on_time)} "
          f"({len(false_alarms) / max(1, len(on_time)):.1%}; goal <= 10%)")
    print(f"  customer-facing ETA + delay events {facing / len(rows):.2f} per order (goal <= 3)")


def update_cost(routes: int, stops: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{tmp}/live.db")
        rows, units = [], []
        for r in range(routes):
            day = simulate_day(r, START, stops=stops, seed=5)
            rows += day.rows
            units.append(day.unit)
        manifest = Path(tmp) / "m.csv"
        manifest.write_text(rows_to_csv(rows), encoding="utf-8")
        tracker = RouteTracker(RULES, clock=None)
        store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
        refs = [ensure_device(engine, f"unit-{r + 1:03d}", f"Van {r + 1}") for r in range(routes)]

        def fix(unit, second: int) -> Fix:
            lat, lon, speed, course = unit.state_at(second)
            return Fix(time=START + timedelta(seconds=second), lat=lat, lon=lon, speed_mps=speed, course_deg=course,
                       hdop=1.0, sats=9, mode=3)

        def batch(second: int, hooks: bool) -> float:
            writers = [(PositionWriter(engine, ref, "live", [tracker] if hooks else []), [fix(unit, second)])
                       for ref, unit in zip(refs, units, strict=True)]
            started = time.perf_counter()
            with engine.begin() as conn:
                write_batches(conn, writers)
            return (time.perf_counter() - started) * 1000

        for second in range(0, 900, 10):  # on the road for a quarter of an hour: routes loaded, speeds learned
            batch(second, True)
        plain = [batch(s, False) for s in range(901, 911)]
        tracked = [batch(s, True) for s in range(912, 960, 3)]
        engine.dispose()
    print(f"{routes} routes x {stops} stops, one fix per vehicle per batch (SQLite):")
    print(f"  batch without tracking  median {statistics.median(plain):.0f} ms")
    print(f"  batch with tracking     median {statistics.median(tracked):.0f} ms, "
          f"so tracking adds {statistics.median(tracked) - statistics.median(plain):.0f} ms (goal < 100 ms)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vans", type=int, default=24)
    parser.add_argument("--stops", type=int, default=14)
    parser.add_argument("--routes", type=int, default=500)
    args = parser.parse_args()
    accuracy(args.vans, args.stops)
    update_cost(args.routes, 30)


if __name__ == "__main__":
    main()
