"""Predicted arrival at every remaining stop, with a window that says how sure we are.

Travel between stops comes in as seconds per leg: on the road map
(`fleet_desk.tracking.travel`), or here, with no road map, the straight-line
distance times a circuity at the speed the vehicle has been making lately
(blended with the default until there is enough driving to learn from). Each
earlier stop adds its service time, and a window that has not opened yet
adds waiting. The same function plans a route from its planned start, so
plan and prediction are comparable.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from fleet_desk.tracking.geo import distance_m, near_distance_m
from fleet_desk.tracking.rules import TrackingRules

LEARN_WINDOW_S = 20 * 60  # speed is learned from the last 20 minutes of driving
LEARN_FULL_S = 10 * 60  # this much driving and the learned speed counts fully
MIN_SPEED_MPS = 2.0
MAX_SPEED_MPS = 30.0


class StopPlan(NamedTuple):
    """A stop still to come, as `predict` needs it: where it is, its window and its service time."""

    stop_id: int
    lat: float
    lon: float
    window_start_ms: int
    window_end_ms: int
    service_s: float


@dataclass(frozen=True, slots=True)
class EtaWindow:
    """A stop's predicted arrival: the expected time and the earliest-to-latest window around it, wider the
    further ahead and the older the position it was predicted from."""

    stop_id: int
    expected_ms: int
    earliest_ms: int
    latest_ms: int


def straight_legs_s(stops: Sequence[StopPlan], lat: float, lon: float, speed_mps: float,
                    circuity: float) -> list[float]:
    """Seconds to drive each leg (from (lat, lon) to the first stop, then stop to stop) with no road map: the
    straight line times the circuity, at ``speed_mps`` (kept within sane bounds)."""
    speed = min(MAX_SPEED_MPS, max(MIN_SPEED_MPS, speed_mps))
    here = (lat, lon)
    out = []
    for stop in stops:
        out.append(near_distance_m(here[0], here[1], stop.lat, stop.lon) * circuity / speed)
        here = (stop.lat, stop.lon)
    return out


class Spread:
    """How far either side of the expected time a stop's window reaches, for a prediction ``ahead_s`` ahead.

    Without history, a rule of thumb that widens with the time ahead (traffic is less certain the further
    out); calibrated, the 10th and 90th percentiles of the errors measured at that horizon (the ETA history
    has them), so that about 80% of arrivals fall inside the window promised. A stale position widens both.
    """

    #: Horizon buckets (seconds ahead, upper bounds) the calibration is kept by.
    HORIZONS = (600.0, 1800.0, 3600.0, 7200.0, float("inf"))

    def __init__(self, quantiles: dict[int, tuple[float, float]] | None = None) -> None:
        """``quantiles``: per bucket index, the (10th, 90th) percentile of arrival minus prediction, seconds."""
        self.quantiles = quantiles or {}

    @classmethod
    def bucket(cls, ahead_s: float) -> int:
        """The horizon bucket ``ahead_s`` falls in."""
        return bisect_right(cls.HORIZONS, ahead_s)

    def around(self, ahead_s: float, stale_s: float) -> tuple[float, float]:
        """(seconds before, seconds after) the expected time."""
        if self.quantiles:
            q = self.quantiles.get(bisect_right(self.HORIZONS, ahead_s))
            if q is not None:
                return max(60.0, -q[0]) + 0.5 * stale_s, max(120.0, q[1]) + stale_s
        return 60 + 0.05 * ahead_s + 0.5 * stale_s, 180 + 0.15 * ahead_s + stale_s


RULE_OF_THUMB = Spread()


def predict(
    stops: Sequence[StopPlan],
    legs_s: Sequence[float],
    start_ms: int,
    *,
    busy_s: float = 0.0,
    stale_s: float = 0.0,
    spread: Spread = RULE_OF_THUMB,
) -> list[EtaWindow]:
    """ETAs for ``stops`` in order, driving ``legs_s[i]`` seconds to stop i, leaving at ``start_ms`` after
    ``busy_s`` more at the current stop.

    Each earlier stop adds its service time, and a window that has not opened yet adds waiting. The window
    around each comes from ``spread``, wider with ``stale_s``, the age of the position used.
    """
    t = start_ms + busy_s * 1000
    out: list[EtaWindow] = []
    around = spread.around
    for stop, leg_s in zip(stops, legs_s, strict=True):
        t += leg_s * 1000
        arrive = t if t > stop.window_start_ms else stop.window_start_ms
        early, late = around((arrive - start_ms) / 1000, stale_s)
        out.append(EtaWindow(stop.stop_id, round(arrive / 1000) * 1000,
                             round(max(start_ms, arrive - early * 1000) / 1000) * 1000,
                             round((arrive + late * 1000) / 1000) * 1000))  # to the second: more is false precision
        t = arrive + stop.service_s * 1000
    return out


class SpeedLearner:
    """A vehicle's recent road speed while driving (stops at deliveries excluded)."""

    def __init__(self, rules: TrackingRules) -> None:
        self.rules = rules
        self._legs: deque[tuple[int, float, float]] = deque()  # (end ms, metres, seconds)
        self._last: tuple[int, float, float] | None = None
        self._metres = 0.0
        self._seconds = 0.0

    def feed(self, time_ms: int, lat: float, lon: float, at_stop: bool) -> None:
        """Take the vehicle's next fix; time at a delivery stop is left out, and so is a gap of over two minutes."""
        last, self._last = self._last, (time_ms, lat, lon)
        if last is None or at_stop or time_ms <= last[0]:
            return
        dt = (time_ms - last[0]) / 1000
        if dt > 120:  # a dropout: the path between is unknown
            return
        # Standing in traffic counts too: it is part of getting from one stop to the next.
        metres = distance_m(last[1], last[2], lat, lon)
        self._legs.append((time_ms, metres, dt))
        self._metres += metres
        self._seconds += dt
        while self._legs and self._legs[0][0] < time_ms - LEARN_WINDOW_S * 1000:
            _, m, s = self._legs.popleft()
            self._metres -= m
            self._seconds -= s

    @property
    def speed_mps(self) -> float:
        """Road speed for ETAs: learned, blended with the default while there is little to learn from."""
        default = self.rules.default_speed_mps
        if self._seconds <= 0:
            return default
        learned = self._metres / self._seconds
        weight = min(1.0, self._seconds / LEARN_FULL_S)
        return weight * learned + (1 - weight) * default
