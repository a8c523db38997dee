"""Stop arrivals and departures from a vehicle's fixes.

A vehicle has arrived at a stop when it has been within the stop's radius,
slow or stopped, for the dwell time; it departs when it is clearly outside
again (radius plus a margin, so GPS jitter at the edge does not flap).
Driving past does not count; two stops at one address both arrive; any
open stop of the route can be arrived at, in or out of sequence; and a GPS
dropout during a stop still counts when the vehicle was last seen stopping
there and reappears elsewhere after more than the dwell time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fleet_desk.tracking.geo import near_distance_m
from fleet_desk.tracking.rules import SLOW_MPS, TrackingRules


@dataclass(frozen=True, slots=True)
class StopZone:
    """A stop as arrival sees it: a circle of ``radius_m`` around its position (the manifest may widen it for
    a big site)."""

    stop_id: int
    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class Visit:
    """An arrival or a departure, at the time it happened (not when it was noticed)."""

    kind: str  # "arrived" or "departed"
    stop_id: int
    time_ms: int


@dataclass(slots=True)
class _Approach:
    since_ms: int  # first slow fix inside the radius
    last_ms: int  # last fix inside the radius


@dataclass
class ArrivalDetector:
    """One vehicle's arrival state; feed it every fix in time order."""

    rules: TrackingRules
    at_stop: set[int] = field(default_factory=set)  # arrived, not yet departed
    _approach: dict[int, _Approach] = field(default_factory=dict)
    last_ms: int | None = None

    def feed(self, time_ms: int, lat: float, lon: float, speed_mps: float | None,
             zones: list[StopZone]) -> list[Visit]:
        """The visits this fix completes. ``zones``: the route's stops not yet departed."""
        if self.last_ms is not None and time_ms <= self.last_ms:
            return []  # seen already (a re-sent batch)
        self.last_ms = time_ms
        slow = speed_mps is None or speed_mps < SLOW_MPS
        visits: list[Visit] = []
        for zone in zones:
            d = near_distance_m(lat, lon, zone.lat, zone.lon)
            inside = d <= zone.radius_m
            outside = d > zone.radius_m + self.rules.exit_margin_m
            if zone.stop_id in self.at_stop:
                if outside:
                    self.at_stop.discard(zone.stop_id)
                    visits.append(Visit("departed", zone.stop_id, time_ms))
                continue
            approach = self._approach.get(zone.stop_id)
            if approach is not None and time_ms - approach.last_ms > self.rules.dwell_s * 1000:
                # Last seen stopping here, then silent for longer than the dwell: that was a stop.
                del self._approach[zone.stop_id]
                visits.append(Visit("arrived", zone.stop_id, approach.since_ms))
                if outside:
                    visits.append(Visit("departed", zone.stop_id, time_ms))
                else:
                    self.at_stop.add(zone.stop_id)
                continue
            if inside and slow:
                if approach is None:
                    approach = self._approach[zone.stop_id] = _Approach(time_ms, time_ms)
                approach.last_ms = time_ms
                if time_ms - approach.since_ms >= self.rules.dwell_s * 1000:
                    del self._approach[zone.stop_id]
                    self.at_stop.add(zone.stop_id)
                    visits.append(Visit("arrived", zone.stop_id, approach.since_ms))
            elif inside or outside:  # driving through, or gone
                self._approach.pop(zone.stop_id, None)
        return visits

    def forget(self, stop_id: int) -> None:
        """A dispatcher closed or moved the stop."""
        self.at_stop.discard(stop_id)
        self._approach.pop(stop_id, None)
