"""The window's view of the core: live units and the fleet, as Qt signals.

Owns the `LiveIngest` (reader threads and the ingest thread) and the
`FleetWatch` (a thread that reads the fleet when the database's changes say a
vehicle moved, on this desk or another); their callbacks arrive on those
threads and become signals, which Qt delivers on the GUI thread.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from sqlalchemy import Engine

from drivers.base import UnitState, UnitStatus
from fleet_desk import messages
from fleet_desk.fleet.watch import FleetWatch
from fleet_desk.gps import DecodeStats
from fleet_desk.ingest.live import LiveIngest
from fleet_desk.store import DeviceRef
from fleet_desk.store.changes import ChangeListener
from fleet_desk.store.units import UnitAssignment, assign_unit, live_units, set_live
from fleet_desk.tracking.tracker import RouteTracker
from fleet_desk.ui.tasks import run_in_background

log = logging.getLogger(__name__)


class FleetFeed(QObject):
    """Live units and the fleet for the window, as signals delivered on the GUI thread.

    ``fleetChanged`` carries the vehicles whose row changed and those removed, ``unitStatusChanged`` each
    unit's status, ``fixesStored`` each batch's size, ``unitsChanged`` a unit attached, started or stopped.
    It also tells the user when a unit is unplugged and when it is back.
    """

    fleetChanged = Signal(list, list)  # changed FleetVehicle rows, removed vehicle ids
    unitStatusChanged = Signal(str, object)  # unit name, UnitStatus
    fixesStored = Signal(int)
    unitsChanged = Signal()  # a unit was attached, started or stopped

    def __init__(self, engine: Engine, tracker: RouteTracker, parent: QObject | None = None,
                 changes: ChangeListener | None = None) -> None:
        """``tracker``: the depot's live tracker, which the live units' fixes go through; ``changes``: the
        window's change listener, which wakes the fleet watch (without one it polls every second)."""
        super().__init__(parent)
        self.engine = engine
        self.live = LiveIngest(engine, tracker, on_fixes=self._on_fixes, on_status=self._on_status,
                               on_error=messages.warning)
        self.watch = FleetWatch(engine, on_change=self.fleetChanged.emit, on_error=messages.error, changes=changes)
        self._statuses: dict[str, UnitStatus] = {}
        self._stopped = False

    def start(self, read_only: bool = False) -> None:
        """Start watching the fleet and every unit assigned as live (read in the background); on a database
        that cannot be written, only watch what it holds."""
        self.watch.start()
        if not read_only:
            self.live.start()
            run_in_background(lambda: live_units(self.engine), self._start_units)

    def _start_units(self, units: list[UnitAssignment]) -> None:
        for unit in units:
            self._add(unit.port, unit.device, unit.vehicle, unit.baud)

    def _add(self, port: str, device: str, vehicle: str | None, baud: int | None) -> None:
        def add() -> DeviceRef | None:
            if self._stopped:  # the window closed while this was queued
                return None
            return self.live.add_unit(port, device, vehicle, baud)

        run_in_background(add, lambda _ref: self._changed(), owner=self)

    def _changed(self) -> None:
        self.watch.poll_now()
        self.unitsChanged.emit()

    def attach(self, device: str, port: str, vehicle: str | None, baud: int | None, live: bool = True) -> None:
        """Save the assignment and, if ``live``, (re)start reading the unit."""
        self._stop_reading(device)

        def save() -> None:
            assign_unit(self.engine, device, port, vehicle, baud, live, desk=self.desk)

        def saved(_result: object) -> None:
            if live:
                self._add(port, device, vehicle, baud)
            else:
                self._changed()

        run_in_background(save, saved, owner=self)

    def stop_unit(self, device: str) -> None:
        """Stop reading a unit now and at start-up; its assignment stays."""
        self._stop_reading(device)
        run_in_background(lambda: set_live(self.engine, device, False, desk=self.desk), lambda _r: self._changed(),
                          owner=self)

    def _stop_reading(self, device: str) -> None:
        for ref, unit, _rate in self.live.units():
            if ref.name == device:
                self.live.remove_unit(unit.port)

    @property
    def desk(self) -> str:
        """This desk's name: the one its live units are claimed with (the tracker's, the depot's)."""
        return self.live.desk

    def running_units(self) -> dict[str, tuple[str, UnitStatus, float]]:
        """Unit name -> (port, status, fixes per second) for the units being read."""
        return {ref.name: (unit.port, unit.status, rate) for ref, unit, rate in self.live.units()}

    def decode_stats(self, port: str) -> DecodeStats | None:
        """What decoding the unit read on ``port`` counted (the sentences it refused among them); None: none."""
        return self.live.decode_stats(port)

    def connected_count(self) -> tuple[int, int]:
        units = self.live.units()
        up = sum(1 for _ref, unit, _rate in units
                 if unit.status.state not in (UnitState.DISCONNECTED, UnitState.CONNECTING))
        return up, len(units)

    def fixes_per_second(self) -> float:
        return sum(rate for _ref, _unit, rate in self.live.units())

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.watch.stop()
        self.live.stop()

    # Callbacks from core threads
    def _on_fixes(self, _device: DeviceRef, fixes: list) -> None:
        self.fixesStored.emit(len(fixes))
        self.watch.poll_now()

    def _on_status(self, device: DeviceRef, status: UnitStatus) -> None:
        previous = self._statuses.get(device.name)
        self._statuses[device.name] = status
        if self._stopped or status.message == "stopped":
            pass
        elif status.state is UnitState.DISCONNECTED and (previous is None
                                                         or previous.state is not UnitState.DISCONNECTED):
            who = f"{device.name} ({device.vehicle_name})" if device.vehicle_name else device.name
            messages.warning(f"GPS unit {who} is unplugged or cannot be opened on {status.port}: {status.message}. "
                             "Plug it back in; Fleet Desk reconnects by itself.")
        elif (status.state in (UnitState.NO_FIX, UnitState.FIX) and previous is not None
              and previous.state is UnitState.DISCONNECTED and previous.message != "stopped"):
            messages.info(f"GPS unit {device.name} is back on {status.port}.")
        self.unitStatusChanged.emit(device.name, status)
