"""The desktop app under test: a main window opened on a database, its map page asked, and closed cleanly."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine

from drivers.base import PortInfo
from fleet_desk.depot import Depot
from fleet_desk.push.endpoint import Endpoint
from fleet_desk.settings import Settings
from fleet_desk.store import open_database
from fleet_desk.ui.main_window import MainWindow
from fleet_desk.ui.tasks import wait_for_background

CLOSED_PORT_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # nothing listens: every tile fails, as offline
Desk = tuple[MainWindow, Engine]
"""A window open on a depot database, and that database's engine (for the test to write and read)."""


def js(qtbot: QtBot, window: MainWindow, expression: str, timeout: int = 10000) -> Any:
    """Evaluate JS on the map page and return its result."""
    box: dict = {}
    window.map.evaluate(f"JSON.stringify({expression})", lambda result: box.setdefault("r", result))
    qtbot.waitUntil(lambda: "r" in box, timeout=timeout)
    return None if box["r"] in (None, "") else json.loads(box["r"])


def open_window(qtbot: QtBot, url: str, settings: Settings | None = None, remember: bool = False,
                fixed_endpoint: Endpoint | None = None,
                port_lister: Callable[[], list[PortInfo]] | None = None) -> Desk:
    """The main window on ``url``, shown, its map page loaded and started on a `Depot` made as the app makes
    it (offline tiles). Stores a test makes while the window is open go through ``window.depot.tracker``, as
    the app's imports and docks do."""
    engine = open_database(url)
    window = MainWindow(url, settings or Settings(tile_url=CLOSED_PORT_TILES, tile_attribution="test tiles"),
                        remember_layout=remember, fixed_endpoint=fixed_endpoint)
    window.port_lister = port_lister
    window.show()
    qtbot.waitUntil(lambda: window.map.is_ready, timeout=30000)
    window.start(Depot(engine, window.settings))
    return window, engine


def close_window(window: MainWindow, engine: Engine) -> None:
    """Close and delete the window (its web page must go before the app's web profile)."""
    window.close()
    wait_for_background()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    engine.dispose()
