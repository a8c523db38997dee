"""The desktop app: Qt widgets, item models and the map bridge.

Everything under here observes the core (fleet_desk.fleet.vehicles, live, store)
through signals and owns no business rule.
"""
