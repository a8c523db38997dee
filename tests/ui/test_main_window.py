"""The desktop app, offscreen, with the real map page in QtWebEngine and real SQLite files."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, func, select

from fleet_desk.fleet.vehicles import FleetVehicle, VehicleState
from fleet_desk.gps import Fix
from fleet_desk.settings import Settings
from fleet_desk.store import PositionWriter, ensure_device, open_database
from fleet_desk.store.models import Position
from fleet_desk.store.registry import ensure_driver
from fleet_desk.store.units import unit_assignments
from fleet_desk.ui.models.fleet_board import AGE, SPEED, STATE, FleetBoardModel
from tests.helpers.desk import CLOSED_PORT_TILES, Desk, close_window, js, open_window
from tests.helpers.mounts import read_only
from tests.helpers.paths import NMEA_LOGS, ROOT


def store_fix(engine: Engine, device: str, vehicle: str, lat: float, lon: float, speed: float,
              when: datetime | None = None) -> int:
    ref = ensure_device(engine, device, vehicle)
    when = when or datetime.now(UTC)
    PositionWriter(engine, ref, "import").write(
        [Fix(when, lat, lon, speed, 90.0, 170.0, 1, 3, 9, 0.9, 1.5)]
    )
    return ref.vehicle_id


def test_qt_signals_do_not_leak_references() -> None:
    """PySide6 6.12.0 drops a reference to True on every emit and aborts; the pin keeps it out."""

    class Emitter(QObject):
        fired = Signal(int)

    emitter = Emitter()
    before = sys.getrefcount(True)
    for i in range(200):
        emitter.fired.emit(i)
    assert sys.getrefcount(True) >= before - 5


def test_map_page_draws_with_no_network(qtbot: QtBot, desk: Desk) -> None:
    window, _engine = desk
    assert js(qtbot, window, "typeof L.map") == "function"
    sources = js(qtbot, window, "Array.from(document.scripts).map(s => s.src).filter(s => s)")
    assert sources and all(s.startswith(("file://", "qrc:")) for s in sources), sources
    # The tiles cannot load: the page says so, and so does the status bar.
    qtbot.waitUntil(lambda: window.map.tile_notice != "", timeout=15000)
    assert "cannot be loaded" in js(qtbot, window, "fleetMap.notice()")
    assert window.tiles_label.text() == "Map tiles offline"


def test_positions_update_board_and_map(qtbot: QtBot, desk: Desk) -> None:
    window, engine = desk
    vid = store_fix(engine, "unit-07", "Van 7", 45.7500, 4.8500, 10.0)
    ensure_driver(engine, "Élodie Martin", "Van 7")
    model = window.board_model
    qtbot.waitUntil(lambda: model.vehicle(vid) is not None and model.vehicle(vid).driver == "Élodie Martin",
                    timeout=10000)
    row = model.row_of(vid)
    assert model.index(row, STATE).data() == "moving"
    assert model.index(row, SPEED).data() == "36 km/h"
    qtbot.waitUntil(lambda: js(qtbot, window, f"fleetMap.info({vid})") is not None, timeout=10000)
    info = js(qtbot, window, f"fleetMap.info({vid})")
    assert (info["lat"], info["lon"], info["state"], info["label"]) == (45.75, 4.85, "moving", "Van 7")

    store_fix(engine, "unit-07", "Van 7", 45.7600, 4.8600, 0.0, datetime.now(UTC) + timedelta(seconds=1))
    qtbot.waitUntil(lambda: js(qtbot, window, f"fleetMap.info({vid})")["lat"] == 45.76, timeout=10000)
    info = js(qtbot, window, f"fleetMap.info({vid})")
    assert info["state"] == "stopped" and info["trail"] == 2
    assert model.index(model.row_of(vid), STATE).data() == "stopped"


def test_the_map_opens_on_the_depot_the_settings_name_and_follows_them(qtbot: QtBot, tmp_path: Path) -> None:
    settings = Settings(tile_url=CLOSED_PORT_TILES, depot_location="48.8566, 2.3522")
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}", settings)
    try:
        center = js(qtbot, window, "fleetMap.center()")
        assert (round(center["lat"], 4), round(center["lon"], 4), center["zoom"]) == (48.8566, 2.3522, 13)
        assert js(qtbot, window, "document.querySelectorAll('.fd-depot').length") == 1  # the depot, marked

        # No depot known: no marker where there is no depot; the whole map until the fleet frames it.
        window.apply_settings(replace(window.settings, depot_location=""))
        qtbot.waitUntil(lambda: window.map.is_ready
                        and js(qtbot, window, "document.querySelectorAll('.fd-depot').length") == 0, timeout=15000)
        assert js(qtbot, window, "fleetMap.center()")["zoom"] < 5
    finally:
        close_window(window, engine)


def test_selection_follows_the_map_both_ways(qtbot: QtBot, desk: Desk) -> None:
    window, engine = desk
    v1 = store_fix(engine, "unit-01", "Van 1", 45.70, 4.80, 0.0)
    v2 = store_fix(engine, "unit-02", "Van 2", 45.78, 4.90, 0.0)
    qtbot.waitUntil(lambda: js(qtbot, window, "fleetMap.count()") == 2, timeout=10000)

    # Clicking a marker selects its row.
    js(qtbot, window, f"fleetMap.clickMarker({v2})")
    qtbot.waitUntil(lambda: window.board.selected_vehicle() == v2, timeout=5000)
    assert js(qtbot, window, f"fleetMap.info({v2})")["selected"] is True

    # Selecting a row selects its marker; double-clicking centres the map on it.
    table = window.board.table
    index = window.board.proxy.mapFromSource(window.board_model.index(window.board_model.row_of(v1), 0))
    table.setCurrentIndex(index)
    qtbot.waitUntil(lambda: js(qtbot, window, f"fleetMap.info({v1})")["selected"] is True, timeout=5000)
    assert js(qtbot, window, f"fleetMap.info({v2})")["selected"] is False
    rect = table.visualRect(index)
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: abs(js(qtbot, window, "fleetMap.center()")["lat"] - 45.70) < 1e-3, timeout=5000)


def test_vehicle_turns_stale_then_offline_when_fixes_stop(qtbot: QtBot, desk: Desk) -> None:
    window, engine = desk
    vid = store_fix(engine, "unit-03", "Van 3", 45.74, 4.84, 9.0)
    model = window.board_model
    qtbot.waitUntil(lambda: model.state_of(vid) is VehicleState.MOVING, timeout=10000)
    qtbot.waitUntil(lambda: js(qtbot, window, f"fleetMap.info({vid})") is not None, timeout=10000)
    start = model.vehicle(vid).fix_time_ms
    model.clock = lambda: start + 125_000  # two minutes and a bit without a fix
    with qtbot.waitSignal(model.statesChanged, timeout=5000) as changed:
        pass
    assert changed.args == [[vid]]
    assert model.index(model.row_of(vid), STATE).data() == "stale"
    assert model.index(model.row_of(vid), AGE).data() == "2 min 05 s"
    qtbot.waitUntil(lambda: js(qtbot, window, f"fleetMap.info({vid})")["state"] == "stale", timeout=5000)
    model.clock = lambda: start + 11 * 60_000
    qtbot.waitUntil(lambda: model.state_of(vid) is VehicleState.OFFLINE, timeout=5000)
    qtbot.waitUntil(lambda: js(qtbot, window, f"fleetMap.info({vid})")["state"] == "offline", timeout=5000)


def test_board_updates_only_changed_rows_and_filters(qtbot: QtBot) -> None:
    now = 1_000_000_000_000
    model = FleetBoardModel(clock=lambda: now)
    rows = [FleetVehicle(i, f"Van {i}", d, f"unit-{i}", now, 45.0, 4.0, 0.0, 0.0)
            for i, d in ((1, "Anna Keller"), (2, "Élodie Martin"), (10, "Karim Benali"))]
    model.apply(rows, [])
    changes = []
    model.dataChanged.connect(lambda a, b, roles=(): changes.append((a.row(), b.row())))
    moved = FleetVehicle(2, "Van 2", "Élodie Martin", "unit-2", now, 45.1, 4.1, 5.0, 0.0)
    model.apply([moved], [])
    assert changes == [(1, 1)]

    from fleet_desk.ui.panels.fleet_board import FleetBoard

    board = FleetBoard(model)
    qtbot.addWidget(board)
    board.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    order = [board.proxy.index(r, 0).data() for r in range(board.proxy.rowCount())]
    assert order == ["Van 1", "Van 2", "Van 10"]  # natural order
    board.filter.setText("karim")
    assert [board.proxy.index(r, 0).data() for r in range(board.proxy.rowCount())] == ["Van 10"]
    board.filter.setText("moving")
    assert [board.proxy.index(r, 0).data() for r in range(board.proxy.rowCount())] == ["Van 2"]


def test_the_board_paints_each_cell_in_one_call_and_looks_the_same(qtbot: QtBot) -> None:
    """Painting asks each cell for ten roles: the board's proxy hands them to the model in one call into Python
    (each call waits for the interpreter lock the ingest threads hold), and paints what Qt's own proxy paints."""
    from PySide6.QtCore import QSortFilterProxyModel

    from fleet_desk.ui.panels.fleet_board import FleetBoard

    now = 1_000_000_000_000
    model = FleetBoardModel(clock=lambda: now)
    model.apply([FleetVehicle(i, f"Van {i}", f"Driver {i}", f"unit-{i}", now - i * 7_000, 45.0 + i / 1000, 4.0,
                              float(i % 9), 0.0) for i in range(1, 61)], [])
    calls = {"data": 0, "multiData": 0}
    for name in calls:
        original = getattr(model, name)

        def counted(*args: object, _name: str = name, _original: object = original) -> object:
            calls[_name] += 1
            return _original(*args)  # type: ignore[operator]
        setattr(model, name, counted)
    board = FleetBoard(model)
    qtbot.addWidget(board)
    board.resize(900, 500)
    board.show()
    qtbot.waitExposed(board)
    calls.update(data=0, multiData=0)
    shown = board.table.viewport().grab().toImage()  # a paint of the visible cells, counted alone
    painted = dict(calls)
    plain = QSortFilterProxyModel(board)
    plain.setSourceModel(model)
    plain.setSortRole(board.proxy.sortRole())
    plain.sort(board.proxy.sortColumn(), board.proxy.sortOrder())
    board.table.setModel(plain)
    calls.update(data=0, multiData=0)
    assert board.table.viewport().grab().toImage() == shown  # the same pixels, every role answered alike
    assert painted["data"] == 0 and painted["multiData"] > 0, painted
    assert calls["multiData"] == 0 and calls["data"] >= 5 * painted["multiData"], (painted, calls)


