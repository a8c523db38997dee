"""Tools > Road map and the offline street layer, offscreen, on real road maps built from central Helsinki."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from fleet_desk.roads.library import MapInfo, current_map, roads_dir
from fleet_desk.settings import Settings
from fleet_desk.ui.dialogs.road_map import RoadMapDialog
from fleet_desk.ui.main_window import MainWindow
from tests.helpers.desk import CLOSED_PORT_TILES, Desk, close_window, js, open_window
from tests.helpers.roadmaps import helsinki_pbf, install_map

KAMPPI = (60.1690, 24.9400)  # a street corner in the extract
RAUTATIENTORI = (60.1710, 24.9440)
IN_HELSINKI = Settings(tile_url=CLOSED_PORT_TILES, tile_attribution="test tiles", depot_location="60.1700, 24.9420")


@pytest.fixture
def roads_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own road maps folder: no map in use until the test builds one."""
    monkeypatch.setenv("FLEET_DESK_DATA_DIR", str(tmp_path / "data"))
    return roads_dir()


@contextmanager
def helsinki_desk(qtbot: QtBot, tmp_path: Path, settings: Settings = IN_HELSINKI) -> Iterator[Desk]:
    """The main window on a fresh database, its depot in central Helsinki (with the road map in use, if any)."""
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}", settings)
    try:
        yield window, engine
    finally:
        close_window(window, engine)


def extract(tmp_path: Path, name: str) -> Path:
    """Central Helsinki's extract under another name (the map is named after its file)."""
    path = tmp_path / f"{name}.osm.pbf"
    shutil.copyfile(helsinki_pbf(), path)
    return path


def built_maps() -> list[str]:
    """The folders under the road maps folder (a build leaves none half-made)."""
    return sorted(p.name for p in roads_dir().iterdir() if p.is_dir()) if roads_dir().exists() else []


def test_tools_road_map_imports_an_extract_with_progress_and_the_depot_uses_it(
        qtbot: QtBot, tmp_path: Path, roads_home: Path) -> None:
    with helsinki_desk(qtbot, tmp_path) as (window, _engine):
        assert window.depot.road_info is None
        dialog: RoadMapDialog = window.show_road_map()
        assert "No road map" in dialog.description.text() and "straight line" in dialog.description.text()

        with qtbot.waitSignal(dialog.changed, timeout=120000) as built:
            dialog.import_extract(extract(tmp_path, "Helsinki"))
            assert dialog.progress is not None and dialog.progress.isVisible()
            assert not dialog.import_button.isEnabled()  # one build at a time
        info: MapInfo = built.args[0]
        # Progress went through the build's stages, in order, and the dialog closed it.
        assert dialog.stages[0] == "Reading the extract"
        assert {"Extracting roads", "Partitioning", "Customizing"} <= set(dialog.stages), dialog.stages
        assert dialog.progress is None and dialog.import_button.isEnabled()

        # The depot's live tracker rides on it, and it routes Helsinki's streets.
        assert window.depot.road_info == info and info.name == "Helsinki"
        assert current_map() == info
        leg = window.depot.road_map.legs([KAMPPI, RAUTATIENTORI])[0]
        assert leg is not None and leg.metres > 300
        # The dialog says which map is in use; the message bar says it is in use.
        text = dialog.description.text()
        assert "<b>Helsinki</b> is the road map in use" in text and info.area_text in text and "Built" in text
        assert "outside this map's area" not in text  # the depot is inside it
        assert any(t.startswith("Road map Helsinki in use") for t in window.message_bar.texts())
        # The map draws its streets: the tiles cannot load.
        qtbot.waitUntil(lambda: js(qtbot, window, "fleetMap.streetInfo()")["shown"], timeout=15000)
        assert js(qtbot, window, "fleetMap.streetInfo()")["map"] == "Helsinki"


def test_cancelling_an_import_leaves_the_map_in_use(qtbot: QtBot, tmp_path: Path, roads_home: Path) -> None:
    old = install_map("town")
    with helsinki_desk(qtbot, tmp_path) as (window, _engine):
        assert window.depot.road_info == old
        dialog = window.show_road_map()
        assert "<b>Riverton</b> is the road map in use" in dialog.description.text()

        job = dialog.import_extract(extract(tmp_path, "Helsinki"))
        assert job is not None and dialog.progress is not None
        with qtbot.waitSignal(job.failed, timeout=60000) as failed:
            cancel = next(b for b in dialog.progress.findChildren(QPushButton) if b.text() == "Cancel")
            cancel.click()
        assert type(failed.args[0]).__name__ == "BuildCancelled"

        assert window.depot.road_info == old and window.depot.road_map is not None
        assert current_map() == old
        assert built_maps() == [old.directory.name]  # nothing of the cancelled build is left
        assert dialog.problem.isHidden()  # cancelling is no failure
        assert any("cancelled: Riverton stays in use" in t for t in window.message_bar.texts())
        assert "<b>Riverton</b> is the road map in use" in dialog.description.text()
        qtbot.waitUntil(lambda: js(qtbot, window, "fleetMap.streetInfo()")["map"] == "Riverton", timeout=10000)


