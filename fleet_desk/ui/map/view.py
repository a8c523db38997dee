"""The live fleet map: a folium page loaded once, then fed batched JSON updates.

Python never rebuilds the page for an update: vehicle changes are collected
and sent a few times a second to the page's own ``fleetMap.update``; calls
made before the page is ready are queued. Clicks come back through a
`QWebChannel` object.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, QUrl, Signal, Slot
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineSettings
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from fleet_desk import times
from fleet_desk.fleet.vehicles import FleetVehicle, VehicleState
from fleet_desk.settings import Settings
from fleet_desk.ui.style import STOP_COLORS, state_colors_by_name

if TYPE_CHECKING:  # the tracking layer and the road maps load after the window shows
    from fleet_desk.roads.library import MapInfo
    from fleet_desk.tracking.board import RouteView, StopView

log = logging.getLogger(__name__)
FLUSH_MS = 250  # at most four updates a second


class MapBridge(QObject):
    """The object the page sees as ``bridge``."""

    ready = Signal()
    vehicleClicked = Signal(int)
    tilesChanged = Signal(str)  # the notice shown on the map; empty: tiles load

    @Slot()
    def pageReady(self) -> None:
        self.ready.emit()

    @Slot(int)
    def markerClicked(self, vehicle_id: int) -> None:
        self.vehicleClicked.emit(vehicle_id)

    @Slot(str)
    def tileStatus(self, notice: str) -> None:
        self.tilesChanged.emit(notice)


class _LoggingPage(QWebEnginePage):
    """Sends the page's console errors to the log, where tests and users can see them."""

    def javaScriptConsoleMessage(self, level: QWebEnginePage.JavaScriptConsoleMessageLevel, message: str,
                                 line: int, source: str) -> None:
        if level == QWebEnginePage.JavaScriptConsoleMessageLevel.ErrorMessageLevel:
            log.warning("map page: %s (%s:%s)", message, source.rsplit("/", 1)[-1], line)
        else:
            log.debug("map page: %s", message)


def vehicle_json(vehicle: FleetVehicle, state: VehicleState) -> dict[str, Any]:
    """A vehicle as the map page's script takes it (in ``update`` batches and ``focusOrder``): id, label,
    position, course (to a tenth of a degree), the state's name and the fix time."""
    return {
        "id": vehicle.vehicle_id,
        "label": vehicle.vehicle,
        "lat": vehicle.lat,
        "lon": vehicle.lon,
        "course": None if vehicle.course_deg is None else round(vehicle.course_deg, 1),
        "state": state.value,
        "t": vehicle.fix_time_ms,
    }


