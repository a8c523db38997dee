"""The built-in demo fleet: a throwaway depot database and simulated vans.

Each van's GPS is a simulated unit behind a real pseudo-terminal, attached
as a live unit exactly as a dispatcher would attach a real one, so the demo
exercises the same serial driver, decoder, store and views as a real depot.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

from fleet_desk.simulator import DEPOT, PtyUnit, SimulatedUnit, Trouble, run

DRIVERS = (
    "Anna Keller", "Élodie Martin", "Karim Benali", "Jonas Weber", "Sofia Rossi", "Luc Bernard",
    "Chloé Petit", "Mehdi Haddad", "Nina Novak", "Hugo Lefèvre", "Inès Moreau", "Tomás García",
)
DEMO_BAUD = 4800
HEAD_START_S = 420.0  # vans are spread along their rounds, not all leaving the depot at once


class DemoFleet:
    """Creates the demo depot and feeds its units until `stop`."""

    def __init__(self, vehicles: int = 12, seed: int = 1, trouble: Trouble | None = None):
        self._tmp = tempfile.TemporaryDirectory(prefix="fleet-desk-demo-")
        self.directory = Path(self._tmp.name)
        self.url = f"sqlite:///{self.directory / 'demo.db'}"
        self.depot = DEPOT
        self.ptys = [
            PtyUnit(SimulatedUnit(i, seed, trouble=trouble, head_start_s=i * HEAD_START_S), DEMO_BAUD)
            for i in range(vehicles)
        ]
        self._stop = threading.Event()
        self._feeder = threading.Thread(target=run, args=(self.ptys,), kwargs={"stop": self._stop},
                                        name="demo-simulator", daemon=True)

    def prepare(self) -> None:
        """Create the database, the vans, their drivers and live unit assignments."""
        from fleet_desk.store import open_database
        from fleet_desk.store.registry import ensure_driver
        from fleet_desk.store.units import assign_unit

        engine = open_database(self.url)
        try:
            for i, pty in enumerate(self.ptys):
                van = f"Van {i + 1}"
                assign_unit(engine, f"unit-{i + 1:02d}", pty.path, van, baud=DEMO_BAUD, live=True)
                ensure_driver(engine, DRIVERS[i % len(DRIVERS)] + ("" if i < len(DRIVERS) else f" {i + 1}"), van)
        finally:
            engine.dispose()

    def start(self) -> None:
        self._feeder.start()

    def stop(self) -> None:
        self._stop.set()
        if self._feeder.is_alive():
            self._feeder.join(3)
        for pty in self.ptys:
            pty.close()
        self._tmp.cleanup()
