"""A GPS simulator: delivery vans driving rounds from a depot, as NMEA.

Each simulated unit emits RMC+GGA+VTG+GSA once a second and GSV now and
then, with plausible satellite counts and HDOP, optional position noise,
dropouts and corrupted checksums. Units can be written to pseudo-terminals
(so the app reads them exactly as it reads real serial ports), to a given
port, or rendered straight to bytes for tests and benchmarks.
"""

from __future__ import annotations

import bisect
import errno
import math
import os
import random
import termios
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from drivers.framing import sentence
from fleet_desk.tracking import geo

DEPOT = (45.7485, 4.8467)  # a depot on the edge of a city
EARTH_M = 6_371_000.0
_BAUD_CONST = {getattr(termios, f"B{b}"): b for b in (4800, 9600, 19200, 38400, 57600, 115200, 230400)}


def _lat(v: float) -> tuple[str, str]:
    a = abs(v)
    d = int(a)
    return f"{d:02d}{(a - d) * 60:09.6f}", "N" if v >= 0 else "S"


def _lon(v: float) -> tuple[str, str]:
    a = abs(v)
    d = int(a)
    return f"{d:03d}{(a - d) * 60:09.6f}", "E" if v >= 0 else "W"


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point ``north_m`` and ``east_m`` away from (lat, lon), on a flat Earth: close enough across the
    city a simulated round stays in."""
    dlat = math.degrees(north_m / EARTH_M)
    dlon = math.degrees(east_m / (EARTH_M * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Metres between two (lat, lon) points, measured as tracking measures them, so simulated legs and
    tracked legs agree."""
    return geo.distance_m(*a, *b)


def bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The initial course from ``a`` to ``b`` in degrees clockwise from north: the heading a simulated van
    reports on that leg."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    y = math.sin(lo2 - lo1) * math.cos(la2)
    x = math.cos(la1) * math.sin(la2) - math.sin(la1) * math.cos(la2) * math.cos(lo2 - lo1)
    return math.degrees(math.atan2(y, x)) % 360


@dataclass(slots=True)
class Trouble:
    """Realistic imperfections to mix in."""

    noise_m: float = 0.0  # 1-sigma position noise
    dropout_rate: float = 0.0  # chance per second of a silent stretch starting
    bad_checksum_rate: float = 0.0  # share of epochs with one corrupted sentence


_ROUND_FIELDS = frozenset({"waypoints", "dwell", "leg_speed", "leg_seconds", "cruise", "round_trip"})


class _Timeline:
    """A round worked out once: when the van leaves each waypoint, how long each leg takes, at what speed
    and course; ``cycle``: a whole round with its stops, after which a round-trip van starts again."""

    def __init__(self, unit: SimulatedUnit) -> None:
        pts, dwell, factor, fixed = unit.waypoints, unit.dwell, unit.leg_speed, unit.leg_seconds
        self.leaves: list[float] = []
        self.legs: list[float] = []
        self.speeds: list[float] = []
        self.courses: list[float] = []
        t = 0.0
        for i in range(len(pts) - 1):
            a, b = pts[i], pts[i + 1]
            metres = distance_m(a, b)
            if fixed is None:
                speed = unit.cruise * factor[i]
                leg = metres / speed
            else:
                leg = fixed[i] / factor[i]
                speed = metres / leg if leg > 0 else 0.0
            self.leaves.append(t)
            self.legs.append(leg)
            self.speeds.append(speed)
            self.courses.append(bearing_deg(a, b))
            t += leg + dwell[i + 1]
        self.cycle = t


