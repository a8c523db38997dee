"""Following a van along the street path of the leg it is driving: how much of the leg is left, in free-flow
seconds, and whether it has strayed from the path (then the leg is asked again).

Its progress along the path, against the clock, is also the van's own traffic
factor: real seconds over the free-flow seconds of the stretch it covered.
"""

from __future__ import annotations

import math
from collections import deque

from fleet_desk.tracking.geo import EARTH_RADIUS_M
from fleet_desk.tracking.roads import Path, Point

STRAY_M = 60.0  # further than this from the path: the van took another way
LOOK_AHEAD = 40  # path segments searched ahead of the last position before a full search
TRAFFIC_WINDOW_S = 20 * 60  # the van's own traffic is learned from its last 20 minutes of driving
TRAFFIC_FULL_S = 10 * 60  # this much free-flow driving and the van's own factor counts fully
MIN_FACTOR, MAX_FACTOR = 0.6, 4.0

_M_PER_DEG = math.pi / 180 * EARTH_RADIUS_M


class LegPath:
    """A leg's path to one stop, flattened around its start for quick projection."""

    def __init__(self, path: Path, target: Point) -> None:
        self.path, self.target = path, target
        self.total_s = path.seconds[-1] if path.seconds else 0.0
        lat0 = path.points[0][0] if path.points else target[0]
        self._kx = _M_PER_DEG * math.cos(math.radians(lat0))
        self._xy = [(lon * self._kx, lat * _M_PER_DEG) for lat, lon in path.points]
        self.index = 0  # the segment the van was last seen on

    def locate(self, here: Point) -> float | None:
        """Free-flow seconds driven along the path at ``here``; None when ``here`` is off the path."""
        xy = (here[1] * self._kx, here[0] * _M_PER_DEG)
        last = len(self._xy) - 1
        if last < 1:
            return None
        found = self._nearest(xy, self.index, min(last, self.index + LOOK_AHEAD))
        if found[0] > STRAY_M:
            found = self._nearest(xy, 0, last)
            if found[0] > STRAY_M:
                return None
        _, i, f = found
        self.index = i
        s = self.path.seconds
        return s[i] + f * (s[i + 1] - s[i])

    def _nearest(self, p: tuple[float, float], lo: int, hi: int) -> tuple[float, int, float]:
        best = (math.inf, lo, 0.0)
        px, py = p
        xy = self._xy
        for i in range(lo, hi):
            ax, ay = xy[i]
            bx, by = xy[i + 1]
            dx, dy = bx - ax, by - ay
            seg = dx * dx + dy * dy
            f = 0.0 if seg == 0 else min(1.0, max(0.0, ((px - ax) * dx + (py - ay) * dy) / seg))
            d = math.hypot(px - ax - f * dx, py - ay - f * dy)
            if d < best[0]:
                best = (d, i, f)
        return best


class Follower:
    """One van on the road map: the path of the leg it drives, and its own traffic factor."""

    def __init__(self) -> None:
        self.leg: LegPath | None = None
        self.asked: tuple[Point, Point] | None = None  # (from, to) of the path last asked for
        self.first: dict[Point, tuple[Point, float]] = {}  # per target: where its first path began, its time
        self._at: tuple[int, float] | None = None  # (fix ms, free-flow seconds driven) at the last look
        self._samples: deque[tuple[int, float, float]] = deque()  # (ms, real s, free-flow s)
        self._real = self._free = 0.0

    def remaining_s(self, here: Point, target: Point, t_ms: int, driving: bool) -> float | None:
        """Free-flow seconds left to ``target`` from ``here``, or None when the van needs a new path (none yet,
        another stop, or strayed from it). Feeds the van's traffic factor while ``driving``."""
        leg = self.leg
        if leg is None or leg.target != target:
            self._at = None
            return None
        done = leg.locate(here)
        if done is None:
            self._at = None
            return None
        if self._at is not None and driving and t_ms > self._at[0] and done >= self._at[1]:
            real = (t_ms - self._at[0]) / 1000
            if real <= 120:  # across a dropout the path between is unknown
                self._add(t_ms, real, done - self._at[1])
        self._at = (t_ms, done)
        return max(0.0, leg.total_s - done)

    def follow(self, path: Path, target: Point) -> None:
        """Drive this leg's path from now on."""
        self.leg, self._at = LegPath(path, target), None
        if target not in self.first and path.points:
            if len(self.first) > 1000:
                self.first.clear()
            self.first[target] = (path.points[0], self.leg.total_s)

    def _add(self, t_ms: int, real: float, free: float) -> None:
        self._samples.append((t_ms, real, free))
        self._real += real
        self._free += free
        while self._samples and self._samples[0][0] < t_ms - TRAFFIC_WINDOW_S * 1000:
            _, r, f = self._samples.popleft()
            self._real -= r
            self._free -= f

    def traffic(self, fleet: float | None) -> float:
        """Real over free-flow time for what is left: the van's own of late, blended with the fleet's for this
        hour (``fleet``; None: free flow) while the van has driven little."""
        prior = fleet if fleet is not None else 1.0
        if self._free < 60:
            return min(MAX_FACTOR, max(MIN_FACTOR, prior))
        own = self._real / self._free
        weight = min(1.0, self._free / TRAFFIC_FULL_S)
        return min(MAX_FACTOR, max(MIN_FACTOR, weight * own + (1 - weight) * prior))
