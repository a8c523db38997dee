"""The demo town's streets, written as an OpenStreetMap extract the road map is built from.

An 8 x 8 km town centred on the demo depot: a grid of residential streets
(250 m blocks, most of them one-way, alternating directions), two-way avenues
every kilometre, a fast ring boulevard round each half of the town, and a
river cutting the town in two that only two bridges cross, so deliveries on
the far bank go round by a bridge. Also the river itself (its course and its
water area), so a street layer can draw it. The same town every time.

The ring boulevard stops at the river on both sides (it joins the quays):
the two bridges are the only way across.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import osmium
from osmium.osm.mutable import Node, Way

from fleet_desk.sim.day import STREETS
from fleet_desk.sim.vans import DEPOT, EARTH_M, distance_m, offset

Point = tuple[float, float]  # (lat, lon)

BLOCK_M = 250  # between two parallel streets
GRID_M = 3750  # the street grid spans -GRID_M .. GRID_M from the depot, both ways
RING_M = 4000  # the ring boulevard's square
AVENUE_M = 1000  # an avenue every kilometre
SOUTH_QUAY_M, NORTH_QUAY_M = 750, 1000  # the streets along the river's banks (the river flows between)
RIVER_HALF_WIDTH_M = 30.0
BRIDGES_AT_M = (-2000, 2000)  # the avenues that cross the river

#: Names for the town's streets: the simulator's own first, then more of the same city.
STREET_NAMES = [*(s for s in STREETS if s.startswith("rue")), "rue Victor Hugo", "rue Duguesclin", "rue Vendôme",
                "rue Bossuet", "rue Tronchet",
                "rue Sully", "rue Cuvier", "rue Bugeaud", "rue Servient", "rue Moncey", "rue de Sèze",
                "rue Juliette Récamier", "rue Boileau", "rue Pierre Corneille", "rue Molière", "rue Montesquieu",
                "rue Saint-Jean", "rue Mercière", "rue Childebert", "rue du Plat", "rue Auguste Comte",
                "rue Sala", "rue Franklin", "rue Jarente", "rue Sainte-Hélène", "rue des Remparts d'Ainay",
                "rue de Condé", "rue Smith", "rue Delandine", "rue Dumenge", "rue Hénon", "rue d'Austerlitz",
                "rue Pailleron", "rue Chazière", "rue Philippe de Lassalle", "rue Jacquard", "rue Denfert",
                "rue Ney", "rue Tête d'Or", "rue Masséna", "rue Barrier", "rue Chaponnay", "rue Rabelais",
                "rue Turenne", "rue Bonald", "rue Salomon Reinach", "rue de Marseille", "rue Jangot",
                "rue de l'Université", "rue Pasteur", "rue Chevreul", "rue Béchevelin", "rue d'Anvers",
                "rue Rachais", "rue Sébastien Gryphe", "rue Domer"]
AVENUE_NAMES = [*(s for s in STREETS if s.split()[0] in ("avenue", "cours", "boulevard")), "cours Gambetta",
                "cours Vitton",
                "avenue Félix Faure", "cours Émile Zola", "avenue Lacassagne", "cours Charlemagne",
                "avenue Thiers", "cours Albert Thomas", "avenue Rockefeller", "avenue de Saxe", "cours Tolstoï"]


@dataclass(frozen=True)
class Bridge:
    """One of the two ways across the river: its name, its two ends, and where it crosses the river's middle."""

    name: str
    south: Point
    north: Point
    middle: Point


