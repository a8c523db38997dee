"""ETA quality on replayed days with realistic trouble, and the cost of keeping 500 routes' ETAs current.

Part 1 simulates N vans' days (traffic slowdowns, long service times, late
departures, GPS dropouts and noise; one-hour windows), replays each van's
NMEA through the real pipeline (decoder, store, tracker; now = fix time)
into a fresh SQLite database, and scores what the tracker recorded against
what the vans really did.

Part 2 (road-network days) does the same in the demo town (fleet_desk.sim.town:
a river only two bridges cross, one-way residential streets, avenues, a ring
boulevard), its road map imported with the real OSRM build: vans drive its
streets, some slower than free flow (traffic 1.3-1.6), some with a 20-minute
stop or a late departure. Each day is replayed twice, into fresh databases:
ETAs on the road map and on the straight line, printed side by side.

Part 3 stores 500 routes of 30 stops, then times live batches (one fix per
vehicle, as live ingestion stores them once a second) with and without the
tracker: the difference is the ETA update cost.

Scores: |error| T-N is |last ETA made at least N minutes before the true
arrival - the true arrival|. A late stop is flagged in time when a "delayed"
event came before its window closed (lead: how long before). Window coverage:
the share of stops whose true arrival lies inside [earliest, latest] of the
last prediction made at least 30 minutes before it (stops with such a
prediction).

Run: python benchmarks/eta_accuracy.py [--vans 24] [--road-vans 12] [--routes 500] [--roads-only]
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from fleet_desk.gps.fix import Fix  # noqa: E402
from fleet_desk.ingest.pipeline import import_log  # noqa: E402
from fleet_desk.sim.day import DayTrouble, SimulatedDay, render_day, rows_to_csv, simulate_day  # noqa: E402
from fleet_desk.sim.town import write_town  # noqa: E402
from fleet_desk.sim.vans import distance_m  # noqa: E402
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
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else math.nan


def one_hour_windows(day: SimulatedDay, truth: dict[str, datetime]) -> None:
    """The day's windows made one hour long, opening about half an hour before the planned arrival; each
    order's true arrival noted in ``truth``."""
    for row, arrival in zip(day.rows, day.arrivals, strict=True):
        ws = datetime.fromisoformat(row["window_start"]) + timedelta(minutes=15)  # planned - 30 min
        row["window_start"], row["window_end"] = ws.isoformat(), (ws + timedelta(hours=1)).isoformat()
        truth[row["order_id"]] = arrival


@dataclass
class Scores:
    """What one model's replay of the days came to."""

    orders: int = 0
    elapsed_s: float = 0.0
    detected: int = 0
    errors: dict[int, list[float]] = field(default_factory=lambda: {60: [], 30: [], 10: []})
    late: int = 0
    flagged: int = 0
    leads: list[float] = field(default_factory=list)
    missed: list[float] = field(default_factory=list)  # minutes late, of late stops not flagged in time
    on_time: int = 0
    false_alarms: int = 0
    facing: int = 0
    covered: int = 0
    coverable: int = 0


