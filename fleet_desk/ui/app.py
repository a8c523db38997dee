"""Starting the desktop app: logging, crash handler, database, window, demo fleet.

``fleet-desk`` with no subcommand runs `run_app`; ``--demo`` first builds the
demo fleet; ``--screenshot FILE`` saves the window once vehicles are on the
map and exits.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the database layer loads after the window shows
    from fleet_desk.depot import Depot
    from fleet_desk.settings import Settings
    from fleet_desk.sim.demo import DemoFleet
    from fleet_desk.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def process_age_s() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere since import)."""
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        start = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - start
    except (OSError, ValueError, IndexError):
        return time.monotonic() - _IMPORTED


_IMPORTED = time.monotonic()


def _chromium_flags() -> None:
    flags = os.environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--no-sandbox" not in flags:
        flags += " --no-sandbox"  # Chromium refuses to run its sandbox as root
    os.environ["QTWEBENGINE_CHROMIUM_FLAGS"] = flags.strip()


def tune_interpreter() -> None:
    """Hand the interpreter lock to the GUI thread sooner.

    Ingestion and database threads run Python too; with the default 5 ms
    switch interval the GUI thread can wait several slices per event.
    """
    sys.setswitchinterval(0.001)


class Startup:
    """Start-up figures: when the window showed and when the map was ready."""

    def __init__(self) -> None:
        self.window_shown_s: float | None = None
        self.map_ready_s: float | None = None
        self.first_vehicles_s: float | None = None

    def text(self) -> str:
        def f(v: float | None) -> str:
            return "-" if v is None else f"{v:.2f} s"

        return (f"start-up: window shown {f(self.window_shown_s)}, map ready {f(self.map_ready_s)}, "
                f"vehicles on the map {f(self.first_vehicles_s)} after process start")


