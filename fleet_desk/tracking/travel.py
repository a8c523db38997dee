"""Driving time for every leg still ahead of a van: on the road map when there is one, else the straight line.

On the road map, the legs between the remaining stops are asked once per
sequence (one request, cached by their end points) and the leg the van is
driving is followed along its street path (asked again only when the van
strays from it or heads for another stop). Free-flow times are multiplied by
a traffic factor: the van's own of late, blended with the fleet's for this
hour of day learned from history. A leg the map cannot route falls back to
the straight line, and is counted.

Live, road requests run on one background thread: until an answer is in,
the straight line stands in, so a slow or failing routing call never holds
up storing fixes. A replay asks and waits, so it comes out the same each run.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fleet_desk.tracking.eta import StopPlan, straight_legs_s
from fleet_desk.tracking.follow import Follower
from fleet_desk.tracking.geo import near_distance_m
from fleet_desk.tracking.learned import Learned
from fleet_desk.tracking.roads import Leg, Path, Point, RoadMap

log = logging.getLogger(__name__)

STRAIGHT_LINE = "straight line"
ASKING: Any = float("nan")  # a leg the map has been asked for and not answered yet (not counted as straight)
RETRY_M = 300.0  # a leg the map could not route is asked again once the van is this far on
FIRST_PATH_M = 300.0  # a path begun this near a leg's start stands for the leg
MAX_CACHED = 100_000  # legs or paths kept (a depot's stop pairs over a long run; cleared when exceeded)
_ASKING = object()  # a path request is on its way


@dataclass(frozen=True, slots=True)
class Travel:
    """Seconds for each leg ahead, and what they rest on."""

    legs_s: list[float]
    basis: str  # "roads (Helsinki)" or "straight line"
    straight: int | None  # legs the road map could not route (None: no road map)
    traffic: float | None  # the factor applied to free-flow times (None: no road map)


def _key(p: Point) -> Point:
    return round(p[0], 5), round(p[1], 5)


class RoadTimes:
    """The road map as tracking uses it, with its caches; one per tracker."""

    def __init__(self, road_map: RoadMap | None, background: bool) -> None:
        """``background``: ask the map on a thread of its own (live); else ask and wait (a replay)."""
        self.road_map = road_map
        self.background = background
        self._legs: dict[tuple[Point, Point], Leg | None] = {}
        self._pairs: dict[tuple[int, ...], list[tuple[Point, Point]]] = {}  # a stop sequence's legs, by stop ids
        self._paths: dict[tuple[Point, Point], object] = {}  # Path, None (cannot route) or _ASKING
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[str, tuple[Point, ...]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._asking: set[tuple[str, tuple[Point, ...]]] = set()
        self.failures = 0

    @property
    def basis(self) -> str:
        """What ETAs rest on, as users read it."""
        return f"roads ({self.road_map.name})" if self.road_map is not None else STRAIGHT_LINE

    def close(self) -> None:
        """Stop the background thread (it finishes the request in hand)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=10)

    # -- the estimate ------------------------------------------------------------------------------------

    def travel(self, follower: Follower, here: Point, t_ms: int, stops: Sequence[StopPlan], speed_mps: float,
               circuity: float, learned: Learned, hour: int, driving: bool) -> Travel:
        """Seconds to each of ``stops`` in turn from ``here`` (the van's position at ``t_ms``)."""
        if self.road_map is None:
            return Travel(straight_legs_s(stops, here[0], here[1], speed_mps, circuity), self.basis, None, None)
        if not stops:
            return Travel([], self.basis, 0, None)
        points = [(s.lat, s.lon) for s in stops]
        first = _key(points[0])
        free: list[float | None] = [self._current_leg(follower, here, first, t_ms, driving)]
        free += self._between(stops)
        factor = follower.traffic(learned.traffic_at(hour))
        legs_s = [0.0 if leg is None or leg is ASKING else leg * factor for leg in free]
        fallback = 0
        for i, leg in enumerate(free):
            if leg is None or leg is ASKING:  # the map cannot route it, or has not answered yet: straight line
                fallback += leg is None
                start = here if i == 0 else points[i - 1]
                legs_s[i] = straight_legs_s(stops[i:i + 1], start[0], start[1], speed_mps, circuity)[0]
        return Travel(legs_s, self.basis, fallback, round(factor, 2))

    def _current_leg(self, follower: Follower, here: Point, target: Point, t_ms: int, driving: bool) -> float | None:
        """Free-flow seconds left of the leg being driven; None when the map cannot route it, `ASKING` while
        it is being asked."""
        left = follower.remaining_s(here, target, t_ms, driving)
        if left is not None:
            return left
        start = _key(here)
        if follower.asked is not None and follower.asked[1] == target:
            got = self._paths.get(follower.asked)
            if isinstance(got, Path):  # the path asked for came in: follow it from here
                follower.follow(got, target)
                self._paths.pop(follower.asked, None)
                left = follower.remaining_s(here, target, t_ms, driving)
                if left is not None:
                    return left
            elif got is _ASKING:
                return ASKING
        if (follower.asked is not None and follower.asked[1] == target and follower.asked in self._paths
                and self._paths[follower.asked] is None
                and near_distance_m(*follower.asked[0], *start) < RETRY_M):
            return None  # the map cannot route from about here: not asked again until the van has moved on
        follower.asked = (start, target)
        if len(self._paths) > MAX_CACHED:
            self._paths.clear()
        path = self._path(start, target)
        if isinstance(path, Path):
            follower.follow(path, target)
            self._paths.pop((start, target), None)
            return follower.remaining_s(here, target, t_ms, driving)
        return ASKING if path is _ASKING else None

    def _between(self, stops: Sequence[StopPlan]) -> list[float | None]:
        """Free-flow seconds of each leg from one stop to the next (`ASKING` while asked, None when the map
        cannot route it); the whole sequence is asked in one request when any leg is missing."""
        ids = tuple(s.stop_id for s in stops)
        pairs = self._pairs.get(ids)
        if pairs is None:
            if len(self._pairs) > MAX_CACHED:
                self._pairs.clear()
            keys = [_key((s.lat, s.lon)) for s in stops]
            pairs = self._pairs[ids] = list(zip(keys, keys[1:], strict=False))
        legs = self._legs
        if any(pair not in legs for pair in pairs):
            if len(legs) > MAX_CACHED:
                legs.clear()
            self._ask("legs", (pairs[0][0], *(b for _, b in pairs)))  # a replay waits for the answer
        out: list[float | None] = []
        for pair in pairs:
            leg = legs.get(pair, ASKING)
            out.append(leg if leg is ASKING or leg is None else leg.seconds)
        return out

    def leg_free_s(self, follower: Follower, start: Point, end: Point) -> float | None:
        """The map's free-flow seconds from ``start`` to ``end`` if already known (a driven leg's record): the
        leg between two stops, or the first path the van followed to ``end`` if it began near ``start``."""
        leg = self._legs.get((_key(start), _key(end)))
        if leg is not None:
            return leg.seconds
        first = follower.first.get(_key(end))
        if first is not None and near_distance_m(*first[0], *start) <= FIRST_PATH_M:
            return first[1]
        return None

    # -- asking the map ----------------------------------------------------------------------------------

    def _path(self, start: Point, target: Point) -> object:
        key = (start, target)
        if key not in self._paths:
            self._ask("path", key)
        return self._paths.get(key)

    def _ask(self, kind: str, points: tuple[Point, ...]) -> None:
        if not self.background:
            self._answer(kind, points)
            return
        with self._lock:
            if (kind, points) in self._asking:
                return
            self._asking.add((kind, points))
            if kind == "path":
                self._paths[(points[0], points[1])] = _ASKING
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="road-map", daemon=True)
                self._thread.start()
        self._queue.put((kind, points))

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            self._answer(*job)
            with self._lock:
                self._asking.discard(job)

    def _answer(self, kind: str, points: tuple[Point, ...]) -> None:
        road_map = self.road_map
        if road_map is None:
            return
        try:
            if kind == "path":
                self._paths[(points[0], points[1])] = road_map.path(points[0], points[1])
            else:
                legs = road_map.legs(points)
                for pair, leg in zip(zip(points, points[1:], strict=False), legs, strict=True):
                    self._legs[pair] = leg
        except Exception as exc:  # a routing call that fails: the straight line stands in; said once per kind
            self.failures += 1
            if self.failures == 1:
                log.warning("the road map could not answer (%s); ETAs use the straight line for those legs", exc)
            if kind == "path":
                self._paths[(points[0], points[1])] = None
            else:
                for pair in zip(points, points[1:], strict=False):
                    self._legs.setdefault(pair, None)