def replay(days: list[tuple[SimulatedDay, Path]], truth: dict[str, datetime], tracker: RouteTracker,
           tmp: Path, name: str, history: list[tuple[SimulatedDay, Path]] | None = None) -> Scores:
    """Every day's manifest and NMEA log through the real pipeline into a fresh SQLite database, scored;
    ``history``: days replayed first, not scored (what the depot learns from: service times, traffic by hour,
    window spread)."""
    engine = open_database(f"sqlite:///{tmp}/{name}.db")
    for i, (day, log) in enumerate(history or []):
        manifest = tmp / f"{name}-past-m{i}.csv"
        manifest.write_text(day.manifest_csv(), encoding="utf-8")
        store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
        import_log(engine, tracker, log, f"unit-past-{i + 1:02d}", day.vehicle)
    started = time.perf_counter()
    for i, (day, log) in enumerate(days):
        manifest = tmp / f"{name}-m{i}.csv"
        manifest.write_text(day.manifest_csv(), encoding="utf-8")
        store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
        import_log(engine, tracker, log, f"unit-{i + 1:02d}", day.vehicle)
    scores = Scores(elapsed_s=time.perf_counter() - started)
    with engine.connect() as conn:
        rows = {r.order_id: r for r in conn.execute(select(Stop)) if r.order_id in truth}
        history: dict[int, list[tuple[int, int, int, int]]] = {}
        for sid, at, eta, earliest, latest in conn.execute(
                select(EtaPrediction.stop_id, EtaPrediction.predicted_at_ms, EtaPrediction.eta_ms,
                       EtaPrediction.earliest_ms, EtaPrediction.latest_ms).order_by(EtaPrediction.predicted_at_ms)):
            history.setdefault(sid, []).append((at, eta, earliest, latest))
        events = list(conn.execute(select(OrderEvent.stop_id, OrderEvent.type, OrderEvent.time_ms,
                                          OrderEvent.customer_facing)))
    engine.dispose()

    scores.orders = len(rows)
    scores.detected = sum(1 for o, r in rows.items()
                          if r.arrived_ms is not None and abs(r.arrived_ms / 1000 - truth[o].timestamp()) <= 90)
    for order, r in rows.items():
        t = truth[order].timestamp() * 1000
        for ahead, errs in scores.errors.items():
            before = [eta for at, eta, _, _ in history.get(r.id, []) if at <= t - ahead * 60_000]
            if before:
                errs.append(abs(before[-1] - t) / 60_000)
        made = [(lo, hi) for at, _, lo, hi in history.get(r.id, []) if at <= t - 30 * 60_000]
        if made:
            scores.coverable += 1
            scores.covered += made[-1][0] <= t <= made[-1][1]
    first_flag: dict[int, int] = {}
    for sid, kind, at, _ in events:
        if kind == "delayed":
            first_flag[sid] = min(at, first_flag.get(sid, at))
    late = [r for o, r in rows.items() if truth[o].timestamp() * 1000 > r.window_end_ms]
    on_time = [r for o, r in rows.items() if truth[o].timestamp() * 1000 <= r.window_end_ms]
    flagged = [r for r in late if r.id in first_flag and first_flag[r.id] < r.window_end_ms]
    scores.late, scores.flagged, scores.on_time = len(late), len(flagged), len(on_time)
    scores.leads = [(r.window_end_ms - first_flag[r.id]) / 60_000 for r in flagged]
    scores.missed = sorted(round((truth[r.order_id].timestamp() * 1000 - r.window_end_ms) / 60_000, 1)
                           for r in late if r not in flagged)
    scores.false_alarms = sum(1 for r in on_time if r.id in first_flag)
    scored = {r.id for r in rows.values()}
    scores.facing = sum(1 for sid, kind, _, f in events if f and kind in ("eta_updated", "delayed") and sid in scored)
    return scores


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def accuracy(vans: int, stops: int) -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        truth: dict[str, datetime] = {}
        days = []
        for i in range(vans):
            day = simulate_day(i, START, stops=stops, seed=11, trouble=trouble_for(i, rng))
            one_hour_windows(day, truth)
            log = Path(tmp) / f"van{i}.nmea"
            log.write_bytes(render_day(day, 6 * 3600))
            days.append((day, log))
        s = replay(days, truth, RouteTracker(RULES, clock=None), Path(tmp), "replay")

    print(f"{vans} vans x {stops} stops replayed in {s.elapsed_s:.1f} s ({s.orders} orders, one-hour windows)")
    print(f"  arrivals detected within 90 s      {s.detected}/{s.orders} ({s.detected / s.orders:.1%})")
    for ahead, errs in s.errors.items():
        goal = "  (goal median <= 5)" if ahead == 30 else ""
        print(f"  ETA error T-{ahead:<2} min (median / p90)  {median(errs):.1f} / "
              f"{percentile(errs, 90):.1f} min over {len(errs)} stops{goal}")
    share = s.flagged / s.late if s.late else 1.0
    print(f"  late arrivals flagged in time      {s.flagged}/{s.late} ({share:.0%}; goal >= 90%), "
          f"median lead {median(s.leads) if s.leads else 0:.0f} min (goal >= 15)")
    print(f"  on-time stops falsely flagged      {s.false_alarms}/{s.on_time} "
          f"({s.false_alarms / max(1, s.on_time):.1%}; goal <= 10%)")
    print(f"  customer-facing ETA + delay events {s.facing / s.orders:.2f} per order (goal <= 3)")
    print(f"  window coverage (T-30 prediction)  {s.covered}/{s.coverable} "
          f"({s.covered / max(1, s.coverable):.0%}; goal >= 80%)")