class SimulatedUnit:
    """One van's GPS: a delivery round as a function of time.

    The round is ``waypoints`` driven in order, leg ``i`` (from waypoint ``i`` to ``i + 1``) at ``cruise`` x
    ``leg_speed[i]`` m/s, or, when ``leg_seconds`` is given (a road path's vertices), in ``leg_seconds[i]`` /
    ``leg_speed[i]`` seconds; ``dwell[i]`` seconds stopped at waypoint ``i`` once reached. Its timeline is
    worked out once (again whenever one of these is replaced), so where the van is at a given second costs
    a binary search, however many vertices its streets have.
    """

    def __init__(self, index: int, seed: int = 0, depot: tuple[float, float] = DEPOT, stops: int = 12,
                 trouble: Trouble | None = None, head_start_s: float = 0.0, round_trip: bool = True):
        self.index = index
        self.head_start_s = head_start_s  # already this far into its round when the clock starts
        self.rng = random.Random(seed * 7919 + index)
        self.trouble = trouble or Trouble()
        self.depot = depot
        rng = self.rng
        waypoints = [depot]
        angle = rng.uniform(0, 2 * math.pi)
        for _ in range(stops):
            angle += rng.uniform(-0.6, 0.9)
            radius = rng.uniform(1500, 6000)
            waypoints.append(offset(*depot, radius * math.cos(angle), radius * math.sin(angle)))
        waypoints.append(depot)
        self._timeline: _Timeline | None = None
        self.waypoints = waypoints
        self.cruise = rng.uniform(8.0, 13.0)  # m/s
        self.dwell = [rng.uniform(60, 180) for _ in waypoints]
        self.leg_speed = [1.0 for _ in waypoints]  # per leg: below 1 is traffic
        self.leg_seconds: list[float] | None = None  # per leg: driving time at speed 1 (road paths)
        self.round_trip = round_trip  # False: one round, then parked at the depot
        self._silent_until = float("-inf")

    def __setattr__(self, name: str, value: object) -> None:
        if name in _ROUND_FIELDS:
            object.__setattr__(self, "_timeline", None)  # the round changed: work its timeline out again
        object.__setattr__(self, name, value)

    @property
    def timeline(self) -> _Timeline:
        """When the van leaves and reaches each waypoint (worked out on first use)."""
        if self._timeline is None:
            self._timeline = _Timeline(self)
        return self._timeline

    def state_at(self, t: float) -> tuple[float, float, float, float]:
        """(lat, lon, speed m/s, course) ``t`` seconds after leaving the depot."""
        pts = self.waypoints
        if t < 0:
            return pts[0][0], pts[0][1], 0.0, 0.0  # not left yet
        line = self.timeline
        if self.round_trip and line.cycle > 0:
            t %= line.cycle
        i = bisect.bisect_right(line.leaves, t) - 1
        if i < 0:  # only with zero legs: never left
            return pts[0][0], pts[0][1], 0.0, 0.0
        a, b = pts[i], pts[i + 1]
        moving = t - line.leaves[i]
        leg = line.legs[i]
        if moving < leg:
            f = moving / leg
            wiggle = 0.3 * math.sin(moving / 9.0 + self.index)
            speed = line.speeds[i] * (1.0 + 0.15 * math.sin(moving / 23.0 + self.index)) + wiggle
            return a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, max(speed, 0.0), line.courses[i]
        return b[0], b[1], 0.0, line.courses[i]  # stopped there (or parked at the end of its round)

    def reaches(self, waypoint: int) -> float:
        """Seconds after leaving the depot when the van first reaches ``waypoint`` (its index)."""
        line = self.timeline
        return 0.0 if waypoint == 0 else line.leaves[waypoint - 1] + line.legs[waypoint - 1]

    def sentences(self, when: datetime, t: float) -> bytes:
        """The NMEA one epoch of this unit sends at UTC ``when``."""
        rng, trouble = self.rng, self.trouble
        if t < self._silent_until:
            return b""
        if trouble.dropout_rate and rng.random() < trouble.dropout_rate:
            self._silent_until = t + rng.uniform(5, 40)
            return b""
        lat, lon, speed, course = self.state_at(t + self.head_start_s)
        if trouble.noise_m:
            lat, lon = offset(lat, lon, rng.gauss(0, trouble.noise_m), rng.gauss(0, trouble.noise_m))
        sats = 7 + (self.index + int(t / 60)) % 5
        hdop = round(0.7 + 0.1 * (12 - sats) + rng.random() * 0.2, 1)
        hms = when.strftime("%H%M%S.") + f"{when.microsecond // 10000:02d}"
        dmy = when.strftime("%d%m%y")
        la, ns = _lat(lat)
        lo, ew = _lon(lon)
        knots = speed / 0.514444
        alt = 170.0 + 5 * math.sin(t / 300.0)
        prns = ",".join(f"{p:02d}" for p in range(1, sats + 1)) + "," * (12 - sats)
        bodies = [
            f"GPRMC,{hms},A,{la},{ns},{lo},{ew},{knots:.2f},{course:.1f},{dmy},,,A",
            f"GPGGA,{hms},{la},{ns},{lo},{ew},1,{sats:02d},{hdop:.1f},{alt:.1f},M,47.3,M,,",
            f"GPVTG,{course:.1f},T,,M,{knots:.2f},N,{speed * 3.6:.2f},K,A",
            f"GPGSA,A,3,{prns},{hdop * 1.6:.1f},{hdop:.1f},{hdop * 1.3:.1f}",
        ]
        if int(t) % 5 == 0:
            bodies.append(f"GPGSV,1,1,{sats:02d},01,45,120,40,02,30,200,38,03,60,310,42,04,15,045,33")
        out = b"".join(sentence(b) for b in bodies)
        if trouble.bad_checksum_rate and rng.random() < trouble.bad_checksum_rate:
            out = out[:9] + bytes([out[9] ^ 0x01]) + out[10:]  # a flipped bit: checksum fails
        return out


