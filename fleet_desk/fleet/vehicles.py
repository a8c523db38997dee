"""The fleet as a dispatcher sees it: every vehicle, its unit, state and position.

The states and their thresholds live here, once, for the board, the map and
the CLI; `fleet_desk.fleet.watch` reads the rows from the store.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: No fix for this long: the vehicle is stale (its position may be out of date).
STALE_AFTER_S = 120
#: No fix for this long: the unit is offline.
OFFLINE_AFTER_S = 600
#: Faster than this (m/s, about 4 km/h) is moving; slower is stopped (GPS jitter).
MOVING_ABOVE_MPS = 1.2


class VehicleState(enum.Enum):
    """How a vehicle looks to a dispatcher at a glance, from its last fix's age and speed (`vehicle_state`
    decides, with the thresholds above); the fleet board and the map show the same states."""

    MOVING = "moving"
    STOPPED = "stopped"
    STALE = "stale"
    OFFLINE = "offline"
    NO_FIX = "no fix"


def vehicle_state(fix_time_ms: int | None, speed_mps: float | None, now_ms: int,
                  unit_without_fix: bool = False) -> VehicleState:
    """State from the last fix's age and speed, with the board's thresholds.

    ``unit_without_fix``: the vehicle's unit is connected but reports no fix
    (or no data); once the last fix is stale that says more than "stale".
    """
    if fix_time_ms is None:
        return VehicleState.NO_FIX
    age_s = (now_ms - fix_time_ms) / 1000
    if unit_without_fix and age_s > STALE_AFTER_S:
        return VehicleState.NO_FIX
    if age_s > OFFLINE_AFTER_S:
        return VehicleState.OFFLINE
    if age_s > STALE_AFTER_S:
        return VehicleState.STALE
    if speed_mps is not None and speed_mps > MOVING_ABOVE_MPS:
        return VehicleState.MOVING
    return VehicleState.STOPPED


@dataclass(frozen=True, slots=True)
class FleetVehicle:
    """One row of the fleet board: a vehicle and where it was last seen."""

    vehicle_id: int
    vehicle: str
    driver: str | None
    unit: str | None
    fix_time_ms: int | None
    lat: float | None
    lon: float | None
    speed_mps: float | None
    course_deg: float | None
