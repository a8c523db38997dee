"""Simulated delivery days: a route's manifest rows and the van that drives it, with trouble mixed in.

Used by the demo fleet, the tests and the ETA accuracy benchmark. The van is
a `SimulatedUnit` (so its NMEA takes the same road as a real unit's); what
really happened (arrival at each stop) is known exactly, to score the
tracking against.
"""

from __future__ import annotations

import csv
import io
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fleet_desk.sim.vans import DEPOT, SimulatedUnit, distance_m, offset

if TYPE_CHECKING:
    from fleet_desk.tracking.roads import Path, Point, RoadMap

#: With a road map, stops are drawn this far from the depot (metres) and moved onto the nearest street.
ROAD_STOP_RADIUS_M = (1000.0, 3600.0)
#: A drawn point farther than this from a street (in the river, off the map) is drawn again.
ROAD_SNAP_MAX_M = 250.0
ROAD_DRAWS = 40  # tries per stop before giving up on the map

FIRST_NAMES = ["Élodie", "Anna", "Karim", "Jonas", "Sofia", "Luc", "Chloé", "Mehdi", "Nina", "Hugo", "Inès", "Tomás",
               "Zoé", "Léa", "Bruno", "Maëlle", "Oskar", "Aïcha", "Paul", "Marta"]
LAST_NAMES = ["Martin", "Keller", "Benali", "Weber", "Rossi", "Bernard", "Petit", "Haddad", "Novak", "Lefèvre",
              "Moreau", "García", "Dubois", "Nguyen", "Schmidt", "Fournier", "Roux", "Girard"]
STREETS = ["rue de la République", "avenue Jean Jaurès", "rue Garibaldi", "cours Lafayette", "rue Paul Bert",
           "boulevard des Belges", "rue Créqui", "avenue Berthelot", "rue Marietton", "quai Saint-Vincent"]


@dataclass
class DayTrouble:
    """What goes wrong on this van's day."""

    late_departure_s: float = 0.0
    slow_legs: dict[int, float] = field(default_factory=dict)  # leg index -> speed factor (0.5: half speed)
    long_stops: dict[int, float] = field(default_factory=dict)  # stop index (0-based) -> extra seconds
    noise_m: float = 0.0
    dropout_rate: float = 0.0


@dataclass
class SimulatedDay:
    """One van's simulated day: the manifest rows dispatch would load, the unit that drives them, and when the
    van really reached each stop (``arrivals``), the truth ETAs are scored against."""

    route_id: str
    vehicle: str
    driver: str
    unit: SimulatedUnit
    start: datetime  # when the van's clock starts (t = 0): the planned start
    rows: list[dict]  # manifest rows, one per stop
    arrivals: list[datetime]  # when the van really reaches each stop

    def manifest_csv(self) -> str:
        """The van's manifest as the CSV file a depot imports."""
        return rows_to_csv(self.rows)