def render(units: list[SimulatedUnit], start: datetime, seconds: int) -> Iterator[tuple[int, bytes]]:
    """(unit index, bytes) for ``seconds`` epochs of every unit, no waiting."""
    for s in range(seconds):
        when = start + timedelta(seconds=s)
        for u in units:
            yield u.index, u.sentences(when, float(s))


class PtyPort:
    """A pseudo-terminal standing in for a serial unit: the app opens ``path``, the simulator writes ``master``."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        self._slave = slave  # kept open so the path stays valid between readers
        os.set_blocking(self.master, False)
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~(termios.ECHO | termios.ICANON)  # raw line: no echo, no cooking
        attrs[1] &= ~termios.OPOST
        termios.tcsetattr(slave, termios.TCSANOW, attrs)

    def reader_baud(self) -> int | None:
        """The baud rate the app set on its end of the line; None if not a standard rate."""
        return _BAUD_CONST.get(termios.tcgetattr(self.master)[5])

    def close(self) -> None:
        """Close both ends of the pseudo-terminal: the unit is unplugged."""
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass


class PtyUnit(PtyPort):
    """A simulated unit behind a pseudo-terminal: the app opens ``path``.

    When the reader's baud rate differs from the unit's, it gets what a real
    serial line gives: bytes that never form a valid sentence.
    """

    def __init__(self, unit: SimulatedUnit, baud: int | None = None):
        super().__init__()
        self.unit = unit
        self.baud = baud

    def write(self, data: bytes) -> None:
        """Send ``data`` to the app, garbled if it reads at another baud rate; dropped if nobody reads."""
        if self.baud and self.reader_baud() != self.baud:
            data = garble(data)
        try:
            os.write(self.master, data)
        except OSError as exc:  # nobody reading: the line drops it, as a real one would
            if exc.errno not in (errno.EAGAIN, errno.EIO):
                raise


def garble(data: bytes) -> bytes:
    """What a serial line at the wrong baud rate makes of ``data``: bytes that never form a sentence."""
    return bytes((b * 7 + 13) & 0xFF for b in data)


class Outlet(Protocol):
    """Where a simulated unit's epochs go: a pseudo-terminal of its own (`PtyUnit`) or a shared port (`PortUnit`)."""

    unit: SimulatedUnit

    def write(self, data: bytes) -> None:
        """Send one epoch's sentences."""


class PortUnit:
    """A simulated unit writing to a port it may share with other units (``fleet-desk simulate --port``)."""

    def __init__(self, unit: SimulatedUnit, write: Callable[[bytes], object]) -> None:
        """``write``: the port's (pyserial's ``write``, or any that takes bytes)."""
        self.unit = unit
        self._write = write

    def write(self, data: bytes) -> None:
        """Send ``data`` on the shared port."""
        self._write(data)


def run(outlets: Sequence[Outlet], duration: float | None = None, start: datetime | None = None,
        stop: threading.Event | None = None) -> None:
    """Feed every unit once a second in real time until ``duration`` or ``stop.is_set()``.

    Paced against the clock it started on, so a slow write delays one epoch, not every one after it.
    """
    begin = time.monotonic()
    start = start or datetime.now(UTC)
    tick = 0
    while duration is None or tick < duration:
        if stop is not None and stop.is_set():
            return
        when = start + timedelta(seconds=tick)
        for outlet in outlets:
            outlet.write(outlet.unit.sentences(when, float(tick)))
        tick += 1
        delay = begin + tick - time.monotonic()
        if delay > 0:
            if stop is not None:
                if stop.wait(delay):
                    return
            else:
                time.sleep(delay)