def test_live_unit_attached_persists_and_restarts(qtbot: QtBot, tmp_path: Path) -> None:
    """Tools > GPS units: attach a pty unit, see it on the board, restart the app: it reads again."""
    from fleet_desk.sim.vans import PtyUnit, SimulatedUnit
    from tests.helpers.ptys import Feeder

    url = f"sqlite:///{tmp_path / 'depot.db'}"
    pty = PtyUnit(SimulatedUnit(0, seed=3), 9600)
    with Feeder(pty, datetime.now(UTC).replace(microsecond=0), rate_hz=1.0):
        window, engine = open_window(qtbot, url)
        dialog = window.show_units()
        dialog.unit_name.setText("unit-05")
        dialog.vehicle.setText("Van 5")
        dialog.port.setCurrentText(pty.path)
        dialog.baud.setCurrentIndex(dialog.baud.findData(9600))
        qtbot.mouseClick(dialog.attach_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: any(v.vehicle == "Van 5" and v.fix_time_ms for v in window.board_model.vehicles()),
                        timeout=20000)
        qtbot.waitUntil(lambda: window.units_label.text() == "Units: 1 of 1 connected", timeout=5000)
        qtbot.waitUntil(lambda: any(it.text(0) == "unit-05" and it.text(5).startswith("fix")
                                    for it in dialog._units.values()), timeout=10000)
        [saved] = unit_assignments(engine)
        assert (saved.device, saved.vehicle, saved.port, saved.baud, saved.live) == (
            "unit-05", "Van 5", pty.path, 9600, True)
        dialog.close()
        close_window(window, engine)

        window, engine = open_window(qtbot, url)  # the assignment restarts with the app
        qtbot.waitUntil(lambda: window.feed.connected_count() == (1, 1), timeout=20000)
        with engine.connect() as conn:
            before = conn.scalar(select(func.count()).select_from(Position))
        qtbot.waitUntil(lambda: _count(engine) > before, timeout=20000)
        close_window(window, engine)
    pty.close()


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Position))