@dataclass
class Town:
    """The town written to ``path``: what a street layer and a test need to know of it."""

    path: Path
    centre: Point
    nodes: int
    ways: int
    streets: int  # the ways vans may drive
    bridges: list[Bridge]
    river: list[Point]  # the river's course, west to east
    half_width_m: float = RIVER_HALF_WIDTH_M
    bounds: tuple[Point, Point] = field(default=((0.0, 0.0), (0.0, 0.0)))  # (south-west, north-east)

    def local_m(self, point: Point) -> tuple[float, float]:
        """(east, north) metres of ``point`` from the town's centre."""
        lat0, lon0 = self.centre
        north = math.radians(point[0] - lat0) * EARTH_M
        east = math.radians(point[1] - lon0) * EARTH_M * math.cos(math.radians(lat0))
        return east, north

    def bank(self, point: Point) -> int:
        """Which side of the river ``point`` is on: 1 north, -1 south."""
        east, north = self.local_m(point)
        return 1 if north > river_north_m(east) else -1

    def nearest_bridge_m(self, point: Point) -> float:
        """Metres from ``point`` to the nearest bridge's middle (where it crosses the river)."""
        return min(distance_m(point, bridge.middle) for bridge in self.bridges)

    def point(self, east_m: float, north_m: float) -> Point:
        """The point ``east_m`` and ``north_m`` from the town's centre."""
        return offset(*self.centre, north_m, east_m)


def river_north_m(east_m: float) -> float:
    """Where the river's middle is, in metres north of the centre, ``east_m`` east of it: a gentle meander
    between the two quays."""
    middle = (SOUTH_QUAY_M + NORTH_QUAY_M) / 2
    return middle + 45.0 * math.sin(2 * math.pi * east_m / 3000.0 + 0.4)


class _Writer:
    """Numbers nodes and ways as they are added (one node per position, so crossing streets share it), and
    writes them, nodes first, as OSM files are ordered."""

    def __init__(self, path: Path, centre: Point) -> None:
        self.path, self.centre = path, centre
        self.node_ids: dict[tuple[float, float], int] = {}
        self.way_list: list[Way] = []
        self.streets = 0

    @property
    def nodes(self) -> int:
        return len(self.node_ids)

    @property
    def ways(self) -> int:
        return len(self.way_list)

    def node(self, east: float, north: float) -> int:
        key = (round(east, 1), round(north, 1))
        return self.node_ids.setdefault(key, len(self.node_ids) + 1)

    def way(self, points: list[tuple[float, float]], tags: dict[str, str]) -> None:
        refs = [self.node(e, n) for e, n in points]
        self.streets += "highway" in tags
        self.way_list.append(Way(id=len(self.way_list) + 1, nodes=refs, tags=tags))

    def close(self) -> None:
        self.path.unlink(missing_ok=True)
        out = osmium.SimpleWriter(str(self.path))
        try:
            for (east, north), ref in self.node_ids.items():
                lat, lon = offset(*self.centre, north, east)
                out.add_node(Node(id=ref, location=(round(lon, 7), round(lat, 7))))
            for way in self.way_list:
                out.add_way(way)
        finally:
            out.close()


def _span(start: float, stop: float) -> list[float]:
    """``start``, every block corner strictly between it and ``stop`` (either direction), ``stop``."""
    low, high = sorted((start, stop))
    between = [float(v) for v in range(-RING_M, RING_M + 1, BLOCK_M) if low < v < high]
    return [float(start), *(between if stop >= start else reversed(between)), float(stop)]


def _kind(offset_m: int) -> tuple[dict[str, str], bool]:
    """A line's highway tags, and whether it reaches the ring (avenues do)."""
    if offset_m == 0:
        return {"highway": "primary"}, True
    if offset_m % AVENUE_M == 0:
        return {"highway": "secondary"}, True
    if abs(offset_m) == GRID_M:
        return {"highway": "residential"}, False  # the town's edge streets, two-way
    return {"highway": "residential", "oneway": "yes"}, False


