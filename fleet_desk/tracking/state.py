"""What the tracker knows of a vehicle's day between two fixes: its route, the route's stops, where it was.

Typed and shared: the tracker changes it fix by fix, `fleet_desk.tracking.delay`
reads it to say why a stop runs late, `fleet_desk.tracking.state_sql` reads it
from and writes it to the database. A stop's changes mark it dirty, so only
what changed is written back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fleet_desk.tracking.arrival import ArrivalDetector, StopZone
from fleet_desk.tracking.eta import EtaWindow, SpeedLearner, StopPlan
from fleet_desk.tracking.follow import Follower

#: Stop statuses a vehicle can still arrive at or leave.
OPEN = ("pending", "arrived")


@dataclass(frozen=True, slots=True)
class StopOrder:
    """Whose delivery a stop is: what a notice about it names."""

    order_id: str
    tracking_number: str
    customer_name: str
    phone: str | None
    email: str | None


@dataclass(slots=True, eq=False)
class StopState:
    """One stop as tracking sees it: its plan, and the progress columns it writes back (`dirty` once changed)."""

    id: int
    sequence: int
    plan: StopPlan
    radius_m: float
    planned_ms: int | None
    order: StopOrder
    status: str
    arrived_ms: int | None = None
    departed_ms: int | None = None
    eta_ms: int | None = None
    eta_earliest_ms: int | None = None
    eta_latest_ms: int | None = None
    eta_at_ms: int | None = None
    late: bool = False
    delay_minutes: int | None = None
    delay_reason: str | None = None
    told_eta_ms: int | None = None  # the ETA the customer was last told, and when
    told_at_ms: int | None = None
    told: set[str] = field(default_factory=set)  # once-only milestones already recorded for the stop
    service_basis: str | None = None  # where plan.service_s comes from ("this address", ...)
    dirty: bool = False
    route: RouteState | None = field(default=None, repr=False)  # the route it belongs to

    def arrive(self, time_ms: int) -> None:
        """The van reached the stop."""
        self.status, self.arrived_ms, self.dirty = "arrived", time_ms, True

    def deliver(self, time_ms: int) -> None:
        """Left the stop: delivered, and no longer late whatever was predicted."""
        self.status, self.departed_ms, self.late, self.dirty = "delivered", time_ms, False, True

    def predict(self, eta: EtaWindow, at_ms: int) -> None:
        """The stop's ETA window, predicted at ``at_ms``."""
        self.eta_ms, self.eta_earliest_ms, self.eta_latest_ms = eta.expected_ms, eta.earliest_ms, eta.latest_ms
        self.eta_at_ms, self.dirty = at_ms, True

    def tell_eta(self, eta_ms: int, at_ms: int) -> None:
        """The customer was told this ETA now."""
        if self.told_eta_ms != eta_ms or self.told_at_ms != at_ms:
            self.told_eta_ms, self.told_at_ms, self.dirty = eta_ms, at_ms, True

    def run_late(self, minutes: int, reason: str | None) -> None:
        """The stop runs late by ``minutes``, for ``reason`` if one is known."""
        if not self.late or self.delay_minutes != minutes or self.delay_reason != reason:
            self.late, self.delay_minutes, self.delay_reason, self.dirty = True, minutes, reason, True

    def back_on_time(self) -> None:
        """The stop is no longer late."""
        self.late, self.delay_minutes, self.delay_reason, self.dirty = False, None, None, True


@dataclass(slots=True, eq=False)
class RouteState:
    """A vehicle's route in play, with its stops in sequence (`dirty` once its own columns changed)."""

    id: int
    service_date: str
    planned_start_ms: int | None
    departed_ms: int | None
    status: str
    stops: list[StopState]
    silent_since_ms: int | None = None
    vehicle: str = ""  # the vehicle's name, for notices
    eta_basis: str | None = None  # what its ETAs rest on: "roads (Helsinki)", "straight line"
    straight_legs: int | None = None  # legs the road map could not route (None: no road map)
    dirty: bool = False
    _zones: list[StopZone] | None = field(default=None, init=False, repr=False)

    def zones(self) -> list[StopZone]:
        """The stops a vehicle can still arrive at or leave (cached until a visit changes a status)."""
        if self._zones is None:
            self._zones = [StopZone(s.id, s.plan.lat, s.plan.lon, s.radius_m) for s in self.stops if s.status in OPEN]
        return self._zones

    def rests_on(self, basis: str, straight_legs: int | None) -> None:
        """What its ETAs were just predicted on."""
        if self.eta_basis != basis or self.straight_legs != straight_legs:
            self.eta_basis, self.straight_legs, self.dirty = basis, straight_legs, True

    def visited(self) -> None:
        """A stop's status changed: its zone may be closed now."""
        self._zones = None


@dataclass(slots=True, eq=False)
class VehicleTrack:
    """One vehicle's tracking state across batches: arrivals in progress, learned speed, its route in play."""

    detector: ArrivalDetector
    learner: SpeedLearner
    follower: Follower = field(default_factory=Follower)  # along the road map's path of the leg it drives
    route: RouteState | None = None
    day_start: tuple[float, float] | None = None  # where the vehicle was first seen on its route's day
    last_fix: tuple[int, float, float] | None = None  # time (ms), lat, lon
    day: str | None = None  # the service day `route` was looked up for
    checked_at: float = float("-inf")  # when (monotonic)
    last_eta_ms: int = 0  # fix time of the last prediction
    last_eta_at: tuple[float, float] = (0.0, 0.0)  # and where the vehicle was
    leg_from: tuple[int, float, float] | None = None  # the leg being driven: left (ms, lat, lon)
    leg_driven_m: float = 0.0  # and metres driven since
