"""The main window: the map in the centre, the fleet board and the routes beside it, other panels on demand.

It owns its panels and dialogs (declared in `MainWindow.__init__`; the heavy
ones are imported and made on first use, after the window shows), hands each
the typed parts of the `Depot` it needs, and wires their signals. It owns no
business rule: state thresholds live in `fleet_desk.fleet.vehicles`,
ingestion in `fleet_desk.ingest.live`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from drivers.base import PortInfo, UnitStatus
from fleet_desk import __version__, messages
from fleet_desk.clock import now_ms
from fleet_desk.fleet.vehicles import FleetVehicle
from fleet_desk.logs import log_path
from fleet_desk.settings import Settings, config_dir
from fleet_desk.tracking.rules import parse_location
from fleet_desk.ui.map.view import FleetMapView
from fleet_desk.ui.message_bar import MessageBar
from fleet_desk.ui.models.fleet_board import FleetBoardModel
from fleet_desk.ui.panels.fleet_board import FleetBoard
from fleet_desk.ui.panels.routes import RoutesPanel
from fleet_desk.ui.port_watch import PortWatcher
from fleet_desk.ui.status_button import StatusButton
from fleet_desk.ui.tasks import run_in_background

if TYPE_CHECKING:  # the database layer, live ingestion and the heavier panels and dialogs load on first use
    from fleet_desk.depot import Depot
    from fleet_desk.push.endpoint import Endpoint
    from fleet_desk.tracking.board import RouteView
    from fleet_desk.ui.change_bell import ChangeBell
    from fleet_desk.ui.dialogs.import_log import ImportFlow
    from fleet_desk.ui.dialogs.manifest import ManifestImport
    from fleet_desk.ui.dialogs.outbox import OutboxMonitor
    from fleet_desk.ui.dialogs.road_map import RoadMapDialog
    from fleet_desk.ui.dialogs.settings import SettingsDialog
    from fleet_desk.ui.dialogs.units import GpsUnitsDialog
    from fleet_desk.ui.fleet_feed import FleetFeed
    from fleet_desk.ui.maintenance import NightlyMaintenance
    from fleet_desk.ui.outbox_feed import OutboxFeed
    from fleet_desk.ui.panels.dock import DockView
    from fleet_desk.ui.panels.lookup import LookupView

log = logging.getLogger(__name__)
TICK_MS = 1000


def window_state() -> QSettings:
    """Window geometry and dock layout, beside the settings file."""
    return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    """The desk: shown at once, `start`ed on the `Depot` once the database is open (`database_failed` if not)."""

    fleetShown = Signal()  # the first vehicles are on the board
    mapReady = Signal()

    def __init__(self, url: str, settings: Settings, title_note: str = "",
                 depot_position: tuple[float, float] | None = None, remember_layout: bool = True,
                 fixed_endpoint: Endpoint | None = None) -> None:
        """``depot_position``: where the depot is, whatever the settings say (the demo's own depot); by default
        the settings' depot location. ``fixed_endpoint``: send customer notices there, whatever the settings say
        (the demo's own)."""
        super().__init__()
        self.url = url
        self.settings = settings
        self.fixed_depot_position = depot_position
        self.fixed_endpoint = fixed_endpoint
        # What `start` brings: the core's front door and what runs on it.
        self.depot: Depot | None = None
        self.feed: FleetFeed | None = None
        self.outbox: OutboxFeed | None = None
        self.changes: ChangeBell | None = None  # what this desk wakes on: the database's changes, any desk's
        self.port_watch: PortWatcher | None = None
        self.maintenance: NightlyMaintenance | None = None  # once a night, if no other desk runs it
        self.port_lister: Callable[[], list[PortInfo]] | None = None  # tests: pseudo-terminals as ports
        # Panels and dialogs made on first use.
        self.lookup: LookupView | None = None
        self.lookup_panel: QDockWidget | None = None
        self.docking: DockView | None = None
        self.docking_panel: QDockWidget | None = None
        self.outbox_monitor: OutboxMonitor | None = None
        self.units_dialog: GpsUnitsDialog | None = None
        self.road_map_dialog: RoadMapDialog | None = None
        self.database_box: QMessageBox | None = None
        self.setWindowTitle("Fleet Desk" + (f" — {title_note}" if title_note else ""))
        self.setObjectName("mainWindow")
        self.resize(1280, 800)

        self.message_bar = MessageBar(self)
        self.map = FleetMapView(settings, self.depot_position(), self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.message_bar)
        layout.addWidget(self.map, 1)
        self.setCentralWidget(central)

        self.board_model = FleetBoardModel(parent=self)
        self.board = FleetBoard(self.board_model, self)
        self.board_panel = QDockWidget("Fleet board", self)
        self.board_panel.setObjectName("fleetBoardDock")  # the names the saved layouts know
        self.board_panel.setWidget(self.board)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.board_panel)
        self.resizeDocks([self.board_panel], [610], Qt.Orientation.Horizontal)

        self.routes = RoutesPanel(self)
        self.routes_panel = QDockWidget("Routes", self)
        self.routes_panel.setObjectName("routesDock")
        self.routes_panel.setWidget(self.routes)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.routes_panel)
        self.tabifyDockWidget(self.board_panel, self.routes_panel)
        self.board_panel.raise_()
        self._selected_route: int | None = None

        self._build_status_bar()
        self._build_menus()
        self._connect()
        self.remember_layout = remember_layout
        self._default_state = self.saveState()
        if remember_layout:
            self._restore_layout()

        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self._on_tick)
        self._seen_fleet = False
        self._seen_routes = False

    # Set-up
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.units_label = QLabel("Opening the database…", self)
        self.rate_label = QLabel("0.0 fixes/s", self)
        self.db_label = QLabel("Database: opening…", self)
        self.tiles_label = QLabel("", self)
        self.clock_label = QLabel("", self)  # the desk's name and the depot's clock: every time shown is the depot's
        self.outbox_button = StatusButton(self)  # cut at its end when the bar is narrow, all of it in the tooltip
        self.outbox_button.setText("Outbox: …")
        self.outbox_button.setToolTip("Customer notices for the tracking endpoint (Tools > Outbox)")
        self.outbox_button.clicked.connect(lambda: self.show_outbox())
        self.outbox_button.setEnabled(False)
        for label in (self.units_label, self.rate_label, self.outbox_button, self.tiles_label, self.db_label,
                      self.clock_label):
            bar.addPermanentWidget(label)
        self._show_clock()

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.database_actions: list[QAction] = []
        self.import_action = file_menu.addAction("&Import log…", lambda: self.import_logs())
        self.import_action.setShortcut(QKeySequence("Ctrl+I"))
        self.manifest_action = file_menu.addAction("Import &manifest…", lambda: self.import_manifest())
        self.manifest_action.setShortcut(QKeySequence("Ctrl+M"))
        export_action = file_menu.addAction("&Export positions…", lambda: self.export_positions())
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit", self.close)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)

        view = self.menuBar().addMenu("&View")
        view.addAction(self.board_panel.toggleViewAction())
        view.addAction(self.routes_panel.toggleViewAction())
        fit = view.addAction("&Fit map to fleet", self.map.fit_to_fleet)
        fit.setShortcut(QKeySequence("Ctrl+0"))
        self.follow_action = QAction("F&ollow selected vehicle", self, checkable=True)
        self.follow_action.setChecked(self.settings.follow_selected)
        self.follow_action.toggled.connect(self._set_follow)
        view.addAction(self.follow_action)
        view.addSeparator()
        view.addAction("&Reset layout", self._reset_layout)

        tools = self.menuBar().addMenu("&Tools")
        self.units_action = tools.addAction("&GPS units…", lambda: self.show_units())
        self.units_action.setShortcut(QKeySequence("Ctrl+U"))
        self.lookup_action = tools.addAction("Customer &lookup…", lambda: self.show_lookup())
        self.lookup_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lookup_action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)  # from any window
        self.outbox_action = tools.addAction("&Outbox…", lambda: self.show_outbox())
        self.outbox_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.dock_action = tools.addAction("&Dock a unit…", lambda: self.show_docking())
        self.dock_action.setShortcut(QKeySequence("Ctrl+D"))
        self.road_map_action = tools.addAction("&Road map…", lambda: self.show_road_map())
        tools.addAction("&Settings…", lambda: self.edit_settings())
        self.database_actions += [self.import_action, self.manifest_action, export_action, self.units_action,
                                  self.lookup_action, self.outbox_action, self.dock_action, self.road_map_action]
        #: What a read-only database still allows: looking, exporting, the outbox's history, the road map (kept
        #: beside the database, not in it).
        self.read_only_actions = [export_action, self.lookup_action, self.outbox_action, self.road_map_action]
        for action in self.database_actions:
            action.setEnabled(False)

        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction("&About Fleet Desk", self._about)
        help_menu.addAction("Where is the &log file?", self._show_log_location)

    def _connect(self) -> None:
        self.board.vehicleSelected.connect(lambda vid: self.map.select(vid, center=False))
        self.board.vehicleActivated.connect(lambda vid: self.map.select(vid, center=True))
        self.board.takeOverAsked.connect(lambda unit: self.show_units().take_over(unit))
        self.map.vehicleClicked.connect(self.board.select_vehicle)
        self.map.ready.connect(self._on_map_ready)
        self.map.tilesChanged.connect(self._on_tiles)
        self.board_model.statesChanged.connect(self._on_states_changed)
        self.routes.routesChanged.connect(self._on_routes)
        self.routes.routeSelected.connect(self._on_route_selected)
        self.routes.stopActivated.connect(self.map.center_on)

    def start(self, depot: Depot) -> None:
        """The database is open: start the outbox, the fleet feed (live units, fleet watch) and the clock, all on
        ``depot`` (made once by the app; its live tracker is the one every import, dock and route change of
        this window goes through)."""
        from fleet_desk.store.database import describe, is_read_only
        from fleet_desk.ui.change_bell import ChangeBell
        from fleet_desk.ui.fleet_feed import FleetFeed
        from fleet_desk.ui.maintenance import NightlyMaintenance
        from fleet_desk.ui.outbox_feed import OutboxFeed

        if depot.settings is not self.settings:  # changed in the window while the database was opening
            depot.configure(self.settings)
        self.depot = depot
        self.map.set_road_map(depot.road_info)
        engine = depot.engine
        read_only = is_read_only(engine)
        self.db_label.setText(f"Database: {describe(self.url)}" + (" (read-only)" if read_only else ""))
        self.outbox = OutboxFeed(engine, self.settings, self.fixed_endpoint, self, desk=depot.desk)
        self.outbox.statusChanged.connect(self._on_outbox)
        if read_only:
            messages.warning(f"{describe(self.url)} is read-only: the map, board, routes and lookup show what it "
                             "holds; live units, docking, imports and sending notices are off until it can be "
                             "written (check its permissions, or start with --db on a copy)")
        else:
            self.outbox.start()
        self.outbox_button.setEnabled(True)
        self.changes = ChangeBell(engine, self)
        self.changes.changed.connect(self._on_changes)
        self.changes.start()
        self.feed = FleetFeed(engine, depot.tracker, self, changes=self.changes.listener)
        self.feed.fleetChanged.connect(self._on_fleet)
        self.feed.unitStatusChanged.connect(self._on_unit_status)
        self.feed.fixesStored.connect(lambda _n: self._poke_outbox())  # new fixes may have queued notices
        self.feed.start(read_only)
        self.board.watch_readers(engine, depot.desk, self._zone)  # which desk reads each unit
        if not read_only:
            self.maintenance = NightlyMaintenance(depot, self)
            self.maintenance.start()
        for action in self.database_actions:
            action.setEnabled(not read_only or action in self.read_only_actions)
        self._tick.start()
        self._on_tick()
        self._load_trails()
        self.routes.start(depot)
        self.port_watch = PortWatcher(self, self.port_lister)
        self.port_watch.appeared.connect(self._on_unit_plugged)
        if not read_only:  # a unit plugged in would be docked: that writes
            self.port_watch.start()

    def depot_position(self) -> tuple[float, float] | None:
        """Where the depot is, for the maps: the one given (the demo's), else the settings' depot location; None
        when neither says (or the setting is no position: the Settings dialog refuses those)."""
        if self.fixed_depot_position is not None:
            return self.fixed_depot_position
        try:
            return parse_location(self.settings.depot_location)
        except ValueError:
            return None

    def _started(self) -> Depot:
        """The depot the window was started on (the actions that need it are enabled by `start`)."""
        if self.depot is None:
            raise RuntimeError("the database is not open yet")
        return self.depot

    def _zone(self) -> tzinfo | None:
        """The depot's time zone now (before the depot opens, as the settings name it)."""
        if self.depot is not None:
            return self.depot.rules.timezone
        try:
            return ZoneInfo(self.settings.depot_timezone) if self.settings.depot_timezone else None
        except (ValueError, ZoneInfoNotFoundError):  # the depot refuses it when it opens, and says why
            return None

    def _on_unit_plugged(self, port: PortInfo) -> None:
        """A unit appeared on a port: unless it is one read live, the Dock panel says whose it is."""
        live_ports = {p for p, _status, _rate in self.feed.running_units().values()} if self.feed else set()
        if port.device in live_ports:
            return
        self.show_docking().offer(port)

    def database_failed(self, error: Exception) -> None:
        """The database could not be opened: say which, why and what to do; the window stays usable."""
        self.units_label.setText("No database")
        self.routes.summary.setText("No database: no routes to show.")
        self.db_label.setText("Database: could not be opened")
        text = (f"{error}\n\nCheck that the database server is running and reachable, or start Fleet Desk "
                "with another database: fleet-desk --db URL (or set FLEET_DESK_DB).")
        messages.error(str(error))
        self.database_box = QMessageBox(QMessageBox.Icon.Critical, "Database", text, QMessageBox.StandardButton.Ok,
                                        self)
        self.database_box.setModal(False)
        self.database_box.show()

    # Reactions
    def _on_fleet(self, changed: list[FleetVehicle], removed: list[int]) -> None:
        self.board_model.apply(changed, removed)
        self.map.show_vehicles((v, self.board_model.state_of(v.vehicle_id)) for v in changed)
        self.map.remove_vehicles(removed)
        if not self._seen_fleet and any(v.lat is not None for v in changed):
            self._seen_fleet = True  # the map fits itself to new vehicles until the user moves it
            self.fleetShown.emit()

    def _on_routes(self, routes: list[RouteView]) -> None:
        if routes and not self._seen_routes:  # a day with routes: the dispatcher's first view
            self._seen_routes = True
            self.routes_panel.raise_()
        self.map.show_routes(routes, self._selected_route, self._zone())

    def _on_route_selected(self, route_id: int) -> None:
        self._selected_route = route_id if route_id >= 0 else None
        route = self.routes.selected_route()
        self.map.show_routes(self.routes.current_routes, self._selected_route, self._zone())
        self.map.show_track([])
        if route is None or self.depot is None:
            return
        self.map.select(route.vehicle_id, center=False)
        self.board.select_vehicle(route.vehicle_id)
        since = route.departed_ms or route.planned_start_ms
        if since is not None:
            from fleet_desk.fleet.watch import vehicle_track

            engine, vehicle_id = self.depot.engine, route.vehicle_id
            run_in_background(lambda: vehicle_track(engine, vehicle_id, since), self.map.show_track)

    def _on_states_changed(self, vehicle_ids: list[int]) -> None:
        vehicles = [self.board_model.vehicle(vid) for vid in vehicle_ids]
        self.map.show_vehicles((v, self.board_model.state_of(v.vehicle_id)) for v in vehicles if v)

    def _on_unit_status(self, unit: str, status: UnitStatus) -> None:
        self.board_model.set_unit_status(unit, status)  # the status bar follows on the next tick

    def _show_clock(self) -> None:
        """ "Desk: desk-2 · Paris 07:28": this desk's name (the host's if not set) and the depot's time now."""
        from fleet_desk import times
        from fleet_desk.settings import host_name

        zone, now = self._zone(), now_ms()
        desk = self.depot.desk if self.depot is not None else self.settings.desk_name or host_name()
        self.clock_label.setText(f"Desk: {desk} · {times.depot_clock(now, zone)}")
        where = (f"the depot's time zone, {self.settings.depot_timezone}" if self.settings.depot_timezone else
                 f"this computer's zone ({times.zone_name(zone, now)}): the depot's time zone is not set "
                 "(Tools > Settings > Routes)")
        self.clock_label.setToolTip(f"Desk {desk}. Every time in this window is the depot's: {where}.")

    def _on_tick(self) -> None:
        self.board_model.tick()
        self._show_clock()
        if self.feed is None:
            return
        self.rate_label.setText(f"{self.feed.fixes_per_second():.1f} fixes/s")
        up, total = self.feed.connected_count()
        self.units_label.setText(f"Units: {up} of {total} connected" if total else "Units: none live")

    def _load_trails(self) -> None:
        since = now_ms() - self.settings.trail_minutes * 60_000
        if self.depot is not None and self.map.is_ready:
            from fleet_desk.fleet.watch import recent_trails

            engine = self.depot.engine
            run_in_background(lambda: recent_trails(engine, since), self.map.load_trails)

    def _on_map_ready(self) -> None:
        self._load_trails()
        self.map.show_vehicles((v, self.board_model.state_of(v.vehicle_id)) for v in self.board_model.vehicles())
        self.map.set_follow(self.follow_action.isChecked())
        if self._seen_fleet:
            self.map.fit_to_fleet()
        self.mapReady.emit()

    def _on_changes(self, kinds: dict[str, set[int]]) -> None:
        """Something changed on the database, at this desk or another: the panels showing it read it again
        (the board and the map through the fleet watch, which the same changes wake)."""
        if "stop" in kinds or "route" in kinds:
            self.routes.refresh()
        if "unit" in kinds:  # a unit claimed, let go or taken over, here or at another desk
            self.board.readers_changed()
            if self.units_dialog is not None:
                self.units_dialog.refresh_units()
        if self.outbox is not None:
            self.outbox.changed(kinds)
        if self.lookup is not None:
            self.lookup.changed(kinds)

    def _poll_fleet(self) -> None:
        """Something was stored: the board and map need not wait for the watch's next look."""
        if self.feed is not None:
            self.feed.watch.poll_now()

    def _poke_outbox(self) -> None:
        if self.outbox is not None:
            self.outbox.poke()

    def _on_outbox(self, status: dict) -> None:
        if self.outbox is not None:
            self.outbox_button.setText(self.outbox.text())
        trouble = status.get("dead") or status.get("retrying") or (status.get("problem") and status.get("pending"))
        self.outbox_button.setStyleSheet("color: #c62828; font-weight: bold" if trouble else "")

    def _on_tiles(self, notice: str) -> None:
        streets = self.map.road_map is not None
        self.tiles_label.setText(("Map tiles offline: road map streets" if streets else "Map tiles offline")
                                 if notice else "")
        self.tiles_label.setToolTip(notice)

    def _set_follow(self, on: bool) -> None:
        self.settings.follow_selected = on
        self.map.set_follow(on)

    def apply_settings(self, settings: Settings) -> None:
        """The user changed the settings: the map (its page built again only if the tiles or the depot moved),
        the depot's rules and live tracker (from its next fix; before `start`, `start` does it), where notices
        go. Times shown follow the depot's zone at their next repaint."""
        self.settings = settings
        self.map.configure(settings, self.depot_position())
        if self.depot is not None:
            self.depot.configure(settings)
        if self.outbox is not None:
            self.outbox.configure(settings)

    # Panels and dialogs, made on first use
    def _add_panel(self, title: str, object_name: str, widget: QWidget) -> QDockWidget:
        """A panel tabbed with the board and routes."""
        panel = QDockWidget(title, self)
        panel.setObjectName(object_name)
        panel.setWidget(widget)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, panel)
        self.tabifyDockWidget(self.routes_panel, panel)
        return panel

    def show_lookup(self, text: str = "") -> LookupView:
        """Ctrl+L from anywhere: the Customer lookup panel, raised and ready to type (``text`` in the box)."""
        view, panel = self.lookup, self.lookup_panel
        if view is None or panel is None:
            from fleet_desk.ui.panels.lookup import LookupView

            view = self.lookup = LookupView(self._started(), self.settings, self.depot_position(), self)
            view.map.set_road_map(self.depot.road_info if self.depot is not None else None)
            panel = self.lookup_panel = self._add_panel("Customer lookup", "lookupDock", view)
        panel.show()
        panel.raise_()
        self.activateWindow()
        view.start_search(text)
        return view

    def show_docking(self) -> DockView:
        """Tools > Dock a unit: the panel, raised; the stops a dock fills in show on the routes."""
        view, panel = self.docking, self.docking_panel
        if view is None or panel is None:
            from fleet_desk.ui.panels.dock import DockView

            view = self.docking = DockView(self._started(), self)
            view.docked.connect(lambda _summary: self.routes.refresh())
            if self.port_watch is not None:
                view.set_ports(list(self.port_watch.ports.values()))
                self.port_watch.listed.connect(view.set_ports)
            panel = self.docking_panel = self._add_panel("Dock a unit", "dockUnitDock", view)
        panel.show()
        panel.raise_()
        return view

    def show_outbox(self) -> OutboxMonitor:
        """Tools > Outbox (one window, raised if open already)."""
        if self.outbox_monitor is None:
            from fleet_desk.ui.dialogs.outbox import OutboxMonitor

            if self.outbox is None:
                raise RuntimeError("the database is not open yet")
            self.outbox_monitor = OutboxMonitor(self.outbox, self._started(), self)
        self.outbox_monitor.show()
        self.outbox_monitor.raise_()
        return self.outbox_monitor

    def show_units(self) -> GpsUnitsDialog:
        """Tools > GPS units (one dialog, raised if open already)."""
        if self.units_dialog is None:
            from fleet_desk.ui.dialogs.units import GpsUnitsDialog

            if self.feed is None:
                raise RuntimeError("the database is not open yet")
            self.units_dialog = GpsUnitsDialog(self.feed, self._started().engine, self._zone, self)
        self.units_dialog.show()
        self.units_dialog.raise_()
        self.units_dialog.refresh_units()
        return self.units_dialog

    def show_road_map(self) -> RoadMapDialog:
        """Tools > Road map (one dialog, raised if open already): the map ETAs use, and importing another."""
        if self.road_map_dialog is None:
            from fleet_desk.ui.dialogs.road_map import RoadMapDialog

            self.road_map_dialog = RoadMapDialog(self._started(), self.depot_position(), self)
            self.road_map_dialog.changed.connect(self._on_road_map)
        self.road_map_dialog.depot_position = self.depot_position()
        self.road_map_dialog.refresh()
        self.road_map_dialog.show()
        self.road_map_dialog.raise_()
        return self.road_map_dialog

    def _on_road_map(self, info: object) -> None:
        """A new road map is in use: the map draws its streets; the routes' ETAs follow at their next fix."""
        road_info = self.depot.road_info if self.depot is not None else None
        for view in (self.map, self.lookup.map if self.lookup is not None else None):
            if view is not None:
                view.set_road_map(road_info)
        self.routes.refresh()

    def import_logs(self, paths: list[Path] | None = None) -> ImportFlow | None:
        """File > Import log (``paths``: those files, else the ones the user picks); the board follows."""
        from fleet_desk.ui.dialogs.import_log import ImportFlow, choose_logs

        paths = choose_logs(self) if paths is None else paths
        if not paths:
            return None
        flow = ImportFlow(self._started(), paths, self)
        flow.done.connect(lambda _outcomes: self._poll_fleet())
        flow.ask()
        return flow

    def import_manifest(self, path: Path | None = None) -> ManifestImport | None:
        """File > Import manifest (``path``: that file, else the one the user picks); the routes follow."""
        from fleet_desk.ui.dialogs.manifest import ManifestImport, choose_manifest

        path = choose_manifest(self) if path is None else path
        if path is None:
            return None
        flow = ManifestImport(self._started(), path, self)
        flow.stored.connect(self.routes.refresh)
        flow.start()
        return flow

    def export_positions(self) -> None:
        """File > Export positions."""
        from fleet_desk.ui.dialogs.export import export_positions

        export_positions(self._started().engine, self)

    def edit_settings(self) -> SettingsDialog:
        """Tools > Settings (window-modal); what the user chose is saved and applied on OK."""
        from fleet_desk.ui.dialogs.settings import SettingsDialog

        dialog = SettingsDialog(self.settings, self)
        dialog.chosen.connect(self.apply_settings)
        dialog.open()
        return dialog

    def _about(self) -> None:
        QMessageBox.about(self, "About Fleet Desk",
                          f"<b>Fleet Desk {__version__}</b><p>Live fleet map, ETAs and customer notices "
                          "for delivery depots.</p><p>Map data &copy; OpenStreetMap contributors "
                          "(when the default tiles are used). Leaflet &copy; its authors.</p>")

    def _show_log_location(self) -> None:
        path = log_path()
        box = QMessageBox(QMessageBox.Icon.Information, "Log file",
                          f"Fleet Desk writes its log to:\n{path}", parent=self)
        open_button = box.addButton("Open folder", QMessageBox.ButtonRole.ActionRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.exec()
        if box.clickedButton() is open_button:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))

    # Layout memory
    def _restore_layout(self) -> None:
        state = window_state()
        geometry = state.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        dock_state = state.value("windowState")
        if dock_state is not None:
            self.restoreState(dock_state)
        header = state.value("boardHeader")
        if header is not None:
            self.board.table.horizontalHeader().restoreState(header)

    def save_layout(self) -> None:
        state = window_state()
        state.setValue("geometry", self.saveGeometry())
        state.setValue("windowState", self.saveState())
        state.setValue("boardHeader", self.board.table.horizontalHeader().saveState())
        state.sync()

    def _reset_layout(self) -> None:
        self.restoreState(self._default_state)
        self.board_panel.show()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.remember_layout:  # a screenshot or benchmark run leaves the user's layout and settings alone
            self.save_layout()
            try:
                self.settings.save()  # the View menu's follow toggle
            except OSError as exc:
                log.warning("could not save settings: %s", exc)
        self._tick.stop()
        self.board.stop_readers()
        if self.maintenance is not None:
            self.maintenance.stop()
        if self.port_watch is not None:
            self.port_watch.stop()
        if self.docking is not None:
            self.docking.cancel_download()  # what was read is stored; the unit is not erased
        if self.road_map_dialog is not None:
            self.road_map_dialog.cancel_import()  # the map in use stays
        if self.feed is not None:
            self.feed.stop()
        if self.outbox is not None:
            self.outbox.stop()
        if self.changes is not None:
            self.changes.stop()
        self.routes.stop()
        self.message_bar.detach()
        super().closeEvent(event)
