"""What tracking asks of a road map: free-flow driving time along the streets, and a leg's street path.

The tracker depends on this small interface only; the OSRM road map that
implements it lives in `fleet_desk.roads`, and the UI never asks it. A leg
the map cannot route (a point outside its area, a stop on an unconnected
island) comes back as None, and ETAs for that leg fall back to the straight
line (counted and shown).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

Point = tuple[float, float]  # (lat, lon)


class Leg(NamedTuple):
    """Driving from one point to the next on the road map: free-flow time and road distance."""

    seconds: float
    metres: float


class Path(NamedTuple):
    """A leg's street geometry, to follow a van along it: vertices with the cumulative free-flow seconds and
    metres from the start to each (both start at 0; the last are the leg's time and distance)."""

    points: list[Point]
    seconds: list[float]
    metres: list[float]


class RoadMap(Protocol):
    """A road network ETAs ride on."""

    @property
    def name(self) -> str:
        """What the map is called where users read it (the extract it was built from, e.g. "Helsinki")."""
        ...

    def legs(self, points: Sequence[Point]) -> list[Leg | None]:
        """The legs from each point to the next, in order (``len(points) - 1`` of them), in one request;
        None for a leg the map cannot route."""
        ...

    def path(self, start: Point, end: Point) -> Path | None:
        """The street path from ``start`` to ``end``; None when the map cannot route it."""
        ...

    def problem(self, point: Point) -> str | None:
        """Why the map cannot route to or from ``point`` (e.g. "outside the road map's area (Helsinki)",
        "1.2 km from the nearest road"), or None when it can."""
        ...
