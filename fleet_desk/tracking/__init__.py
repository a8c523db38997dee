"""From fixes to deliveries: stop arrivals and departures, route progress, ETAs, delays, order milestones.

Plain Python, no Qt. `RouteTracker` is the one entry point: it runs inside the
transaction that stores a batch of fixes, whatever their source.
"""

from fleet_desk.tracking.rules import TrackingRules
from fleet_desk.tracking.tracker import RouteTracker

__all__ = ["RouteTracker", "TrackingRules"]
