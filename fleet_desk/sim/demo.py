"""The built-in demo fleet: a throwaway depot database, a day's routes and simulated vans driving them.

Each van's GPS is a simulated unit behind a real pseudo-terminal, attached
as a live unit exactly as a dispatcher would attach a real one, so the demo
exercises the same serial driver, decoder, store, tracking and views as a
real depot. The vans are already some way into their day: what they did
before the demo started is imported as a docked unit's log would be (it
fills in history and tells no customer), then they carry on live. A few
have trouble: a late departure, slow traffic, a long stop.

The demo town has streets (`fleet_desk.sim.town`): its road map is built
once into the user's cache folder (`demo_road_map`), kept there under the
town's content hash so the next start only opens it, and never made the
installation's road map. The vans drive its streets.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from fleet_desk.roads.build import build_into, osrm_steps, osrm_tools
from fleet_desk.roads.library import MAP_JSON, MapInfo, RoadMapError, write_atomically
from fleet_desk.roads.osm import read_extract
from fleet_desk.roads.osrm_map import OsrmRoadMap
from fleet_desk.settings import Settings
from fleet_desk.sim.day import DayTrouble, SimulatedDay, render_day, rows_to_csv, simulate_day
from fleet_desk.sim.endpoint import DemoEndpoint
from fleet_desk.sim.town import write_town
from fleet_desk.sim.vans import DEPOT, PtyUnit, run
from fleet_desk.times import to_ms

if TYPE_CHECKING:
    from fleet_desk.depot import Depot

log = logging.getLogger(__name__)

DEMO_BAUD = 4800
STOPS = 14
WINDOW_MINUTES = 60
TOWN_NAME = "Demo town"
DEMO_TIMEZONE = "Europe/Paris"  # the demo depot is in Lyon
MANIFEST_BEFORE = timedelta(minutes=30)  # the day's manifest was imported this long before the first van's start
CACHE_ENV_DIR = "FLEET_DESK_CACHE_DIR"  # as the dock's download cache reads it


def demo_settings(settings: Settings) -> Settings:
    """The user's settings, with the demo depot's place and time zone where the user has set none, so the demo
    shows depot time and knows its depot out of the box."""
    return replace(settings, depot_timezone=settings.depot_timezone or DEMO_TIMEZONE,
                   depot_location=settings.depot_location or f"{DEPOT[0]}, {DEPOT[1]}")


def demo_maps_dir() -> Path:
    """Where the demo town's road map is kept: ``demo-roads`` in the user's cache folder (or the folder
    ``FLEET_DESK_CACHE_DIR`` names)."""
    base = os.environ.get(CACHE_ENV_DIR) or platformdirs.user_cache_dir("fleet-desk", appauthor=False)
    return Path(base) / "demo-roads"


def demo_road_map() -> MapInfo:
    """The demo town's road map: the one built before if the town is unchanged (the content hash of the town,
    the street layers read from it and the OSRM steps names the folder), else built now (about a second) as
    ``fleet-desk roads import`` builds one. It is not made the installation's road map. RoadMapError, in one
    line, when it cannot be built."""
    root = demo_maps_dir()
    try:
        with tempfile.TemporaryDirectory(prefix=".town-") as scratch:
            town = write_town(Path(scratch) / "town.osm")
            extract = read_extract(town.path, Path(scratch))
            _, profile = osrm_tools()
            steps = osrm_steps(profile, Path("town.osm"), Path("map.osrm"), extract.nodes)
            layers = b"".join(p.read_bytes() for p in sorted(Path(scratch).glob("*.geojson")))
            built_by = f"osrm-bindings {importlib.metadata.version('osrm-bindings')}\n{steps}\n".encode()
            folder = f"town-{hashlib.sha256(built_by + town.path.read_bytes() + layers).hexdigest()[:16]}"
            try:
                return MapInfo.load(root / folder)
            except RoadMapError:
                shutil.rmtree(root / folder, ignore_errors=True)  # none yet, or half of one: build it
            started = time.monotonic()
            try:
                info = build_into(town.path, root, folder, TOWN_NAME)
            except RoadMapError:
                if (root / folder).is_dir():  # another demo built it meanwhile
                    return MapInfo.load(root / folder)
                raise
            kept = shutil.copy(town.path, info.directory / "town.osm")  # the extract stays with its map
            info = replace(info, source=str(kept))
            write_atomically(info.directory / MAP_JSON, info.to_json())
    except OSError as exc:
        raise RoadMapError(f"{root}: cannot build the demo town's road map ({exc.strerror or exc})") from exc
    log.info("demo town's road map built in %.1f s in %s", time.monotonic() - started, info.directory)
    for old in root.glob("town-*"):
        if old != info.directory:
            shutil.rmtree(old, ignore_errors=True)
    return info


def demo_trouble(index: int) -> DayTrouble:
    """Deliberate delays, so the demo shows what late looks like and why."""
    trouble = DayTrouble(noise_m=2.0)
    if index == 2:
        trouble.late_departure_s = 40 * 60  # still at the depot, its first customers will wait
    elif index == 4:
        trouble.slow_legs = {leg: 0.4 for leg in range(1, STOPS)}  # stuck in traffic all morning
    elif index == 7:
        # A stop that takes an hour (with hour-long windows, half an hour is still on time), and the van some
        # way into it when the demo starts, so its later customers show late at once.
        trouble.long_stops = {3: 60 * 60}
    return trouble


LONG_STOP_SO_FAR_S = 40 * 60  # how far into its long stop the demo finds the van that has one


def demo_traffic(index: int) -> float:
    """How much slower than free flow van ``index`` drives the town's streets (1.3: 30% longer)."""
    return 1.3 if index % 5 == 1 else 1.0