def rows_to_csv(rows: list[dict]) -> str:
    """Manifest rows as the CSV file a depot imports (header from the first row's keys), so simulated routes
    are loaded the way users load theirs."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def simulate_day(index: int, start: datetime, stops: int = 12, seed: int = 0, trouble: DayTrouble | None = None,
                 depot: tuple[float, float] = DEPOT, service_s: float = 240.0,
                 window_minutes: int = 120, road_map: RoadMap | None = None, traffic: float = 1.0) -> SimulatedDay:
    """Van ``index``'s route: ``stops`` deliveries around the depot, windows planned at a normal pace.

    Each window is ``window_minutes`` long and opens a bit over a third of it before the planned arrival
    (on a quarter hour), as a retailer promising slots would plan them.

    With a ``road_map`` the stops are on its streets and the van drives its street paths, each stretch in its
    free-flow time x ``traffic`` (1.5: half again as long) and the trouble's slow legs; windows are planned at
    free-flow times. Without one, the van drives straight lines round a corner (as it always has). ValueError,
    naming the place, when the map cannot route from the depot or finds no street for a stop.
    """
    trouble = trouble or DayTrouble()
    rng = random.Random(seed * 104729 + index)
    vehicle, route_id = f"Van {index + 1}", f"R{index + 1:02d}"
    driver = f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {LAST_NAMES[index % len(LAST_NAMES)]}"
    unit = SimulatedUnit(index, seed, depot, stops=0, round_trip=False)
    if road_map is not None:
        return _road_day(index, start, stops, seed, trouble, depot, service_s, window_minutes, road_map, traffic,
                         rng, unit, route_id, vehicle, driver)
    angle = rng.uniform(0, 2 * math.pi)
    points = []
    for _ in range(stops):
        angle += rng.uniform(0.15, 0.5)
        radius = rng.uniform(1200, 5000)
        points.append(offset(*depot, radius * math.cos(angle), radius * math.sin(angle)))
    # Streets are not straight lines: each leg goes round a corner (an L), about 1.3 times the crow's distance.
    unit.cruise = rng.uniform(8.5, 10.5)
    waypoints, dwell, leg_speed = [depot], [0.0], []
    for i, point in enumerate([*points, depot]):
        here = waypoints[-1]
        corner = (point[0], here[1]) if rng.random() < 0.5 else (here[0], point[1])
        factor = trouble.slow_legs.get(i, 1.0)
        waypoints += [corner, point]
        leg_speed += [factor, factor]
        stop_dwell = 0.0 if i == len(points) else service_s * rng.uniform(0.8, 1.2) + trouble.long_stops.get(i, 0.0)
        dwell += [0.0, stop_dwell]
    unit.waypoints, unit.dwell, unit.leg_speed = waypoints, dwell, leg_speed + [1.0]
    unit.trouble.noise_m, unit.trouble.dropout_rate = trouble.noise_m, trouble.dropout_rate
    unit.head_start_s = -trouble.late_departure_s  # negative: still at the depot when the clock starts

    # The plan: a normal pace, no trouble; two-hour windows around it. The truth: the van's own timeline.
    rows, arrivals = [], []
    planned = start
    actual = start + timedelta(seconds=trouble.late_departure_s)
    for i, point in enumerate(points):
        a, corner, b = waypoints[2 * i], waypoints[2 * i + 1], waypoints[2 * i + 2]
        leg = distance_m(a, corner) + distance_m(corner, b)
        planned += timedelta(seconds=leg / unit.cruise)
        actual += timedelta(seconds=leg / (unit.cruise * leg_speed[2 * i]))
        arrivals.append(actual)
        rows.append(_row(index, i, seed, route_id, vehicle, driver, point, planned, start, window_minutes, service_s))
        planned += timedelta(seconds=service_s)
        actual += timedelta(seconds=dwell[2 * i + 2])
    return SimulatedDay(route_id, vehicle, driver, unit, start, rows, arrivals)


def _row(index: int, i: int, seed: int, route_id: str, vehicle: str, driver: str, point: tuple[float, float],
         planned: datetime, start: datetime, window_minutes: int, service_s: float) -> dict:
    """Stop ``i``'s manifest row, its window planned round ``planned``."""
    window_start = (planned - timedelta(minutes=window_minutes * 3 / 8)).replace(second=0, microsecond=0)
    window_start -= timedelta(minutes=window_start.minute % 15)
    name = f"{FIRST_NAMES[(index * 7 + i) % len(FIRST_NAMES)]} {LAST_NAMES[(index * 3 + i) % len(LAST_NAMES)]}"
    return {
        "route_id": route_id, "vehicle": vehicle, "driver": driver, "stop_sequence": i + 1,
        "order_id": f"ORD-{index + 1:02d}{i + 1:03d}",
        "tracking_number": f"FD{seed % 100:02d}{index + 1:03d}{i + 1:03d}",
        "customer_name": name, "phone": f"+33 4 72 {index % 100:02d} {i % 100:02d} {(index + i) % 100:02d}",
        "email": f"customer{index + 1}.{i + 1}@example.com",
        "address": f"{10 + i * 3} {STREETS[(index + i) % len(STREETS)]}, Lyon",
        "lat": f"{point[0]:.6f}", "lon": f"{point[1]:.6f}",
        "window_start": window_start.isoformat(),
        "window_end": (window_start + timedelta(minutes=window_minutes)).isoformat(),
        "service_minutes": f"{service_s / 60:g}", "planned_start": start.isoformat(),
    }