def no_display_reason() -> str | None:
    """Why no window can open here, before Qt aborts the process over it (None: go ahead): no display, or Qt's
    X11 plugin missing system libraries (Qt's own message names only the first, and not its package)."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if not sys.platform.startswith("linux") or (platform and not platform.startswith("xcb")):
        return None
    if os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return missing_xcb_libraries()
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or platform:
        return None
    return ("no display: neither DISPLAY nor WAYLAND_DISPLAY is set. Run Fleet Desk on a desktop session; on a "
            "machine without a screen, `QT_QPA_PLATFORM=offscreen fleet-desk --demo --screenshot shot.png` saves a "
            "picture of the window and `fleet-desk --demo --headless` prints the live fixes")


#: The Debian/Ubuntu package of each library Qt's xcb plugin loads that a desktop may lack.
XCB_PACKAGES = {"libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
                "libxcb-keysyms.so.1": "libxcb-keysyms1", "libxcb-image.so.0": "libxcb-image0",
                "libxcb-render-util.so.0": "libxcb-render-util0", "libxcb-randr.so.0": "libxcb-randr0",
                "libxcb-shape.so.0": "libxcb-shape0", "libxcb-sync.so.1": "libxcb-sync1",
                "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-xkb.so.1": "libxcb-xkb1",
                "libxkbcommon-x11.so.0": "libxkbcommon-x11-0", "libX11-xcb.so.1": "libx11-xcb1"}


def missing_xcb_libraries() -> str | None:
    """Which system libraries Qt's X11 (xcb) plugin cannot load here, asked of the system's own loader
    (``ldd``), with the command that installs them; None when none is missing (or it cannot be told)."""
    import shutil
    import subprocess
    from importlib.util import find_spec

    spec = find_spec("PySide6")
    ldd = shutil.which("ldd")
    if spec is None or spec.origin is None or ldd is None:
        return None
    plugin = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.exists():
        return None
    try:
        said = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    missing = list(dict.fromkeys(line.split("=>")[0].strip() for line in said.splitlines() if "not found" in line))
    if not missing:
        return None
    packages = [XCB_PACKAGES[lib] for lib in missing if lib in XCB_PACKAGES]
    install = f"; on Debian or Ubuntu: sudo apt-get install {' '.join(packages)}" if packages else ""
    return (f"Qt's X11 plugin cannot start: this system lacks {', '.join(missing)}{install} (the README lists "
            "every library a desktop needs)")


def run_app(db: str | None, demo: bool = False, screenshot: Path | None = None, after: float = 30.0,
            vehicles: int = 12) -> int:
    """Run the desktop app until its window closes.

    Args:
        db: the database URL (None: ``FLEET_DESK_DB``, else the per-user database).
        demo: first build the demo fleet, whose notices go to its own endpoint, never a real one.
        screenshot: save the window to this file once vehicles are on the map and live fixes flow, then quit.
        after: with ``screenshot``, save the window as it is if no vehicles show within this many seconds.
        vehicles: how many vans the demo fleet runs.

    Returns:
        The exit code: 0 once the window is closed (or the screenshot saved), 1 when start-up or saving the
        screenshot failed, 2 when there is no display to show a window on.
    """
    from fleet_desk.logs import setup_logging

    reason = no_display_reason()
    if reason:
        print(f"fleet-desk: {reason}", file=sys.stderr)
        return 2

    log_file = setup_logging()
    _chromium_flags()
    tune_interpreter()
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    import resources
    from fleet_desk.ui.map.view import FleetMapView  # noqa: F401 - QtWebEngine before the QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Fleet Desk")
    app.setOrganizationName("Fleet Desk")
    app.setWindowIcon(QIcon(str(resources.APP_ICON)))

    from fleet_desk.ui.dialogs.crash import CrashHandler

    crash = CrashHandler(log_file)
    crash.install()
    session = AppSession(db, demo, vehicles, screenshot is None)
    try:
        window = session.open()
    except Exception as exc:  # e.g. the demo's pseudo-terminals could not be made
        log.exception("start-up failed")
        print(f"fleet-desk: could not start: {exc} (details in {log_file})", file=sys.stderr)
        session.close()
        return 1
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    keepalive = QTimer()  # lets Python see Ctrl-C while Qt's loop runs
    keepalive.start(250)
    keepalive.timeout.connect(lambda: None)

    shooter = Screenshot(window, screenshot, after, session.startup) if screenshot else None
    if shooter:
        shooter.start()
    code = app.exec()
    if shooter:
        code = shooter.exit_code
    session.close()
    crash.uninstall()
    return code


class AppSession:
    """The window and what it runs on; `close` releases all of it."""

    def __init__(self, db: str | None, demo: bool, vehicles: int, remember_layout: bool = True) -> None:
        self.db, self.demo_wanted, self.vehicles = db, demo, vehicles
        self.remember_layout = remember_layout  # a screenshot run uses the default layout and leaves it alone
        self.demo: DemoFleet | None = None
        self.window: MainWindow | None = None
        self.depot: Depot | None = None  # the core's front door, once the database is open
        self.startup = Startup()

    def open(self) -> MainWindow:
        """Show the window at once; build the demo and open the database in the background."""
        from fleet_desk.settings import Settings
        from fleet_desk.ui.main_window import MainWindow

        settings = Settings.load()
        note = ""
        if self.demo_wanted:
            from fleet_desk.sim.demo import DemoFleet, demo_settings

            self.demo = DemoFleet(self.vehicles)
            url = self.demo.url
            settings = demo_settings(settings)
            note = (f"demo fleet ({self.vehicles} simulated vans; the database is thrown away on exit; "
                    "customer notices go to a demo endpoint on this computer)")
        else:
            from fleet_desk.store.database import resolve_url

            url = resolve_url(self.db)
        demo = self.demo
        window = self.window = MainWindow(url, settings, note, depot_position=demo.depot if demo else None,
                                          remember_layout=self.remember_layout,
                                          fixed_endpoint=demo.tracking.endpoint if demo else None)
        window.mapReady.connect(lambda: self._mark("map_ready_s"))
        window.fleetShown.connect(lambda: self._mark("first_vehicles_s"))
        window.show()
        self._mark("window_shown_s")
        self._open_database(url, settings)
        return window

    def _mark(self, what: str) -> None:
        if getattr(self.startup, what) is None:
            setattr(self.startup, what, process_age_s())
            log.info(self.startup.text())

    def _open_database(self, url: str, settings: Settings) -> None:
        """Build the one `Depot` (the database opened; the demo's day stored through its tracker), then start the
        window on it."""
        from fleet_desk.ui.tasks import run_in_background

        demo = self.demo

        def open_it() -> Depot:
            from fleet_desk.depot import Depot

            # The demo's ETAs ride on the demo town's road map, never on the installation's.
            depot = Depot.open(url, settings, road_map=demo.road_map if demo is not None else True)
            if demo is not None:
                try:
                    demo.prepare(depot)
                except BaseException:
                    depot.close()
                    raise
                demo.start()
            return depot

        def opened(depot: Depot) -> None:
            self.depot = depot
            if self.window is not None:
                self.window.start(depot)

        def failed(exc: Exception) -> None:
            if self.window is not None:
                self.window.database_failed(exc)

        run_in_background(open_it, opened, failed)

    def close(self) -> None:
        from fleet_desk.ui.tasks import wait_for_background

        if self.window is not None:
            self.window.close()
        wait_for_background()
        if self.window is not None:  # web pages must go before the web engine profile and the app
            from PySide6.QtCore import QCoreApplication, QEvent

            self.window.deleteLater()
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            self.window = None
        if self.depot is not None:
            self.depot.close()
        if self.demo is not None:
            self.demo.stop()


class Screenshot:
    """``--screenshot FILE --after S``: save the window once vehicles are on the map and live fixes flow (the
    status bar shows their rate), then quit."""

    POLL_MS = 250
    SETTLE_MS = 1500  # let markers and the tile notice paint

    def __init__(self, window: MainWindow, path: Path, after: float, startup: Startup) -> None:
        self.window, self.path, self.after, self.startup = window, Path(path), after, startup
        self.exit_code = 1
        self.deadline = time.monotonic() + after

    def start(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(self.POLL_MS)
        self.timer.timeout.connect(self._poll)
        self.timer.start()

    def _poll(self) -> None:
        if time.monotonic() >= self.deadline:
            self.timer.stop()
            print(f"fleet-desk: no vehicles on the map after {self.after:.0f} s; saving the window as it is",
                  file=sys.stderr)
            self._save()
            return
        if self.window.map.is_ready:
            self.window.map.evaluate("fleetMap.count()", self._counted)

    def _live_flowing(self) -> bool:
        feed = self.window.feed
        return feed is not None and (feed.connected_count()[1] == 0 or feed.fixes_per_second() > 0)

    def _counted(self, count: int | None) -> None:
        if count and self._live_flowing() and self.timer.isActive():
            self.timer.stop()
            from PySide6.QtCore import QTimer

            QTimer.singleShot(self.SETTLE_MS, self._save)

    def _save(self) -> None:
        from PySide6.QtWidgets import QApplication

        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.window.grab().save(str(self.path)):
            print(f"screenshot saved to {self.path}", file=sys.stderr)
            print(self.startup.text(), file=sys.stderr)
            self.exit_code = 0
        else:
            print(f"fleet-desk: could not save the screenshot to {self.path}", file=sys.stderr)
        QApplication.quit()
