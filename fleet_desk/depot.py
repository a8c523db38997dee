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


class SettingsError(ValueError):
    """A setting Fleet Desk cannot work with; ``key`` names it (the Settings dialog opens its tab)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def check_settings(settings: Settings) -> None:
    """Raise `SettingsError` for the first setting Fleet Desk cannot work with: the one check behind both
    ``fleet-desk config set`` and the Settings dialog, before anything is saved."""
    from fleet_desk.push.endpoint import EndpointError, check_url_to_save

    url = settings.tile_url
    if url and not all(part in url for part in ("{z}", "{x}", "{y}")):
        raise SettingsError("tile_url", "the tiles URL needs {z}, {x} and {y}, e.g. "
                                        "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    _rules(settings)
    if settings.endpoint_url:
        try:
            check_url_to_save(settings.endpoint_url)
        except EndpointError as exc:
            raise SettingsError("endpoint_url", str(exc)) from None


def _rules(settings: Settings) -> TrackingRules:
    try:
        return TrackingRules.from_settings(settings)
    except (KeyError, ValueError) as exc:  # ZoneInfo's unknown zone is a KeyError
        raise SettingsError("depot_timezone", "the depot timezone (an IANA name such as Europe/Paris) or location "
                                              f"(lat, lon) is not valid: {exc}") from None


class Depot:
    """What the core runs on, built from the user's settings; `configure` when they change."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        """Raises `SettingsError` for settings tracking cannot work with (a timezone or location that is none)."""
        self.engine = engine
        self.settings = settings
        self.rules = _rules(settings)
        self.policy = PayloadPolicy.from_settings(settings)
        self.tracker = RouteTracker.live(self.rules, self.policy)

    @classmethod
    def open(cls, url: str | None, settings: Settings) -> Depot:
        """The depot whose database is at ``url`` (None: ``FLEET_DESK_DB``, else the per-user one), created or
        upgraded as needed."""
        from fleet_desk.store import open_database

        engine = open_database(url)
        try:
            return cls(engine, settings)
        except SettingsError:
            engine.dispose()
            raise

    def configure(self, settings: Settings) -> None:
        """The user changed the settings: rules and payload policy follow, the live tracker from its next fix."""
        rules, policy = _rules(settings), PayloadPolicy.from_settings(settings)
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
