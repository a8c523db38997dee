"""The core's front door: one depot's database, settings, tracking rules, live tracker and payload policy.

Made once by whatever the user runs (the app, each command of the command
line) and handed down, whole or in the typed parts a piece needs: no
module-level registry, no settings read deep in a transaction. The live
`RouteTracker` holds each vehicle's arrival state, so everything that stores
fixes or changes routes for this desk (live units, imports, docks, the routes
editor) is handed this one tracker and carries on the same vehicles' state.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import tzinfo
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from fleet_desk.push.payload import PayloadPolicy
from fleet_desk.roads.library import MapInfo, RoadMapError, current_map
from fleet_desk.roads.osrm_map import OsrmRoadMap
from fleet_desk.settings import Settings, host_name
from fleet_desk.tracking.manifest import ManifestStop
from fleet_desk.tracking.road_check import unroutable
from fleet_desk.tracking.rules import TrackingRules
from fleet_desk.tracking.tracker import RouteTracker

if TYPE_CHECKING:
    from fleet_desk.push.sender import OutboxSender


log = logging.getLogger(__name__)


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
    name = settings.desk_name
    if not name.strip() or len(name) > 100 or not name.isprintable():
        raise SettingsError("desk_name", "the desk name is one line of 1 to 100 characters, e.g. desk-2")
    if settings.keep_full_days < 1:
        raise SettingsError("keep_full_days", "positions are kept at full rate for at least 1 day, e.g. 30")
    _rules(settings)
    if settings.endpoint_url:
        try:
            check_url_to_save(settings.endpoint_url)
        except EndpointError as exc:
            raise SettingsError("endpoint_url", str(exc)) from None


def depot_zone(settings: Settings) -> tzinfo | None:
    """The depot's time zone as a `Depot` on ``settings`` would read it (None: this computer's), for a command
    that opens no database; raises `SettingsError` as the depot does for a zone (or location) that is none."""
    return _rules(settings).timezone


def _rules(settings: Settings) -> TrackingRules:
    try:
        return TrackingRules.from_settings(settings)
    except (KeyError, ValueError) as exc:  # ZoneInfo's unknown zone is a KeyError
        raise SettingsError("depot_timezone", "the depot timezone (an IANA name such as Europe/Paris) or location "
                                              f"(lat, lon) is not valid: {exc}") from None


class Depot:
    """What the core runs on, built from the user's settings; `configure` when they change."""

    def __init__(self, engine: Engine, settings: Settings, road_map: MapInfo | None | bool = True) -> None:
        """Raises `SettingsError` for settings tracking cannot work with (a timezone or location that is none).

        ``road_map``: the road map ETAs ride on; True (the default): the one this installation uses, if any
        (`fleet-desk roads import`); None: none, the straight line."""
        self.engine = engine
        self.settings = settings
        self.rules = _rules(settings)
        #: This desk's name, as the settings said when the depot was built (a new name counts from the next
        #: start): the one its claims, sends and recorded changes carry, handed to what it builds.
        self.desk = settings.desk_name.strip()[:100] or host_name()
        self.policy = PayloadPolicy.from_settings(settings)
        self.road_info: MapInfo | None = None
        self.road_map: OsrmRoadMap | None = None
        self.road_problem: str | None = None  # why the installation's road map is not in use, in one line
        self.tracker = RouteTracker.live(self.rules, self.policy, desk=self.desk)
        if road_map is True:
            try:
                road_map = current_map()
            except RoadMapError as exc:  # the installation's choice of map cannot be read
                self.road_problem = str(exc)
                log.warning("road map not in use: %s", exc)
                road_map = None
        self.use_road_map(road_map or None)

    @classmethod
    def open(cls, url: str | None, settings: Settings, road_map: MapInfo | None | bool = True) -> Depot:
        """The depot whose database is at ``url`` (None: ``FLEET_DESK_DB``, else the per-user one), created or
        upgraded as needed; ``road_map`` as for the constructor."""
        from fleet_desk.store import open_database

        engine = open_database(url)
        try:
            return cls(engine, settings, road_map)
        except SettingsError:
            engine.dispose()
            raise

    def configure(self, settings: Settings) -> None:
        """The user changed the settings: rules and payload policy follow, the live tracker from its next fix
        (the desk's name from the next start: `desk` stays)."""
        rules, policy = _rules(settings), PayloadPolicy.from_settings(settings)
        self.settings, self.rules, self.policy = settings, rules, policy
        self.tracker.configure(rules, policy)

    def use_road_map(self, info: MapInfo | None) -> None:
        """ETAs ride on this road map from now on (None: the straight line). One that cannot be opened leaves
        the straight line in use and says why in `road_problem` (and the log)."""
        road_map = None
        if info is not None:
            self.road_problem = None
            try:
                road_map = OsrmRoadMap.open(info)
            except RoadMapError as exc:
                self.road_problem = str(exc)
                log.warning("road map not in use: %s", exc)
                info = None
        self.road_info, self.road_map = info, road_map
        self.tracker.use_road_map(road_map)

    def road_problems(self, stops: Iterable[ManifestStop]) -> list[str]:
        """The stops (and the depot) the road map in use cannot route, one line each naming it and why; none
        without a road map."""
        if self.road_map is None:
            return []
        return unroutable(stops, self.road_map, self.rules.depot)

    def replay_tracker(self, enqueue: bool = False) -> RouteTracker:
        """A tracker for logs processed as if live at their own time (now is each fix's time). Old days reach
        no customer: its events are queued for the endpoint only with ``enqueue`` (to test an integration)."""
        return RouteTracker(self.rules, clock=None, policy=self.policy if enqueue else None, road_map=self.road_map,
                            desk=self.desk)

    def sender(self) -> OutboxSender:
        """A sender draining the outbox to the endpoint the settings name. Raises `ValueError` when none is set
        (`fleet_desk.push.endpoint.EndpointError`, a `ValueError`, when it cannot be used)."""
        from fleet_desk.push.endpoint import endpoint
        from fleet_desk.push.sender import OutboxSender

        target = endpoint(self.settings)
        if target is None:
            raise ValueError("no endpoint URL is set: `fleet-desk config set endpoint_url https://...` "
                             "(or FLEET_DESK_ENDPOINT_URL)")
        return OutboxSender(self.engine, target, desk=self.desk)

    def close(self) -> None:
        """Release the database's connections, and stop asking the road map (and let go of it)."""
        self.tracker.use_road_map(None)
        self.tracker.close()
        self.road_map = None
        self.engine.dispose()
