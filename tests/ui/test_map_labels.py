"""The map reads at a glance (issue 20): a van at the depot does not cover the depot's label, nearby vans'
labels do not overlap, a legend says what the colours mean, and on the small map of the lookup the offline
notice leaves the customer's stop in view."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent
from pytestqt.qtbot import QtBot

from fleet_desk.settings import Settings
from fleet_desk.ui.main_window import MainWindow
from fleet_desk.ui.map.view import FleetMapView
from tests.helpers.desk import CLOSED_PORT_TILES, close_window, js, open_window

DEPOT = (45.75, 4.85)


def _overlap(a: dict, b: dict) -> bool:
    return not (a["r"] <= b["l"] or b["r"] <= a["l"] or a["b"] <= b["t"] or b["b"] <= a["t"])


def _latlon(qtbot: QtBot, window: MainWindow, point: list[float]) -> tuple[float, float]:
    """The map position under a point of the map's widget (pixels from its top left)."""
    ll = js(qtbot, window, "(() => { const m = Object.values(window).find(v => v instanceof L.Map);"
                           f" const ll = m.containerPointToLatLng([{point[0]}, {point[1]}]);"
                           " return [ll.lat, ll.lng]; })()")
    return ll[0], ll[1]


def _van(vid: int, lat: float, lon: float, course: float | None = 90.0) -> dict:
    return {"id": vid, "label": f"Van {vid}", "lat": lat, "lon": lon, "course": course, "state": "stopped",
            "t": 1_700_000_000_000}


def _evaluate(qtbot: QtBot, view: FleetMapView, expression: str) -> str:
    box: dict = {}
    view.evaluate(expression, lambda result: box.setdefault("r", result))
    qtbot.waitUntil(lambda: "r" in box, timeout=10000)
    return box["r"]


def test_labels_keep_clear_of_the_depot_and_of_each_other_and_a_legend_explains_the_colours(
        qtbot: QtBot, tmp_path: Path) -> None:
    settings = Settings(tile_url=CLOSED_PORT_TILES, depot_location=f"{DEPOT[0]}, {DEPOT[1]}")
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}", settings)
    try:
        vans = [_van(3, *DEPOT), _van(6, 45.7600, 4.8600), _van(10, 45.76005, 4.86005, 180.0),
                _van(11, 45.75995, 4.86010), _van(1, 45.7400, 4.8400)]
        window.map.call("update", {"vehicles": vans, "removed": []})
        qtbot.waitUntil(lambda: js(qtbot, window, "fleetMap.count()") == 5, timeout=10000)
        window.map.call("setZoom", 14)
        # One more where the legend is (the top right corner): its label goes where it can be read.
        top_right = js(qtbot, window, "(() => { const b = document.querySelector('.fd-legend').getBoundingClientRect();"
                                      " const c = document.querySelector('.leaflet-container').getBoundingClientRect();"
                                      " return [b.left - c.left - 30, b.top - c.top + 40]; })()")
        window.map.call("update", {"vehicles": [_van(12, *_latlon(qtbot, window, top_right))], "removed": []})
        qtbot.waitUntil(lambda: js(qtbot, window, "fleetMap.count()") == 6, timeout=10000)
        layout = js(qtbot, window, "fleetMap.layout()")
        depot = layout["depot"]
        assert depot is not None
        shown = {vid: v for vid, v in layout["vans"].items() if not v["hidden"]}
        for vid, van in layout["vans"].items():  # the van standing at the depot covers neither the label nor...
            assert not _overlap(van["icon"], depot), vid
        for vid, van in shown.items():
            assert not _overlap(van["label"], depot), vid  # ... does any van's label
            assert not _overlap(van["label"], layout["legend"]), vid  # nor does one hide under the legend
            for other, theirs in shown.items():
                if other != vid:
                    assert not _overlap(van["label"], theirs["label"]), (vid, other)
                    assert not _overlap(van["label"], theirs["icon"]), (vid, other)
        assert {"3", "6", "10", "1", "12"} <= set(shown)  # close together or in a corner, yet each named

        # The legend: what each van and stop colour means, open on the main map.
        assert layout["legend"] is not None and layout["legendCollapsed"] is False
        words = js(qtbot, window, "Array.from(document.querySelectorAll('.fd-legend-row')).map(e => e.textContent)")
        assert {"moving", "stopped", "no recent fix", "offline", "to do", "van at the stop", "delivered", "failed",
                "will be late"} <= set(words)
    finally:
        close_window(window, engine)


def test_the_small_maps_notice_leaves_the_stop_in_view(qtbot: QtBot, tmp_path: Path) -> None:
    settings = Settings(tile_url=CLOSED_PORT_TILES, depot_location=f"{DEPOT[0]}, {DEPOT[1]}")
    view = FleetMapView(settings, DEPOT)
    view.resize(380, 260)  # the lookup's map
    view.show()
    try:
        qtbot.waitUntil(lambda: view.is_ready, timeout=30000)
        qtbot.waitUntil(lambda: view.tile_notice != "", timeout=15000)
        stop = {"lat": 45.752, "lon": 4.853, "status": "pending", "label": "ORD-1 window 10:00-12:00"}
        vehicle = {"id": 1, "label": "Van 1", "lat": 45.7400, "lon": 4.8400, "course": None, "state": "moving",
                   "t": 1_700_000_000_000}
        for van in (None, vehicle):
            view.call("focusOrder", {"stop": stop, "vehicle": van})
            layout = json.loads(_evaluate(qtbot, view, "JSON.stringify(fleetMap.layout())"))
            assert layout["notice"] is not None and layout["stop"] is not None
            assert not _overlap(layout["stop"], layout["notice"]), layout
            assert layout["legendCollapsed"] is True  # a small map: the legend is a title to click
        shown = _evaluate(qtbot, view, "fleetMap.noticeShown()")
        assert shown.startswith("Map tiles cannot be loaded")  # a few words; the whole in its tooltip
    finally:
        view.close()
        view.deleteLater()  # the page goes before the web profile; its timer with it
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