def road_trouble(i: int, rng: random.Random) -> tuple[DayTrouble, float]:
    """A road day's trouble and traffic: every van has noise and the odd dropout; every third drives at 1.3-1.6x
    free-flow time, some start 20-60 minutes late, some have a 20-minute stop; the rest drive at free flow."""
    t = DayTrouble(noise_m=3.0, dropout_rate=0.002)
    traffic = rng.uniform(1.3, 1.6) if i % 3 == 0 else 1.0
    if i % 4 == 1:
        t.late_departure_s = rng.uniform(1200, 3600)
    if i % 5 == 2:
        t.long_stops = {rng.randrange(1, 10): 20 * 60}
    return t, traffic


def tracker_on(road_map: object | None) -> RouteTracker:
    """A replay tracker (now = each fix's time), ETAs on ``road_map`` when the tracker takes one."""
    if road_map is not None and "road_map" in inspect.signature(RouteTracker).parameters:
        return RouteTracker(RULES, clock=None, road_map=road_map)  # type: ignore[arg-type]
    return RouteTracker(RULES, clock=None)


def road_days(vans: int, stops: int) -> None:
    from fleet_desk.roads.build import build_road_map
    from fleet_desk.roads.osrm_map import OsrmRoadMap

    rng, past_rng = random.Random(13), random.Random(31)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FLEET_DESK_DATA_DIR"] = str(Path(tmp) / "data")  # the import stays out of the user's maps
        town = write_town(Path(tmp) / "town.osm")
        started = time.perf_counter()
        info = build_road_map(town.path)
        built = time.perf_counter() - started
        road_map = OsrmRoadMap.open(info)
        truth: dict[str, datetime] = {}
        days, past = [], []
        traffic_of = []
        for i in range(vans):
            # The same van a week before, with trouble of its own: the history the depot learns from.
            trouble, traffic = road_trouble(i + 1, past_rng)
            before = START - timedelta(days=7)
            day = simulate_day(i + 50, before, stops=stops, seed=19, trouble=trouble, road_map=road_map,
                               traffic=traffic)
            one_hour_windows(day, {})
            log = Path(tmp) / f"road-past-van{i}.nmea"
            log.write_bytes(render_day(day, int((day.arrivals[-1] - before).total_seconds()) + 3600))
            past.append((day, log))
        for i in range(vans):
            trouble, traffic = road_trouble(i, rng)
            day = simulate_day(i, START, stops=stops, seed=17, trouble=trouble, road_map=road_map, traffic=traffic)
            one_hour_windows(day, truth)
            log = Path(tmp) / f"road-van{i}.nmea"
            seconds = int((day.arrivals[-1] - START).total_seconds()) + 3600
            log.write_bytes(render_day(day, seconds))
            days.append((day, log))
            traffic_of.append(traffic)
        circuity = []  # road distance over the straight line, stop to stop
        for day, _ in days:
            points = [day.unit.waypoints[0], *((float(r["lat"]), float(r["lon"])) for r in day.rows)]
            for a, b, leg in zip(points[:-1], points[1:], road_map.legs(points), strict=True):
                if leg is not None and distance_m(a, b) > 100:
                    circuity.append(leg.metres / distance_m(a, b))
        on_road = "road_map" in inspect.signature(RouteTracker).parameters
        models = {"road map": replay(days, truth, tracker_on(road_map), Path(tmp), "road", past),
                  "straight line": replay(days, truth, tracker_on(None), Path(tmp), "straight", past)}

    print(f"Road-network days: the demo town ({town.nodes} nodes, {town.ways} ways, {town.streets} streets, "
          f"{len(town.bridges)} bridges; road map built in {built:.2f} s)")
    print(f"  road distance between consecutive stops: median {median(circuity):.2f}x the straight line "
          f"(p90 {percentile(circuity, 90):.2f}x)")
    print(f"  {vans} vans x {stops} stops ({sum(s.orders for s in models.values()) // 2} orders, one-hour windows); "
          f"{sum(t > 1 for t in traffic_of)} vans at 1.3-1.6x free-flow time, late departures, 20-minute stops; "
          f"each model first replays a day of {vans} other routes a week before, to learn from")
    if not on_road:
        print("  (this tracker takes no road_map yet: both columns are the straight line)")
    names = list(models)
    print(f"  {'':36}{names[0]:>16}{names[1]:>16}")

    def line(label: str, value: Callable[[Scores], str]) -> None:
        print(f"  {label:36}" + "".join(f"{value(s):>16}" for s in models.values()))

    line("replayed in", lambda s: f"{s.elapsed_s:.1f} s")
    line("arrivals detected within 90 s", lambda s: f"{s.detected}/{s.orders}")
    for ahead in (60, 30, 10):
        goal = " (goal <= 3)" if ahead == 30 else ""
        line(f"|error| T-{ahead} median / p90 min{goal}",
             lambda s, a=ahead: f"{median(s.errors[a]):.1f} / {percentile(s.errors[a], 90):.1f}")
    line("late flagged in time (goal >= 90%)",
         lambda s: f"{s.flagged}/{s.late} {s.flagged / max(1, s.late):.0%}")
    line("  median lead min (goal >= 15)", lambda s: f"{median(s.leads):.0f}")
    line("  missed ones: min late (median)", lambda s: f"{median(s.missed):.1f}")
    line(f"  of those over {RULES.late_threshold_s / 60:.0f} min late (the threshold)",
         lambda s: f"{s.flagged}/{s.flagged + sum(m > RULES.late_threshold_s / 60 for m in s.missed)}")
    line("on-time falsely flagged (goal <= 10%)",
         lambda s: f"{s.false_alarms}/{s.on_time} {s.false_alarms / max(1, s.on_time):.0%}")
    line("ETA + delay events/order (goal <= 3)", lambda s: f"{s.facing / max(1, s.orders):.2f}")
    line("window coverage T-30 (goal >= 80%)",
         lambda s: f"{s.covered}/{s.coverable} {s.covered / max(1, s.coverable):.0%}")


