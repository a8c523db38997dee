"""Reading an OpenStreetMap extract: is it one, which drivable streets it has, and the area they cover.

pyosmium reads the file; this module keeps the roads a car may use (the car
profile's highway types, not closed to motor vehicles), writes them as two
compact GeoJSON files (main roads, all streets) for the offline base layer,
and measures the area as the box around their nodes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import osmium

from fleet_desk.roads.library import BuildCancelled, RoadMapError

log = logging.getLogger(__name__)

FORMATS = ".osm.pbf, .osm, .osm.bz2"
MAIN_ROADS = frozenset({"motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
                        "secondary", "secondary_link", "tertiary", "tertiary_link"})
STREETS = MAIN_ROADS | {"unclassified", "residential", "living_street", "service", "road"}
CLOSED = frozenset({"no", "agricultural", "forestry", "emergency", "psv", "bus", "foot", "restricted"})
ONEWAY_YES = frozenset({"yes", "true", "1", "-1"})
POLL_EVERY = 5000  # objects read between two looks at `cancelled`


@dataclass(frozen=True)
class Extract:
    """What reading an extract found: its format (as osmium and osrm-extract name it), the area of its
    drivable roads, and how many there are."""

    format: str
    south: float
    west: float
    north: float
    east: float
    streets: int
    main_roads: int
    nodes: int = 0  # the drivable ways' located nodes (junctions counted once per way)


def not_osm(path: Path, why: str) -> RoadMapError:
    """The one-line error for a file that is not an extract, saying which formats are."""
    return RoadMapError(f"{path} is not an OpenStreetMap extract ({FORMATS}): {why}")


def sniff_format(path: Path) -> str:
    """The extract's format from its first bytes ("pbf", "osm", "osm.bz2" or "osm.gz"), whatever its name;
    RoadMapError when the file cannot be read or is no extract."""
    try:
        if path.is_dir():
            raise not_osm(path, "it is a folder")
        with path.open("rb") as f:
            head = f.read(64)
    except FileNotFoundError as exc:
        raise RoadMapError(f"{path}: no such file; give the path of an OpenStreetMap extract ({FORMATS})") from exc
    except OSError as exc:
        raise RoadMapError(f"{path} cannot be read ({exc.strerror or exc}); check the path and its "
                           "permissions") from exc
    if not head:
        raise not_osm(path, "the file is empty")
    if head.startswith(b"BZh"):
        return "osm.bz2"
    if head.startswith(b"\x1f\x8b"):
        return "osm.gz"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith((b"<?xml", b"<osm")):
        return "osm"
    if len(head) > 12 and int.from_bytes(head[:4], "big") < 65536 and b"OSMHeader" in head[4:20]:
        return "pbf"
    return not_osm_kind(path, head)


def not_osm_kind(path: Path, head: bytes) -> str:
    """Raise the error for a file whose first bytes are no extract's, saying what it looks like."""
    if head.startswith(b"\x7fELF"):
        why = "it is a program"
    elif head.startswith(b"PK"):
        why = "it is a zip archive (unpack it first)"
    elif head.lstrip().startswith(b"<"):
        why = "it is XML or HTML, but not OpenStreetMap's"
    elif all(32 <= b < 127 or b in b"\t\r\n" for b in head):
        why = "it is a text file"
    else:
        why = "its first bytes are no extract's"
    raise not_osm(path, why)