def test_unplugged_unit_is_named_in_the_message_bar(qtbot: QtBot, desk: Desk) -> None:
    from fleet_desk.sim.vans import PtyUnit, SimulatedUnit

    window, _engine = desk
    pty = PtyUnit(SimulatedUnit(0), 4800)
    window.feed.attach("unit-09", pty.path, "Van 9", 4800)
    qtbot.waitUntil(lambda: window.feed.connected_count() == (1, 1), timeout=10000)
    pty.close()  # the cable is pulled
    qtbot.waitUntil(lambda: any("unit-09 (Van 9) is unplugged" in t for t in window.message_bar.texts()),
                    timeout=10000)


@pytest.mark.expected_errors
def test_database_that_cannot_be_opened_is_explained(qtbot: QtBot, tmp_path: Path) -> None:
    from fleet_desk.ui.app import AppSession

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    session = AppSession(f"sqlite:///{blocker}/depot.db", demo=False, vehicles=0, remember_layout=False)
    window = session.open()
    qtbot.waitUntil(lambda: window.database_box is not None, timeout=10000)
    assert f"{blocker} is a file, not a folder" in window.database_box.text()
    assert "--db URL" in window.database_box.text()
    assert any("is a file, not a folder" in t for t in window.message_bar.texts())
    assert not window.import_action.isEnabled()
    session.close()


