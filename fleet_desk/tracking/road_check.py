"""Which places of a day's routes the road map cannot route to, said one per line naming the stop.

Their legs fall back to the straight line (counted on the route); this is
what a dispatcher is told when the manifest comes in, so the reason is known
before any ETA is off: a place outside the map's area or far from its roads
(`RoadMap.problem`), or on roads not connected to the depot's (an island, a
private estate): no way there from the depot and back.
"""

from __future__ import annotations

from collections.abc import Iterable

from fleet_desk.tracking.manifest import ManifestStop
from fleet_desk.tracking.roads import Point, RoadMap

MAX_LINES = 20  # a manifest of another town: say the first ones and how many more
CUT_OFF = "on roads not connected to the depot's on the road map"


def unroutable(stops: Iterable[ManifestStop], road_map: RoadMap, depot: Point | None) -> list[str]:
    """One line per place ``road_map`` cannot route (the depot first), then "... and N more stops". Without a
    depot, connection is judged from the first stop the map can reach."""
    lines = []
    if depot is not None and (why := road_map.problem(depot)) is not None:
        lines.append(f"the depot ({depot[0]:.5f}, {depot[1]:.5f}): {why}; every route's first leg uses the "
                     "straight line")
        depot = None
    extra = 0
    home = depot
    for stop in stops:
        here = (stop.lat, stop.lon)
        why = road_map.problem(here)
        if why is None and home is None:
            home = here
        elif why is None and home is not None and None in road_map.legs([home, here, home]):
            why = CUT_OFF
        if why is None:
            continue
        if len(lines) >= MAX_LINES:
            extra += 1
            continue
        lines.append(f"stop {stop.sequence} of {stop.route_id} ({stop.order_id}, {stop.address}): {why}; its "
                     "legs use the straight line")
    if extra:
        lines.append(f"... and {extra} more stops the road map cannot route")
    return lines
