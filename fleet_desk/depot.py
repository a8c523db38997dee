"""The core's front door: one depot's database, settings, tracking rules, live tracker and payload policy.

Made once by whatever the user runs (the app, each command of the command
line) and handed down, whole or in the typed parts a piece needs: no
module-level registry, no settings read deep in a transaction. The live
`RouteTracker` holds each vehicle's arrival state, so everything that stores
fixes or changes routes for this desk (live units, imports, docks, the routes
editor) is handed this one tracker and carries on the same vehicles' state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine

from fleet_desk.push.payload import PayloadPolicy
from fleet_desk.settings import Settings
from fleet_desk.tracking.rules import TrackingRules
from fleet_desk.tracking.tracker import RouteTracker

if TYPE_CHECKING:
    from fleet_desk.push.sender import OutboxSender


class Depot:
    """What the core runs on, built from the user's settings; `configure` when they change."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        """Raises `ValueError` for settings tracking cannot work with (a depot location that is no position)."""
        self.engine = engine
        self.settings = settings
        self.rules = TrackingRules.from_settings(settings)
        self.policy = PayloadPolicy.from_settings(settings)
        self.tracker = RouteTracker.live(self.rules, self.policy)

    @classmethod
    def open(cls, url: str | None, settings: Settings) -> Depot:
        """The depot whose database is at ``url`` (None: ``FLEET_DESK_DB``, else the per-user one), created or
        upgraded as needed."""
        from fleet_desk.store import open_database

        return cls(open_database(url), settings)

    def configure(self, settings: Settings) -> None:
        """The user changed the settings: rules and payload policy follow, the live tracker from its next fix."""
        rules, policy = TrackingRules.from_settings(settings), PayloadPolicy.from_settings(settings)
        self.settings, self.rules, self.policy = settings, rules, policy
        self.tracker.configure(rules, policy)

    def replay_tracker(self, enqueue: bool = False) -> RouteTracker:
        """A tracker for logs processed as if live at their own time (now is each fix's time). Old days reach
        no customer: its events are queued for the endpoint only with ``enqueue`` (to test an integration)."""
        return RouteTracker(self.rules, clock=None, policy=self.policy if enqueue else None)

    def sender(self) -> OutboxSender:
        """A sender draining the outbox to the endpoint the settings name. Raises `ValueError` when none is set
        (`fleet_desk.push.endpoint.EndpointError`, a `ValueError`, when it cannot be used)."""
        from fleet_desk.push.endpoint import endpoint
        from fleet_desk.push.sender import OutboxSender

        target = endpoint(self.settings)
        if target is None:
            raise ValueError("no endpoint URL is set: `fleet-desk config set endpoint_url https://...` "
                             "(or FLEET_DESK_ENDPOINT_URL)")
        return OutboxSender(self.engine, target)

    def close(self) -> None:
        """Release the database's connections."""
        self.engine.dispose()