def test_a_read_only_database_is_shown_and_nothing_writes_to_it(qtbot: QtBot, tmp_path: Path) -> None:
    """A depot database on a read-only share: the app shows what it holds and starts nothing that writes."""
    import gc

    from fleet_desk.depot import Depot
    from fleet_desk.ingest.pipeline import import_log
    from fleet_desk.store.database import is_read_only

    folder = tmp_path / "share"
    folder.mkdir()
    url = f"sqlite:///{folder / 'depot.db'}"
    engine = open_database(url)
    import_log(engine, Depot(engine, Settings()).tracker, next(p for p in NMEA_LOGS if p.name == "telit-he910.log"),
               device="telit", vehicle="Van 7")
    engine.dispose()
    gc.collect()
    with read_only(folder):
        window, engine = open_window(qtbot, url)
        try:
            assert is_read_only(engine)
            qtbot.waitUntil(lambda: window.board_model.rowCount() == 1, timeout=10000)
            assert "read-only" in window.db_label.text()
            assert any("is read-only" in t for t in window.message_bar.texts())
            assert not window.import_action.isEnabled() and not window.dock_action.isEnabled()
            assert window.lookup_action.isEnabled()
            assert window.feed.live._worker.ident is None and window.outbox.thread._thread.ident is None
        finally:
            close_window(window, engine)
            gc.collect()