def update_cost(routes: int, stops: int, on_roads: bool) -> None:
    """``on_roads``: the routes are on the demo town's streets and ETAs ride on its road map, asked and waited
    for inside the batch (a replay tracker), so routing is counted in the tracking time."""
    from fleet_desk.roads.osrm_map import OsrmRoadMap
    from fleet_desk.sim.demo import demo_road_map

    road_map = OsrmRoadMap.open(demo_road_map()) if on_roads else None
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{tmp}/live.db")
        rows, units = [], []
        for r in range(routes):
            day = simulate_day(r, START, stops=stops, seed=5, road_map=road_map)
            rows += day.rows
            units.append(day.unit)
        manifest = Path(tmp) / "m.csv"
        manifest.write_text(rows_to_csv(rows), encoding="utf-8")
        tracker = tracker_on(road_map)
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

        first = batch(0, True)  # every route loaded, every leg asked
        for second in range(10, 900, 10):  # on the road for a quarter of an hour: routes loaded, speeds learned
            batch(second, True)
        plain = [batch(s, False) for s in range(901, 911)]
        tracked = [batch(s, True) for s in range(912, 960, 3)]
        engine.dispose()
        tracker.close()
    where = "on the demo town's road map, routing included" if on_roads else "on the straight line"
    print(f"{routes} routes x {stops} stops, one fix per vehicle per batch (SQLite), ETAs {where}:")
    print(f"  first batch (every route read, every leg asked) {first:.0f} ms")
    print(f"  batch without tracking  median {statistics.median(plain):.0f} ms")
    print(f"  batch with tracking     median {statistics.median(tracked):.0f} ms, "
          f"so tracking adds {statistics.median(tracked) - statistics.median(plain):.0f} ms (goal < 100 ms)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vans", type=int, default=24)
    parser.add_argument("--stops", type=int, default=14)
    parser.add_argument("--routes", type=int, default=500)
    parser.add_argument("--road-vans", type=int, default=12)
    parser.add_argument("--roads-only", action="store_true", help="only the road-network days")
    args = parser.parse_args()
    if not args.roads_only:
        accuracy(args.vans, args.stops)
    road_days(args.road_vans, args.stops)
    if not args.roads_only:
        update_cost(args.routes, 30, on_roads=False)
    update_cost(args.routes, 30, on_roads=True)


if __name__ == "__main__":
    main()
