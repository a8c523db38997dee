"""Docking: a GPS unit plugged in at the depot hands over its stored track.

`recognise` says whose unit is on a port, `dock_unit` downloads, stores and
reconciles its track and returns a `DockSummary`. No Qt: the Dock view and
``fleet-desk dock`` both call these.
"""

from fleet_desk.ingest.dock.recognise import recognise
from fleet_desk.ingest.dock.session import DockError, DockProgress, dock_unit
from fleet_desk.ingest.dock.summary import DockSummary

__all__ = ["DockError", "DockProgress", "DockSummary", "dock_unit", "recognise"]