def test_import_log_dialog_flow_through_the_cli_code(qtbot: QtBot, desk: Desk) -> None:
    from fleet_desk.ui.dialogs.import_log import ImportFlow

    window, engine = desk
    log = next(p for p in NMEA_LOGS if p.name.startswith("ublox"))
    flow = ImportFlow(window.depot, [log], window)
    with qtbot.waitSignal(flow.done, timeout=60000) as done:
        flow.begin("logger-1", "Van 4", None)
    [outcome] = done.args[0]
    assert outcome.error is None and outcome.summary.result.stored > 0
    assert "fixes stored" in flow.summary_box.text()
    assert _count(engine) == outcome.summary.result.stored
    qtbot.waitUntil(lambda: any(v.vehicle == "Van 4" and v.lat is not None for v in window.board_model.vehicles()),
                    timeout=10000)


@pytest.mark.expected_errors  # the file that is no log is named in the message bar, as an error
def test_import_cancel_keeps_what_was_read_and_bad_file_is_named(qtbot: QtBot, desk: Desk, tmp_path: Path) -> None:
    from fleet_desk.sim.vans import SimulatedUnit, render
    from fleet_desk.ui.dialogs.import_log import ImportFlow

    window, engine = desk
    big = tmp_path / "day.nmea"
    start = datetime(2026, 11, 20, 6, tzinfo=UTC)
    with open(big, "wb") as f:
        for _i, data in render([SimulatedUnit(0)], start, 12000):  # ~4 MB: several chunks
            f.write(data)
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(bytes(range(256)) * 100)
    flow = ImportFlow(window.depot, [junk, big], window)
    with qtbot.waitSignal(flow.done, timeout=60000) as done:
        flow.begin("logger-2", None, None)
        cancel = flow.progress.findChild(QPushButton)
        flow.job.progress.connect(lambda progress: progress.number == 2 and cancel.click())
    first, second = done.args[0]
    assert "no NMEA sentences found" in first.error and "photo.jpg" in first.error
    assert second.summary.cancelled
    stored = _count(engine)
    assert 0 < stored == second.summary.result.stored < 12000


@pytest.mark.expected_errors
def test_unexpected_exception_reaches_the_crash_dialog(qtbot: QtBot, desk: Desk) -> None:
    from fleet_desk.logs import log_path, setup_logging
    from fleet_desk.ui.dialogs.crash import CrashHandler

    setup_logging()
    handler = CrashHandler(log_path())
    try:
        raise RuntimeError("boom in a slot")
    except RuntimeError:
        handler._excepthook(*sys.exc_info())
    qtbot.waitUntil(lambda: handler.shown == ["RuntimeError: boom in a slot"], timeout=5000)
    assert str(log_path()) in handler._box.text()
    assert "boom in a slot" in log_path().read_text()
    handler._box.close()
    for h in list(logging.getLogger().handlers):
        if getattr(h, "baseFilename", None) == str(log_path()):
            logging.getLogger().removeHandler(h)
            h.close()


def test_layout_and_settings_are_remembered(qtbot: QtBot, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    url = f"sqlite:///{tmp_path / 'depot.db'}"
    window, engine = open_window(qtbot, url, remember=True)
    window.board_panel.hide()
    window.resize(700, 500)
    dialog = window.edit_settings()
    dialog.trail.setValue(25)
    dialog.tile_url.setText("")
    qtbot.mouseClick(dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "No map tile server" in (js(qtbot, window, "fleetMap.notice()") or ""), timeout=10000)
    close_window(window, engine)

    assert json.loads(Settings.path().read_text())["trail_minutes"] == 25
    window, engine = open_window(qtbot, url, Settings.load(), remember=True)
    assert window.board_panel.isHidden()
    assert (window.width(), window.height()) == (700, 500)
    assert "No map tile server" in js(qtbot, window, "fleetMap.notice()")
    window.board_panel.show()
    close_window(window, engine)
    Settings().save()


def test_demo_screenshot_command(tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "--demo", "--screenshot", str(shot),
                           "--after", "60"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "vehicles on the map" in done.stderr
    image = QImage(str(shot))
    assert not image.isNull() and image.width() >= 800
    assert Path(shot).stat().st_size > 20_000
