"""The built-in demo fleet: a throwaway depot database, a day's routes and simulated vans driving them.

Each van's GPS is a simulated unit behind a real pseudo-terminal, attached
as a live unit exactly as a dispatcher would attach a real one, so the demo
exercises the same serial driver, decoder, store, tracking and views as a
real depot. The vans are already some way into their day: what they did
before the demo started is imported as a docked unit's log would be (it
fills in history and tells no customer), then they carry on live. A few
have trouble: a late departure, slow traffic, a long stop.
"""

from __future__ import annotations

import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fleet_desk.sim.day import DayTrouble, SimulatedDay, render_day, rows_to_csv, simulate_day
from fleet_desk.sim.endpoint import DemoEndpoint
from fleet_desk.sim.vans import DEPOT, PtyUnit, run

if TYPE_CHECKING:
    from fleet_desk.depot import Depot

DEMO_BAUD = 4800
STOPS = 14
WINDOW_MINUTES = 60


def demo_trouble(index: int) -> DayTrouble:
    """Deliberate delays, so the demo shows what late looks like and why."""
    trouble = DayTrouble(noise_m=2.0)
    if index == 2:
        trouble.late_departure_s = 40 * 60  # still at the depot, its first customers will wait
    elif index == 4:
        trouble.slow_legs = {leg: 0.45 for leg in range(2, 7)}  # stuck in traffic
    elif index == 7:
        trouble.long_stops = {3: 30 * 60}  # a stop that takes half an hour
    return trouble


class DemoFleet:
    """Creates the demo depot and feeds its units until `stop`."""

    def __init__(self, vehicles: int = 12, seed: int = 1, now: datetime | None = None):
        self._tmp = tempfile.TemporaryDirectory(prefix="fleet-desk-demo-")
        self.directory = Path(self._tmp.name)
        self.url = f"sqlite:///{self.directory / 'demo.db'}"
        self.depot = DEPOT
        now = now or datetime.now(UTC)
        self.days: list[SimulatedDay] = []
        self.elapsed_s: list[int] = []
        for i in range(vehicles):
            elapsed = 20 * 60 + (i * 7 % 12) * 5 * 60  # 20 to 75 minutes into the day
            day = simulate_day(i, now - timedelta(seconds=elapsed), stops=STOPS, seed=seed,
                               trouble=demo_trouble(i), window_minutes=WINDOW_MINUTES)
            day.unit.head_start_s += elapsed  # carry on live from where the day is now
            self.days.append(day)
            self.elapsed_s.append(elapsed)
        self.ptys = [PtyUnit(day.unit, DEMO_BAUD) for day in self.days]
        self._stop = threading.Event()
        self._feeder = threading.Thread(target=run, args=(self.ptys,), kwargs={"stop": self._stop},
                                        name="demo-simulator", daemon=True)
        self.tracking = DemoEndpoint()  # its customer notices go here, never to a real endpoint

    def prepare(self, depot: Depot) -> None:
        """``depot`` (opened on `url`) given the day's manifest, each van's morning so far, and live unit
        assignments; its live tracker carries on from the mornings."""
        from fleet_desk.ingest.pipeline import import_log
        from fleet_desk.store.units import assign_unit
        from fleet_desk.tracking.manifest import read_manifest
        from fleet_desk.tracking.routes import store_manifest

        engine, rules = depot.engine, depot.rules
        manifest = self.directory / "manifest.csv"
        manifest.write_text(rows_to_csv([row for day in self.days for row in day.rows]), encoding="utf-8")
        store_manifest(engine, depot.tracker, read_manifest(manifest, tz=rules.timezone), rules)
        for i, (day, elapsed, pty) in enumerate(zip(self.days, self.elapsed_s, self.ptys, strict=True)):
            unit = f"unit-{i + 1:02d}"
            log = self.directory / f"{unit}-so-far.nmea"
            log.write_bytes(render_day(day, elapsed, clock_offset_s=elapsed))
            import_log(engine, depot.tracker, log, unit, day.vehicle, source="dock")
            assign_unit(engine, unit, pty.path, day.vehicle, baud=DEMO_BAUD, live=True)

    def start(self) -> None:
        self.tracking.start()
        self._feeder.start()

    def stop(self) -> None:
        self._stop.set()
        self.tracking.stop()
        if self._feeder.is_alive():
            self._feeder.join(3)
        for pty in self.ptys:
            pty.close()
        self._tmp.cleanup()