def _road_day(index: int, start: datetime, stops: int, seed: int, trouble: DayTrouble, depot: Point,
              service_s: float, window_minutes: int, road_map: RoadMap, traffic: float, rng: random.Random,
              unit: SimulatedUnit, route_id: str, vehicle: str, driver: str) -> SimulatedDay:
    """`simulate_day` on a road map: stops on its streets, the van on its street paths."""
    home = road_map.path(depot, depot)
    if home is None:
        raise ValueError(f"the depot {depot[0]:.5f}, {depot[1]:.5f} is not on the road map {road_map.name}")
    here = home.points[-1]
    angle = rng.uniform(0, 2 * math.pi)
    legs: list[Path] = []
    for _ in range(stops):
        angle += rng.uniform(0.15, 0.5)
        for _ in range(ROAD_DRAWS):
            radius = rng.uniform(*ROAD_STOP_RADIUS_M)
            drawn = offset(*depot, radius * math.cos(angle), radius * math.sin(angle))
            leg = road_map.path(here, drawn)
            if leg is not None and len(leg.points) > 1 and distance_m(leg.points[-1], drawn) <= ROAD_SNAP_MAX_M \
                    and distance_m(leg.points[-1], here) > 50:
                break
        else:
            raise ValueError(f"no street on the road map {road_map.name} round {drawn[0]:.5f}, {drawn[1]:.5f} "
                             "can be reached from the depot")
        legs.append(leg)
        here = leg.points[-1]
    back = road_map.path(here, home.points[-1])
    if back is None:
        raise ValueError(f"the road map {road_map.name} has no way back to the depot from {here[0]:.5f}, "
                         f"{here[1]:.5f}")
    legs.append(back)

    # The van: every vertex of every leg a waypoint, each stretch in its free-flow time x traffic, slowed by
    # the day's trouble; stopped only at the stops.
    waypoints: list[Point] = [legs[0].points[0]]
    seconds: list[float] = []
    speed: list[float] = []
    dwell: list[float] = [0.0]
    stop_vertex: list[int] = []
    for i, leg in enumerate(legs):
        factor = trouble.slow_legs.get(i, 1.0)
        for k in range(1, len(leg.points)):
            waypoints.append(leg.points[k])
            seconds.append((leg.seconds[k] - leg.seconds[k - 1]) * traffic)
            speed.append(factor)
            dwell.append(0.0)
        if i < stops:
            stop_vertex.append(len(waypoints) - 1)
            dwell[-1] = service_s * rng.uniform(0.8, 1.2) + trouble.long_stops.get(i, 0.0)
    unit.waypoints, unit.dwell, unit.leg_speed, unit.leg_seconds = waypoints, dwell, [*speed, 1.0], seconds
    unit.trouble.noise_m, unit.trouble.dropout_rate = trouble.noise_m, trouble.dropout_rate
    unit.head_start_s = -trouble.late_departure_s  # negative: still at the depot when the clock starts

    # The plan: free-flow times and the manifest's service time. The truth: the van's own timeline.
    rows, arrivals = [], []
    planned = start
    left = start + timedelta(seconds=trouble.late_departure_s)
    for i, vertex in enumerate(stop_vertex):
        planned += timedelta(seconds=legs[i].seconds[-1])
        arrivals.append(left + timedelta(seconds=unit.reaches(vertex)))
        rows.append(_row(index, i, seed, route_id, vehicle, driver, waypoints[vertex], planned, start,
                         window_minutes, service_s))
        planned += timedelta(seconds=service_s)
    return SimulatedDay(route_id, vehicle, driver, unit, start, rows, arrivals)


def render_day(day: SimulatedDay, seconds: int, clock_offset_s: float = 0.0) -> bytes:
    """The van's NMEA for ``seconds`` from the day's start, as one log.

    ``clock_offset_s``: where the unit's own clock (t = 0) is relative to the day's start, when the unit was
    set to carry on live from a point in its day (the demo).
    """
    out = bytearray()
    for s in range(seconds):
        out += day.unit.sentences(day.start + timedelta(seconds=s), s - clock_offset_s)
    return bytes(out)