def _demo_day(index: int, start: datetime, seed: int, streets: OsrmRoadMap | None) -> SimulatedDay:
    return simulate_day(index, start, stops=STOPS, seed=seed, trouble=demo_trouble(index),
                        window_minutes=WINDOW_MINUTES, road_map=streets, traffic=demo_traffic(index))


class DemoFleet:
    """Creates the demo depot and feeds its units until `stop`.

    ``roads``: the vans drive the demo town's streets, and `road_map` is its road map (for the demo depot's
    ETAs); False, or a town whose map cannot be built (logged, `road_problem` says why): they drive straight
    lines round a corner, and `road_map` is None.
    """

    def __init__(self, vehicles: int = 12, seed: int = 1, now: datetime | None = None, roads: bool = True):
        self.road_map: MapInfo | None = None
        self.road_problem: str | None = None
        streets: OsrmRoadMap | None = None
        if roads:
            try:
                self.road_map = demo_road_map()
                streets = OsrmRoadMap.open(self.road_map)
            except RoadMapError as exc:
                self.road_map, self.road_problem = None, str(exc)
                log.warning("the demo's vans drive straight lines: %s", exc)
        self._tmp = tempfile.TemporaryDirectory(prefix="fleet-desk-demo-")
        self.directory = Path(self._tmp.name)
        self.url = f"sqlite:///{self.directory / 'demo.db'}"
        self.depot = DEPOT
        now = now or datetime.now(UTC)
        self.days: list[SimulatedDay] = []
        self.elapsed_s: list[int] = []
        for i in range(vehicles):
            elapsed = 20 * 60 + (i * 7 % 12) * 5 * 60  # 20 to 75 minutes into the day
            day = _demo_day(i, now - timedelta(seconds=elapsed), seed, streets)
            long_stops = demo_trouble(i).long_stops
            if long_stops:  # the same day, started early enough to find the van well into that stop
                reached = day.arrivals[min(long_stops)] - day.start
                elapsed = int(reached.total_seconds()) + LONG_STOP_SO_FAR_S
                day = _demo_day(i, now - timedelta(seconds=elapsed), seed, streets)
            day.unit.head_start_s += elapsed  # carry on live from where the day is now
            self.days.append(day)
            self.elapsed_s.append(elapsed)
        self.manifest_ms = to_ms(min(day.start for day in self.days) - MANIFEST_BEFORE)  # when dispatch loaded it
        self.ptys = [PtyUnit(day.unit, DEMO_BAUD) for day in self.days]
        self._stop = threading.Event()
        self._feeder = threading.Thread(target=run, args=(self.ptys,), kwargs={"stop": self._stop},
                                        name="demo-simulator", daemon=True)
        self.tracking = DemoEndpoint()  # its customer notices go here, never to a real endpoint

    def prepare(self, depot: Depot) -> None:
        """``depot`` (opened on `url`) given the day's manifest, each van's morning so far, and live unit
        assignments; its live tracker carries on from the mornings."""
        from sqlalchemy import update

        from fleet_desk.ingest.pipeline import import_log
        from fleet_desk.store.models import OrderEvent
        from fleet_desk.store.units import assign_unit
        from fleet_desk.tracking.manifest import read_manifest
        from fleet_desk.tracking.routes import store_manifest

        engine, rules = depot.engine, depot.rules
        manifest = self.directory / "manifest.csv"
        manifest.write_text(rows_to_csv([row for day in self.days for row in day.rows]), encoding="utf-8")
        store_manifest(engine, depot.tracker, read_manifest(manifest, tz=rules.timezone), rules)
        with engine.begin() as conn:  # the manifest came in before the first van left, not when the demo began
            conn.execute(update(OrderEvent).where(OrderEvent.type == "confirmed", OrderEvent.source == "manifest")
                         .values(time_ms=self.manifest_ms))
        for i, (day, elapsed, pty) in enumerate(zip(self.days, self.elapsed_s, self.ptys, strict=True)):
            unit = f"unit-{i + 1:02d}"
            log = self.directory / f"{unit}-so-far.nmea"
            log.write_bytes(render_day(day, elapsed, clock_offset_s=elapsed))
            import_log(engine, depot.tracker, log, unit, day.vehicle, source="dock")
            assign_unit(engine, unit, pty.path, day.vehicle, baud=DEMO_BAUD, live=True, desk=depot.desk)

    def start(self) -> None:
        """Start the demo tracking endpoint and the thread feeding the vans' units."""
        self.tracking.start()
        self._feeder.start()

    def stop(self) -> None:
        """Stop feeding the units, stop the endpoint, close the units' ports and remove the demo's files."""
        self._stop.set()
        self.tracking.stop()
        if self._feeder.is_alive():
            self._feeder.join(3)
        for pty in self.ptys:
            pty.close()
        self._tmp.cleanup()