class FleetMapView(QWebEngineView):
    """The map widget. Call `show_vehicles` as often as you like; it batches."""

    ready = Signal()
    vehicleClicked = Signal(int)
    tilesChanged = Signal(str)

    def __init__(self, settings: Settings, depot: tuple[float, float] | None, parent: QWidget | None = None) -> None:
        """``depot``: where the depot is (the page opens there and marks it); None when not known."""
        super().__init__(parent)
        self.map_settings = settings
        self.depot = depot
        self.is_ready = False
        self.tile_notice = ""
        self._queued: list[str] = []
        self._pending: dict[int, dict[str, Any]] = {}
        self._removed: set[int] = set()
        self._shown_ids: set[int] = set()  # focus_order's van
        self.road_map: MapInfo | None = None  # whose streets the page draws where tiles cannot load
        self.batches_sent = 0

        page = _LoggingPage(self)
        self.setPage(page)
        web = page.settings()
        web.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessFileUrls, True)
        web.setAttribute(QWebEngineSettings.WebAttribute.LocalContentCanAccessRemoteUrls, True)  # tiles
        self.bridge = MapBridge(self)
        self.bridge.ready.connect(self._on_ready)
        self.bridge.vehicleClicked.connect(self.vehicleClicked)
        self.bridge.tilesChanged.connect(self._on_tiles)
        self.channel = QWebChannel(self)
        self.channel.registerObject("bridge", self.bridge)
        page.setWebChannel(self.channel)

        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)
        QTimer.singleShot(0, self, self.load_page)  # after the window shows: building the page takes a moment

    def configure(self, settings: Settings, depot: tuple[float, float] | None) -> None:
        """New settings: the page is built again only when what it was built with changed (tiles, the depot);
        calls made meanwhile wait for it."""
        page_changed = ((settings.tile_url, settings.tile_attribution, depot)
                        != (self.map_settings.tile_url, self.map_settings.tile_attribution, self.depot))
        self.map_settings, self.depot = settings, depot
        if page_changed:
            self.load_page()
        self.set_trail_minutes(settings.trail_minutes)

    def load_page(self) -> None:
        """Build and load the page (at start, and when the tiles or the depot change)."""
        from fleet_desk.ui.map.page import base_url, build_map_page

        self.is_ready = False
        self._flush_timer.stop()
        if self.road_map is not None:  # the new page draws them too
            self.call("setStreets", streets_json(self.road_map))
        html = build_map_page(self.depot, self.map_settings.tile_url, self.map_settings.tile_attribution,
                              self.map_settings.trail_minutes, state_colors_by_name(), stop_colors=STOP_COLORS)
        self.setHtml(html, QUrl(base_url()))

    def _on_ready(self) -> None:
        self.is_ready = True
        queued, self._queued = self._queued, []
        for script in queued:
            self.page().runJavaScript(script)
        self._flush_timer.start()
        self.ready.emit()

    def _on_tiles(self, notice: str) -> None:
        self.tile_notice = notice
        self.tilesChanged.emit(notice)

    def call(self, function: str, *args: Any) -> None:
        """Call ``fleetMap.<function>(args...)`` with JSON arguments, now or once the page is ready."""
        script = f"fleetMap.{function}({', '.join(json.dumps(a) for a in args)});"
        if self.is_ready:
            self.page().runJavaScript(script)
        else:
            self._queued.append(script)

    def evaluate(self, expression: str, callback: Callable[[Any], None]) -> None:
        """Evaluate JS and hand the result to ``callback`` (for tests and diagnostics)."""
        self.page().runJavaScript(expression, 0, callback)

    def show_vehicles(self, vehicles: Iterable[tuple[FleetVehicle, VehicleState]]) -> None:
        """Queue vehicles for the next batch; those with no position are left off the map."""
        for vehicle, state in vehicles:
            if vehicle.lat is None:
                continue
            self._pending[vehicle.vehicle_id] = vehicle_json(vehicle, state)
            self._removed.discard(vehicle.vehicle_id)

    def remove_vehicles(self, vehicle_ids: Iterable[int]) -> None:
        for vehicle_id in vehicle_ids:
            self._pending.pop(vehicle_id, None)
            self._removed.add(vehicle_id)

    def _flush(self) -> None:
        if not (self._pending or self._removed):
            return
        batch = {"vehicles": list(self._pending.values()), "removed": sorted(self._removed)}
        self._pending, self._removed = {}, set()
        self.batches_sent += 1
        self.call("update", batch)

    def load_trails(self, trails: dict[int, list[tuple[float, float, int]]]) -> None:
        self.call("loadTrails", {str(k): v for k, v in trails.items()})

    def select(self, vehicle_id: int | None, center: bool = False) -> None:
        self._flush()  # a vehicle selected right after it appeared must exist on the page
        self.call("select", vehicle_id, center)

    def fit_to_fleet(self) -> None:
        self._flush()
        self.call("fit")

    def set_follow(self, on: bool) -> None:
        self.call("setFollow", on)

    def set_trail_minutes(self, minutes: int) -> None:
        self.call("setTrailMinutes", minutes)

    def show_routes(self, routes: list[RouteView], selected: int | None, tz: tzinfo | None) -> None:
        """Every route's stops and planned sequence; ``selected`` stands out; times in the stops' labels at the
        depot (``tz``)."""
        self.call("selectRoute", selected)
        self.call("setRoutes", [{
            "id": r.id, "vehicle": r.vehicle_id,
            "stops": [{"id": st.id, "lat": st.lat, "lon": st.lon, "status": st.status, "late": st.open and st.late,
                       "label": _stop_label(r, st, tz)} for st in r.stops],
        } for r in routes])

    def show_track(self, points: list[tuple[float, float]]) -> None:
        """The selected route's vehicle's track so far today."""
        self.call("showTrack", [list(p) for p in points])

    def focus_order(self, stop: dict[str, Any], vehicle: tuple[FleetVehicle, VehicleState] | None) -> None:
        """One order's stop (``{lat, lon, status, label}``) and its van, alone in view (the Customer lookup dock)."""
        self.remove_vehicles(list(self._shown_ids))
        self._shown_ids = set()
        if vehicle is not None:
            self.show_vehicles([vehicle])
            self._shown_ids = {vehicle[0].vehicle_id}
        self._flush()
        self.call("focusOrder", {"stop": stop, "vehicle": vehicle_json(*vehicle) if vehicle else None})

    def center_on(self, lat: float, lon: float) -> None:
        self.call("centerOn", lat, lon)

    def set_road_map(self, info: MapInfo | None) -> None:
        """The road map whose streets the page draws as its base layer where tiles cannot load (None: no
        streets); the page reads their GeoJSON from disk."""
        self.road_map = info
        self.call("setStreets", streets_json(info) if info is not None else None)


def streets_json(info: MapInfo) -> dict[str, Any]:
    """What the page's ``setStreets`` takes: the map's name and its GeoJSON files as file:// URLs (water
    only when the map has it)."""
    water = getattr(info, "water", None)  # not every road map has water
    return {"name": info.name, "main": info.streets_main.resolve().as_uri(), "all": info.streets_all.resolve().as_uri(),
            "water": water.resolve().as_uri() if water is not None and water.exists() else None}


def _stop_label(route: RouteView, stop: StopView, tz: tzinfo | None) -> str:
    """The stop's tooltip: plain text (the page escapes it)."""

    def clock(ms: int | None) -> str:
        return times.hhmm(ms, tz)

    head = f"{route.key} #{stop.sequence} {stop.customer_name}"
    if stop.status == "delivered":
        return f"{head}: delivered {clock(stop.departed_ms or stop.arrived_ms)}"
    if stop.status == "failed":
        return f"{head}: failed ({stop.failure_reason or 'no reason given'})"
    if stop.status == "arrived":
        return f"{head}: van at the stop since {clock(stop.arrived_ms)}"
    eta = f", ETA {clock(stop.eta_ms)}" if stop.eta_ms else ""
    late = f", about {stop.delay_minutes} min late: {stop.delay_reason}" if stop.late else ""
    return f"{head} (window {clock(stop.window_start_ms)}–{clock(stop.window_end_ms)}{eta}{late})"
