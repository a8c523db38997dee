"""From fixes to deliveries: stop arrivals and departures, route progress, ETAs, delays, order milestones.

Plain Python, no Qt. `RouteTracker` is the one entry point: it runs inside the
transaction that stores a batch of fixes, whatever their source. (Exported
lazily: the window imports `tracking.rules` before the database layer loads.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleet_desk.tracking.rules import TrackingRules
    from fleet_desk.tracking.tracker import RouteTracker

__all__ = ["RouteTracker", "TrackingRules"]


def __getattr__(name: str) -> type:
    if name == "RouteTracker":
        from fleet_desk.tracking.tracker import RouteTracker

        return RouteTracker
    if name == "TrackingRules":
        from fleet_desk.tracking.rules import TrackingRules

        return TrackingRules
    raise AttributeError(name)
