"""``roads``: import an OpenStreetMap extract as the road map ETAs use, and say which one is in use."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from fleet_desk.cli.options import Commands
from fleet_desk.cli.terminal import EXIT_FAILED, EXIT_INTERRUPTED, ProgressLine, err

if TYPE_CHECKING:
    from fleet_desk.roads.library import MapInfo

NO_MAP = ("No road map: ETAs use the straight line (times the circuity learned from the fleet's driving). "
          "Import an OpenStreetMap extract of the depot's area (.osm.pbf, .osm, .osm.bz2, e.g. from "
          "download.geofabrik.de) with `fleet-desk roads import FILE`.")


def add_roads(commands: Commands) -> None:
    """The `roads` command: ``import FILE`` builds a road map and puts it in use; ``status`` says which is."""
    p = commands.add("roads", cmd_roads, database=False,
                     help="the road map ETAs use: import an OpenStreetMap extract, or show the one in use")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = actions.add_parser("import", help="build a road map from an OpenStreetMap extract (.osm.pbf, .osm, "
                             ".osm.bz2) of the depot's area and use it for ETAs from now on")
    imp.add_argument("file", metavar="FILE", type=Path)
    status = actions.add_parser("status", help="which road map ETAs use: its area, size and when it was built")
    status.add_argument("--format", choices=["text", "json"], default="text")


def cmd_roads(args: argparse.Namespace) -> int:
    """Run ``roads import`` or ``roads status``; returns the exit code."""
    from fleet_desk.roads.library import RoadMapError

    try:
        return _import(args.file) if args.action == "import" else _status(args.format)
    except RoadMapError as exc:
        err(str(exc))
        return EXIT_FAILED


def _import(source: Path) -> int:
    from fleet_desk.roads.build import build_road_map
    from fleet_desk.roads.library import RoadMapError, current_map

    line = ProgressLine()
    started = time.monotonic()

    def report(done: float, stage: str) -> None:
        line.show(f"{stage:<20}", done, f"{done:6.1%}", last=done >= 1.0)

    try:
        info = build_road_map(source, report)
    except KeyboardInterrupt:
        line.close()
        try:
            before = current_map()
        except RoadMapError:
            before = None
        still = f"the road map in use is still {before.name}" if before else "no road map is in use"
        err(f"interrupted; nothing of the new road map was kept ({still})")
        return EXIT_INTERRUPTED
    finally:
        line.close()
    print(f"{info.name}: road map built from {source} in {time.monotonic() - started:.1f} s")
    for label, value in _facts(info):
        print(f"  {label:<9} {value}")
    print("ETAs on this installation now use it.")
    return 0


def _status(fmt: str) -> int:
    from fleet_desk import times
    from fleet_desk.depot import depot_zone
    from fleet_desk.roads.library import current_map, roads_dir
    from fleet_desk.settings import Settings

    info = current_map()
    if fmt == "json":
        print(json.dumps({"map": None if info is None else {**info.to_json(), "area": info.area_text,
                                                            "directory": str(info.directory),
                                                            "size_bytes": _size(info)}}))
        return 0
    if info is None:
        print(NO_MAP)
        print(f"(Road maps are kept in {roads_dir()}.)")
        return 0
    print(f"Road map in use: {info.name}")
    built = times.date_time(info.built_ms, depot_zone(Settings.load()))  # at the depot, as every command says
    for label, value in [*_facts(info), ("built", built), ("source", info.source)]:
        print(f"  {label:<9} {value}")
    return 0


def _facts(info: MapInfo) -> list[tuple[str, str]]:
    return [("area", info.area_text), ("streets", f"{info.streets:,}"),
            ("size", f"{_megabytes(_size(info))} in {info.directory}")]


def _size(info: MapInfo) -> int:
    from fleet_desk.roads.library import folder_size

    try:
        return folder_size(info.directory)
    except OSError:
        return info.size_bytes


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} KB"