def read_extract(path: Path, folder: Path, cancelled: Callable[[], bool] | None = None) -> Extract:
    """Read the extract at ``path`` and write its streets to ``folder`` (streets-main.geojson,
    streets-all.geojson) with its water (water.geojson: lakes and river banks as polygons, rivers and canals
    as lines, drawn with the streets on the offline map); RoadMapError when it is no extract or has no
    drivable road, BuildCancelled when ``cancelled()`` says so."""
    fmt = sniff_format(path)
    main_file = folder / "streets-main.geojson"
    all_file = folder / "streets-all.geojson"
    water_file = folder / "water.geojson"
    bbox = [90.0, 180.0, -90.0, -180.0]  # south, west, north, east
    streets = main_roads = nodes = waters = 0
    seen = 0
    try:
        with (main_file.open("w", encoding="utf-8") as main_out, all_file.open("w", encoding="utf-8") as all_out,
              water_file.open("w", encoding="utf-8") as water_out):
            for out in (main_out, all_out, water_out):
                out.write(HEAD)
            processor = (osmium.FileProcessor(osmium.io.File(str(path), fmt), osmium.osm.NODE | osmium.osm.WAY)
                         .with_locations()
                         .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
                         .with_filter(osmium.filter.KeyFilter("highway", "waterway", "natural")))
            for way in processor:
                seen += 1
                if cancelled is not None and seen % POLL_EVERY == 0 and cancelled():
                    raise BuildCancelled
                if not isinstance(way, osmium.osm.Way):  # the filters let ways through only
                    continue
                if "highway" not in way.tags:
                    water = water_feature(way)
                    if water is not None:
                        _append(water_out, json.dumps(water, separators=(",", ":"), ensure_ascii=False), waters)
                        waters += 1
                    continue
                feature = street_feature(way, bbox)
                if feature is None:
                    continue
                line = json.dumps(feature, separators=(",", ":"), ensure_ascii=False)
                _append(all_out, line, streets)
                streets += 1
                nodes += len(feature["geometry"]["coordinates"])
                if feature["properties"]["highway"] in MAIN_ROADS:
                    _append(main_out, line, main_roads)
                    main_roads += 1
            for out in (main_out, all_out, water_out):
                out.write(TAIL)
    except (RuntimeError, ValueError) as exc:
        raise not_osm(path, _osmium_reason(exc)) from exc
    except MemoryError as exc:
        raise RoadMapError(f"{path}: ran out of memory reading the extract; import a smaller area or close other "
                           "programs") from exc
    if cancelled is not None and cancelled():
        raise BuildCancelled
    if not streets:
        raise RoadMapError(f"{path} has no roads a car can drive (highway=residential, primary, ...); import an "
                           "extract of the depot's area")
    south, west, north, east = bbox
    log.info("%s: %d drivable streets (%d main roads) in %.4f..%.4f N, %.4f..%.4f E", path, streets, main_roads,
             south, north, west, east)
    return Extract(fmt, south, west, north, east, streets, main_roads, nodes)


HEAD = '{"type":"FeatureCollection","features":[\n'
TAIL = "\n]}\n"


def _append(out: IO[str], line: str, written: int) -> None:
    out.write(",\n" + line if written else line)


def _osmium_reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = text.lower()
    if "truncated" in lowered or "unexpected end" in lowered or "eof" in lowered or "premature" in lowered:
        return f"it ends before its data does, cut short? ({text})"
    return text


#: Water drawn as an area (closed ways) and as a line.
WATER_AREAS = {("natural", "water"), ("waterway", "riverbank")}
WATER_LINES = {("waterway", "river"), ("waterway", "canal"), ("waterway", "stream")}


def water_feature(way: osmium.osm.Way) -> dict[str, Any] | None:
    """A lake, river bank, river or canal as a GeoJSON feature (a Polygon for a closed area, else a
    LineString, with its ``water`` kind); None for anything else. Multipolygon relations are left out."""
    tags = way.tags
    kind = next(((k, v) for k, v in (("natural", tags.get("natural")), ("waterway", tags.get("waterway")))
                 if (k, v) in WATER_AREAS | WATER_LINES), None)
    if kind is None:
        return None
    coordinates = [[round(n.location.lon, 6), round(n.location.lat, 6)] for n in way.nodes if n.location.valid()]
    if len(coordinates) < 2:
        return None
    properties = {"water": kind[1], "name": tags.get("name", "")}
    if kind in WATER_AREAS and len(coordinates) >= 4 and coordinates[0] == coordinates[-1]:
        return {"type": "Feature", "properties": properties, "geometry": {"type": "Polygon",
                                                                          "coordinates": [coordinates]}}
    return {"type": "Feature", "properties": properties, "geometry": {"type": "LineString",
                                                                      "coordinates": coordinates}}


def street_feature(way: osmium.osm.Way, bbox: list[float]) -> dict[str, Any] | None:
    """A drivable way as a GeoJSON LineString feature (lon, lat to 6 decimals, drawn in its one-way
    direction), widening ``bbox`` to its nodes; None for a way a car may not use or without two located nodes."""
    tags = way.tags
    highway = tags.get("highway")
    if highway not in STREETS or tags.get("area") == "yes":
        return None
    if tags.get("motor_vehicle", tags.get("motorcar", tags.get("access"))) in CLOSED:
        return None
    coordinates: list[list[float]] = []
    for node in way.nodes:
        location = node.location
        if not location.valid():
            continue
        lat, lon = location.lat, location.lon
        coordinates.append([round(lon, 6), round(lat, 6)])
        bbox[0], bbox[1] = min(bbox[0], lat), min(bbox[1], lon)
        bbox[2], bbox[3] = max(bbox[2], lat), max(bbox[3], lon)
    if len(coordinates) < 2:
        return None
    oneway_tag = tags.get("oneway", "")
    oneway = oneway_tag in ONEWAY_YES or (
        oneway_tag != "no" and (highway in ("motorway", "motorway_link") or tags.get("junction") == "roundabout"))
    if oneway_tag == "-1":
        coordinates.reverse()
    bridge = tags.get("bridge", "no") != "no"
    return {"type": "Feature",
            "properties": {"highway": highway, "name": tags.get("name", ""), "oneway": oneway, "bridge": bridge},
            "geometry": {"type": "LineString", "coordinates": coordinates}}