@pytest.mark.expected_errors  # the message bar's error is logged
def test_a_file_that_is_not_an_extract_is_one_line(qtbot: QtBot, tmp_path: Path, roads_home: Path) -> None:
    notes = tmp_path / "monday.osm.pbf"
    notes.write_text("Deliveries for Monday\nVan 3: Kamppi, Kallio\n", encoding="utf-8")
    with helsinki_desk(qtbot, tmp_path) as (window, _engine):
        dialog = window.show_road_map()
        job = dialog.import_extract(notes)
        assert job is not None
        with qtbot.waitSignal(job.failed, timeout=30000):
            pass
        line = dialog.problem.text()
        assert dialog.problem.isVisible()
        assert line.startswith("Not imported: ") and str(notes) in line and "not an OpenStreetMap extract" in line
        assert "\n" not in line and "Traceback" not in line
        assert [t for t in window.message_bar.texts() if t.startswith("Road map not imported: ")] == \
            ["Road map not imported: " + line.removeprefix("Not imported: ")]
        assert window.depot.road_info is None and current_map() is None and built_maps() == []
        assert dialog.import_button.isEnabled()


def test_the_map_draws_the_road_maps_streets_where_tiles_cannot_load(
        qtbot: QtBot, tmp_path: Path, roads_home: Path) -> None:
    install_map("helsinki")
    with helsinki_desk(qtbot, tmp_path) as (window, _engine):
        info = window.depot.road_info
        assert info is not None and window.map.road_map == info

        def streets() -> dict:
            return js(qtbot, window, "fleetMap.streetInfo()")

        qtbot.waitUntil(lambda: streets()["shown"], timeout=15000)
        assert streets()["tiles"] == "failing"
        notice = js(qtbot, window, "fleetMap.notice()")
        assert "cannot be loaded" in notice and "road map's streets (Helsinki)" in notice
        qtbot.waitUntil(lambda: window.tiles_label.text() == "Map tiles offline: road map streets", timeout=5000)

        # Main roads at a city's zoom, every street zoomed in; bridges among them.
        js(qtbot, window, "fleetMap.setZoom(11)")
        qtbot.waitUntil(lambda: streets()["zoom"] == 11 and streets()["level"] == "main", timeout=10000)
        main = streets()
        js(qtbot, window, "fleetMap.setZoom(15)")
        qtbot.waitUntil(lambda: streets()["level"] == "all", timeout=10000)
        every = streets()
        assert 0 < main["features"] < every["features"] <= info.streets
        assert every["bridges"] > 0
        # The canvas the streets are drawn on has street-coloured pixels, not the plain background only.
        assert js(qtbot, window, "fleetMap.streetPixels()") > 1000

        # The notice and the scale bar sit one above the other, neither covering the other.
        assert js(qtbot, window, "fleetMap.overlaps('.fd-notice', '.leaflet-control-scale')") is False
        # Leaflet redraws for a new size in the animation frame after the page's resize event: the frame asked
        # for after it (from a listener added after Leaflet's) runs once that is done.
        js(qtbot, window, "(window.fdResized = false, addEventListener('resize', () => requestAnimationFrame("
                          "() => { window.fdResized = true; }), { once: true }), true)")
        window.resize(700, 500)
        qtbot.waitUntil(lambda: js(qtbot, window, "window.fdResized") is True, timeout=10000)
        assert js(qtbot, window, "fleetMap.overlaps('.fd-notice', '.leaflet-control-scale')") is False

        # No tile server configured at all: the streets are the base layer too.
        window.apply_settings(replace(window.settings, tile_url=""))
        qtbot.waitUntil(lambda: window.map.is_ready and streets()["tiles"] == "none", timeout=15000)
        qtbot.waitUntil(lambda: streets()["shown"], timeout=10000)
        assert "No map tile server is configured: the road map's streets (Helsinki)" in \
            js(qtbot, window, "fleetMap.notice()")


@contextmanager
def tile_server() -> Iterator[str]:
    """A tile server on this computer: every tile a plain 256 px square. Yields its tile URL."""
    image = QImage(256, 256, QImage.Format.Format_RGB32)
    image.fill(QColor("#d9e7c8"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    png = bytes(data.data())

    class Tiles(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Tiles)
    thread = threading.Thread(target=server.serve_forever, name="tile server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_where_tiles_load_the_street_layer_stays_off(qtbot: QtBot, tmp_path: Path, roads_home: Path) -> None:
    install_map("helsinki")
    with tile_server() as tiles, helsinki_desk(qtbot, tmp_path, Settings(tile_url=tiles, tile_attribution="local",
                                                                     depot_location="60.1700, 24.9420")) as desk:
        window: MainWindow = desk[0]
        assert window.map.road_map is not None
        qtbot.waitUntil(lambda: js(qtbot, window, "fleetMap.streetInfo()")["tiles"] == "ok", timeout=15000)
        info = js(qtbot, window, "fleetMap.streetInfo()")
        assert info["map"] == "Helsinki" and info["shown"] is False and info["features"] == 0
        assert js(qtbot, window, "fleetMap.notice()") == "" and window.tiles_label.text() == ""
