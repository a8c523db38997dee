"""The road map ETAs ride on: OSRM's engine (osrm-bindings, MLD) over a map built by `fleet_desk.roads.build`.

Implements `fleet_desk.tracking.roads.RoadMap`. A leg the map cannot route
(a point outside its area, one more than `MAX_SNAP_M` from a road, a stop on
an island of streets not connected to the rest) comes back as None while the
others still come back. One engine per map, behind a lock: callers may ask
from several threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

import osrm

from fleet_desk.roads.library import IMPORT_HINT, MapInfo, RoadMapError, current_map
from fleet_desk.tracking.roads import Leg, Path, Point

log = logging.getLogger(__name__)

MAX_SNAP_M = 500.0  # a point farther than this from any road is not on the map's streets
#: The files an MLD graph cannot be opened without.
NEEDED = (".mldgr", ".partition", ".cells", ".cell_metrics", ".ebg_nodes", ".geometry", ".fileIndex",
          ".properties")


class OsrmRoadMap:
    """Free-flow driving times, distances and street paths on one built road map."""

    def __init__(self, info: MapInfo, engine: Any) -> None:
        """Use `open`; ``engine``: OSRM's engine over ``info``'s graph."""
        self._info = info
        self._engine = engine
        self._lock = threading.Lock()

    @classmethod
    def open(cls, info: MapInfo) -> OsrmRoadMap:
        """The road map ``info`` describes, its graph loaded; RoadMapError when its files are missing or
        damaged."""
        base = info.osrm_path
        missing = [base.name + suffix for suffix in NEEDED if not base.with_name(base.name + suffix).is_file()]
        if missing:
            raise RoadMapError(f"{info.directory}: the road map {info.name} is incomplete ({', '.join(missing)} "
                               f"missing); {IMPORT_HINT} again")
        try:
            engine = osrm.OSRM(storage_config=str(base), algorithm="MLD", use_shared_memory=False)
        except (RuntimeError, ValueError, OSError) as exc:
            raise RoadMapError(f"{info.directory}: the road map {info.name} cannot be opened ({exc}); "
                               f"{IMPORT_HINT} again") from exc
        return cls(info, engine)

    @property
    def name(self) -> str:
        """The extract the map was built from, as users know it ("Helsinki")."""
        return self._info.name

    @property
    def info(self) -> MapInfo:
        """The built map's description (area, source, files)."""
        return self._info

    def legs(self, points: Sequence[Point]) -> list[Leg | None]:
        """Free-flow time and road distance from each point to the next, in one request (a second only when
        a Route through every point fails); None for a leg that cannot be routed."""
        if len(points) < 2:
            return []
        inside = [self._info.covers(lat, lon) for lat, lon in points]
        # A Route through every point answers faster than a Table of the consecutive pairs (the Table is
        # a full sources x destinations matrix): on central Helsinki 0.16 vs 0.25 ms for 2 points, 1.0 vs
        # 1.7 ms for 10, 1.7 vs 3.8 ms for 30. The Table is the fallback, for it still answers the legs it can.
        if all(inside):
            legs = self._route_legs(points)
            if legs is not None:
                return legs
        return self._table_legs(points, inside)

    def _route_legs(self, points: Sequence[Point]) -> list[Leg | None] | None:
        params = osrm.RouteParameters(coordinates=_lon_lat(points), radiuses=[MAX_SNAP_M] * len(points),
                                      overview="false", generate_hints=False, continue_straight=False)
        answer = self._ask("Route", params)
        if answer is None:
            return None
        return [Leg(float(leg["duration"]), float(leg["distance"])) for leg in answer["routes"][0]["legs"]]

    def _table_legs(self, points: Sequence[Point], inside: list[bool]) -> list[Leg | None]:
        legs: list[Leg | None] = [None] * (len(points) - 1)
        index = {i: n for n, i in enumerate(i for i, ok in enumerate(inside) if ok)}  # point -> request index
        pairs = [i for i in range(len(points) - 1) if inside[i] and inside[i + 1]]
        if not pairs:
            return legs
        coordinates = _lon_lat([p for p, ok in zip(points, inside, strict=True) if ok])
        sources = sorted({index[i] for i in pairs})
        destinations = sorted({index[i + 1] for i in pairs})
        params = osrm.TableParameters(coordinates=coordinates, sources=sources, destinations=destinations,
                                      annotations=["duration", "distance"], generate_hints=False)
        answer = self._ask("Table", params)
        if answer is None:
            return legs
        row = {s: n for n, s in enumerate(sources)}
        column = {d: n for n, d in enumerate(destinations)}
        for i in pairs:
            r, c = row[index[i]], column[index[i + 1]]
            if answer["sources"][r]["distance"] > MAX_SNAP_M or answer["destinations"][c]["distance"] > MAX_SNAP_M:
                continue
            seconds, metres = answer["durations"][r][c], answer["distances"][r][c]
            if seconds is not None and metres is not None:
                legs[i] = Leg(float(seconds), float(metres))
        return legs

    def path(self, start: Point, end: Point) -> Path | None:
        """The street path from ``start`` to ``end``, with cumulative free-flow seconds and metres per vertex;
        None when it cannot be routed."""
        return self.route_path([start, end])

    def route_path(self, points: Sequence[Point]) -> Path | None:
        """The street path through every point in order, in one request (what a simulated van drives); None
        when some leg cannot be routed."""
        if len(points) < 2 or not all(self._info.covers(lat, lon) for lat, lon in points):
            return None
        params = osrm.RouteParameters(coordinates=_lon_lat(points), radiuses=[MAX_SNAP_M] * len(points),
                                      overview="full", geometries="geojson", annotations=["duration", "distance"],
                                      generate_hints=False, continue_straight=False)
        answer = self._ask("Route", params)
        if answer is None:
            return None
        route = answer["routes"][0]
        vertices = [(float(lat), float(lon)) for lon, lat in route["geometry"]["coordinates"]]
        seconds: list[float] = []
        metres: list[float] = []
        for leg in route["legs"]:
            annotation = leg["annotation"]
            seconds += _scaled(annotation["duration"], float(leg["duration"]))
            metres += _scaled(annotation["distance"], float(leg["distance"]))
        seconds = [0.0, *accumulate(seconds)]
        metres = [0.0, *accumulate(metres)]
        if len(seconds) != len(vertices):  # OSRM's overview and annotations disagree: keep what both describe
            log.warning("road map %s: %d vertices but %d annotated", self.name, len(vertices), len(seconds))
            count = min(len(vertices), len(seconds))
            vertices, seconds, metres = vertices[:count], seconds[:count], metres[:count]
        return Path(vertices, seconds, metres)

    def problem(self, point: Point) -> str | None:
        """Why the map cannot route to or from ``point`` ("outside the road map's area (...)", "1.2 km from
        the nearest road"), or None when it can."""
        lat, lon = point
        if not self._info.covers(lat, lon):
            return f"outside the road map's area ({self.name}, {self._info.area_text})"
        answer = self._ask("Nearest", osrm.NearestParameters(coordinates=[(lon, lat)], generate_hints=False))
        if answer is None:
            return "no road near it on the road map"
        away = float(answer["waypoints"][0]["distance"])
        if away > MAX_SNAP_M:
            far = f"{away / 1000:.1f} km" if away >= 1000 else f"{away:.0f} m"
            return f"{far} from the nearest road"
        return None

    def _ask(self, service: str, params: Any) -> Any:
        """OSRM's answer, or None when it found no answer (no route, no road near a point)."""
        try:
            with self._lock:
                return getattr(self._engine, service)(params)
        except RuntimeError as exc:  # NoRoute, NoSegment, ...: the caller falls back
            log.debug("road map %s: %s found nothing (%s)", self.name, service, exc)
            return None


def _lon_lat(points: Sequence[Point]) -> list[tuple[float, float]]:
    return [(lon, lat) for lat, lon in points]


def _scaled(parts: Any, total: float) -> list[float]:
    """``parts`` stretched to add up to ``total`` (OSRM's segment times leave out turn costs its leg
    time includes)."""
    values = [float(v) for v in parts]
    whole = sum(values)
    if whole <= 0:
        return [total / len(values)] * len(values) if values else []
    return [v * total / whole for v in values]


def open_current() -> OsrmRoadMap | None:
    """The road map in use on this installation, opened; None when there is none, RoadMapError when it cannot
    be opened."""
    info = current_map()
    return None if info is None else OsrmRoadMap.open(info)