def write_town(path: Path, centre: Point = DEPOT) -> Town:
    """Write the demo town as OSM XML (version 0.6) to ``path``; the same bytes every time."""
    w = _Writer(path, centre)
    lines = list(range(-GRID_M, GRID_M + 1, BLOCK_M))
    names = iter(STREET_NAMES)
    avenues = iter(AVENUE_NAMES)
    bridges: list[Bridge] = []

    # Rows (east-west). The two quays run along the banks from ring to ring.
    one_way = 0  # one-way streets so far: every other one runs the other way
    for y in lines:
        if y == SOUTH_QUAY_M or y == NORTH_QUAY_M:
            name = "quai Saint-Vincent" if y == NORTH_QUAY_M else "quai Pierre Scize"
            w.way([(x, float(y)) for x in _span(-RING_M, RING_M)], {"highway": "tertiary", "name": name})
            continue
        tags, to_ring = _kind(y)
        name = next(avenues) if to_ring else next(names)
        ends = (-RING_M, RING_M) if to_ring else (-GRID_M, GRID_M)
        if tags.get("oneway"):
            one_way += 1
            if one_way % 2:
                ends = (ends[1], ends[0])  # alternate directions
        w.way([(x, float(y)) for x in _span(*ends)], {**tags, "name": name})

    # Columns (north-south), cut by the river; two avenues cross it on bridges.
    for x in lines:
        tags, to_ring = _kind(x)
        one_way += bool(tags.get("oneway"))
        name = next(avenues) if to_ring else next(names)
        south, north = ((-RING_M, RING_M) if to_ring else (-GRID_M, GRID_M))
        pieces = [(float(south), float(SOUTH_QUAY_M)), (float(NORTH_QUAY_M), float(north))]
        if x in BRIDGES_AT_M:
            middle = river_north_m(x)
            low, high = middle - RIVER_HALF_WIDTH_M - 15, middle + RIVER_HALF_WIDTH_M + 15
            bridge_name = "pont Lafayette" if x < 0 else "pont Wilson"
            w.way([(x, float(SOUTH_QUAY_M)), (x, low)], {**tags, "name": name})
            w.way([(x, low), (x, high)], {**tags, "name": bridge_name, "bridge": "yes", "layer": "1"})
            w.way([(x, high), (x, float(NORTH_QUAY_M))], {**tags, "name": name})
            bridges.append(Bridge(bridge_name, offset(*centre, low, x), offset(*centre, high, x),
                                  offset(*centre, middle, x)))
        for a, b in pieces:
            if tags.get("oneway") and one_way % 2:
                a, b = b, a
            w.way([(float(x), v) for v in _span(a, b)], {**tags, "name": name})

    # The ring boulevard: one half round each bank, joining the quays where the river leaves town.
    ring = {"highway": "trunk", "name": "boulevard de ceinture"}
    south_ring = [(-RING_M, v) for v in _span(SOUTH_QUAY_M, -RING_M)] + \
        [(v, -RING_M) for v in _span(-RING_M, RING_M)[1:]] + [(RING_M, v) for v in _span(-RING_M, SOUTH_QUAY_M)[1:]]
    north_ring = [(-RING_M, v) for v in _span(NORTH_QUAY_M, RING_M)] + \
        [(v, RING_M) for v in _span(-RING_M, RING_M)[1:]] + [(RING_M, v) for v in _span(RING_M, NORTH_QUAY_M)[1:]]
    w.way([(float(e), float(n)) for e, n in south_ring], ring)
    w.way([(float(e), float(n)) for e, n in north_ring], ring)

    # The river: its course (waterway) and its water (an area a street layer can fill).
    course = [(float(x), river_north_m(x)) for x in range(-RING_M - 600, RING_M + 601, 100)]
    w.way(course, {"waterway": "river", "name": "la Saône"})
    left = [(e, n + RIVER_HALF_WIDTH_M) for e, n in course]
    right = [(e, n - RIVER_HALF_WIDTH_M) for e, n in reversed(course)]
    w.way([*left, *right, left[0]], {"natural": "water", "water": "river", "name": "la Saône"})
    w.close()

    river = [offset(*centre, n, e) for e, n in course]
    span = RING_M + 600
    return Town(path=path, centre=centre, nodes=w.nodes, ways=w.ways, streets=w.streets, bridges=bridges,
                river=river, bounds=(offset(*centre, -span, -span), offset(*centre, span, span)))
