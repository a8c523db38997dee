"""Several desks in the app: a GPS unit another desk reads live is shown as such in the GPS units dialog and
on the fleet board ("read by desk-2 since 07:02"), not opened here, and taken over (asking first while that
desk still reads it); a dispatcher's mark that keeps losing its race to other desks is one line in the message
bar. The other desk is a process of its own (``fleet-desk listen`` with its own settings) reading a simulated
unit on a real pseudo-terminal; the window is desk-1; a real SQLite file.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select, text, update

from fleet_desk.clock import now_ms
from fleet_desk.settings import Settings
from fleet_desk.sim.day import DayTrouble
from fleet_desk.sim.vans import PtyUnit, SimulatedUnit
from fleet_desk.store import ensure_device
from fleet_desk.store.models import Device, Position, Stop
from fleet_desk.store.units import claim_of
from fleet_desk.ui.dialogs.units import REJECTED, STATUS, GpsUnitsDialog
from fleet_desk.ui.models.fleet_board import UNIT
from tests.helpers.days import day_so_far
from tests.helpers.desk import CLOSED_PORT_TILES, close_window, open_window
from tests.helpers.paths import ROOT
from tests.helpers.ptys import Feeder

SHOTS = Path(os.environ.get("FLEET_DESK_SHOTS", "/tmp/fleet-desk-shots"))


def _settings() -> Settings:
    return Settings(tile_url=CLOSED_PORT_TILES, tile_attribution="test tiles", desk_name="desk-1")


class OtherDesk:
    """``fleet-desk listen`` as desk-2, a process of its own; what it says on stderr collected."""

    def __init__(self, tmp_path: Path, url: str, port: str) -> None:
        config = tmp_path / "desk-2"
        config.mkdir()
        (config / "settings.json").write_text(json.dumps({"desk_name": "desk-2"}), encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fleet_desk.cli", "--db", url, "listen", port, "--device", "unit-a", "--vehicle",
             "Van 1", "--baud", "4800", "--duration", "120"],
            cwd=ROOT, env={**os.environ, "FLEET_DESK_CONFIG_DIR": str(config)}, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def said(self, pattern: str) -> bool:
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return any(re.search(pattern, line) for line in self.seen)

    def interrupt(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(30)
        self._reader.join(5)
        self.said("")
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        return code


def _status(dialog: GpsUnitsDialog, unit: str) -> str:
    item = dialog._units.get(unit)
    return item.text(STATUS) if item is not None else ""


def _rejected(dialog: GpsUnitsDialog, unit: str) -> tuple[str, str]:
    item = dialog._units.get(unit)
    return (item.text(REJECTED), item.toolTip(REJECTED)) if item is not None else ("", "")


def _board_unit(window, vehicle: str) -> str | None:
    model = window.board_model
    for row in range(model.rowCount()):
        if model.index(row, 0).data() == vehicle:
            return model.index(row, UNIT).data()
    return None


def _positions(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Position)) or 0


def test_a_unit_another_desk_reads_is_shown_so_and_taken_over_after_asking(qtbot: QtBot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'depot.db'}"
    pty = PtyUnit(SimulatedUnit(0))
    other = None
    window, engine = open_window(qtbot, url, _settings())
    try:
        with Feeder(pty, datetime.now(UTC).replace(microsecond=0), rate_hz=5.0):
            other = OtherDesk(tmp_path, url, pty.path)
            qtbot.waitUntil(lambda: other.said(r"^listening on "), timeout=30000)
            qtbot.waitUntil(lambda: _positions(engine) >= 3, timeout=30000)

            # The board: Van 1's unit is read by desk-2, said in its row and its tooltip.
            qtbot.waitUntil(lambda: _board_unit(window, "Van 1") == "unit-a · desk-2", timeout=15000)
            vehicle = next(v for v in window.board_model.vehicles() if v.vehicle == "Van 1")
            assert re.search(r"unit unit-a: read by desk-2 since \d\d:\d\d$",
                             window.board_model._tooltip(vehicle, window.board_model.state_of(vehicle.vehicle_id)))

            # The dialog: its status says who reads it; not opened here; Take over asks first (desk-2 is not quiet).
            dialog = window.show_units()
            qtbot.waitUntil(lambda: _status(dialog, "unit-a").startswith("read by desk-2 since "), timeout=10000)
            assert re.fullmatch(r"read by desk-2 since \d\d:\d\d", _status(dialog, "unit-a"))
            assert "unit-a" not in dialog.feed.running_units()
            assert not dialog.take_over_button.isEnabled()  # nothing selected yet
            assert dialog.select_unit("unit-a")
            qtbot.waitUntil(dialog.take_over_button.isEnabled, timeout=3000)
            assert "still reads it" in dialog.take_over_button.toolTip()
            SHOTS.mkdir(parents=True, exist_ok=True)
            dialog.grab().save(str(SHOTS / "units_read_by_another_desk.png"))
            window.grab().save(str(SHOTS / "board_read_by_another_desk.png"))

            dialog.take_over_button.click()
            box = dialog.confirm_box
            assert box is not None and box.isVisible() and not dialog.take_over_button.isEnabled()
            assert "unit-a is read by desk-2 since " in box.text() and "desk-2 stops reading it" in box.text()
            box.grab().save(str(SHOTS / "take_over_asks.png"))
            box.button(QMessageBox.StandardButton.Cancel).click()  # not yet: nothing changes
            qtbot.waitUntil(lambda: dialog.confirm_box is None, timeout=3000)
            assert claim_of(engine, "unit-a").desk == "desk-2"

            dialog.take_over_button.click()
            dialog.confirm_box.button(QMessageBox.StandardButton.Yes).click()
            qtbot.waitUntil(lambda: "unit-a" in dialog.feed.running_units(), timeout=15000)
            assert claim_of(engine, "unit-a").desk == "desk-1"
            qtbot.waitUntil(lambda: any("unit-a is read at this desk now; desk-2 stops reading it" in t
                                        for t in window.message_bar.texts()), timeout=5000)
            qtbot.waitUntil(lambda: not _status(dialog, "unit-a").startswith("read by"), timeout=10000)
            qtbot.waitUntil(lambda: other.said(r"unit-a .*was taken over by another desk"), timeout=15000)
            qtbot.waitUntil(lambda: _board_unit(window, "Van 1") == "unit-a", timeout=15000)  # read here now
            qtbot.waitUntil(lambda: not dialog.take_over_button.isEnabled(), timeout=5000)
            # A sentence the unit garbled (checksum right, a number no float holds) is refused and counted on it,
            # in the dialog's Rejected column and its tooltip, as `listen` says it.
            pty.write(b"$GPRMC,123505.5e400,A,4807.038,N,01131.000,E,22.4,84.4,201126,,,A*32\r\n")
            qtbot.waitUntil(lambda: _rejected(dialog, "unit-a")[0] not in ("", "0"), timeout=10000)
            assert re.match(r"rejected [1-9]\d* malformed, 0 implausible, \d+ bad checksum$",
                            _rejected(dialog, "unit-a")[1]), _rejected(dialog, "unit-a")
            dialog.grab().save(str(SHOTS / "units_taken_over.png"))
            before = _positions(engine)
            qtbot.waitUntil(lambda: _positions(engine) >= before + 3, timeout=30000)  # this desk stores its fixes
            assert claim_of(engine, "unit-a").desk == "desk-1"  # and desk-2 does not take it back
        dialog.close()
    finally:
        close_window(window, engine)
        if other is not None:
            assert other.interrupt() == 0
            assert not any("Traceback" in line for line in other.seen), other.seen
        pty.close()
    assert claim_of(engine, "unit-a") is None  # both desks stopped cleanly: nobody reads it
    engine.dispose()


def test_a_unit_whose_desk_went_quiet_is_taken_over_from_the_board_without_asking(
        qtbot: QtBot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'depot.db'}"
    pty = PtyUnit(SimulatedUnit(1))
    window, engine = open_window(qtbot, url, _settings())
    try:
        ensure_device(engine, "unit-b", "Van 2", port=pty.path)
        since = now_ms() - 600_000
        with engine.begin() as conn:  # desk-9 read it, then died two minutes ago: no heartbeat since
            conn.execute(update(Device).where(Device.name == "unit-b")
                         .values(read_by="desk-9", read_since_ms=since, read_seen_ms=now_ms() - 120_000))
        window.feed.watch.poll_now()
        window.board.readers_changed()
        qtbot.waitUntil(lambda: _board_unit(window, "Van 2") == "unit-b · desk-9", timeout=10000)
        vehicle_id = next(v.vehicle_id for v in window.board_model.vehicles() if v.vehicle == "Van 2")
        dialog = window.show_units()
        qtbot.waitUntil(lambda: "silent for" in _status(dialog, "unit-b"), timeout=10000)
        assert re.fullmatch(r"read by desk-9 since \d\d:\d\d, silent for 2 min \(can be taken over\)",
                            _status(dialog, "unit-b"))
        dialog.select_unit("unit-b")
        assert dialog.take_over_button.isEnabled() and "has gone quiet" in dialog.take_over_button.toolTip()

        with Feeder(pty, datetime.now(UTC).replace(microsecond=0), rate_hz=5.0):
            board = window.board  # the board row's menu: Take over unit-b (read by desk-9)
            action = board.menu_for(vehicle_id).actions()[0]
            assert action.text() == "&Take over unit-b (read by desk-9)…" and action.isEnabled()
            action.trigger()
            assert dialog.confirm_box is None  # quiet: no question
            qtbot.waitUntil(lambda: "unit-b" in dialog.feed.running_units(), timeout=15000)
            assert claim_of(engine, "unit-b").desk == "desk-1"
            qtbot.waitUntil(lambda: _positions(engine) >= 3, timeout=30000)
        dialog.close()
    finally:
        close_window(window, engine)
        pty.close()
    assert claim_of(engine, "unit-b") is None  # the window let go when it closed
    engine.dispose()


@pytest.mark.expected_errors  # the message bar's error line is the point
def test_a_dispatcher_mark_that_keeps_losing_its_race_is_one_line_in_the_message_bar(
        qtbot: QtBot, tmp_path: Path) -> None:
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}", _settings())
    try:
        day_so_far(engine, window.depot.tracker, tmp_path, 0, DayTrouble(), 30)
        panel = window.routes
        panel.refresh()
        qtbot.waitUntil(lambda: len(panel.current_routes) == 1, timeout=10000)
        panel.select_route(panel.current_routes[0].id)
        assert panel.selected_route() is not None
        stop = next(s for s in panel.selected_route().stops if s.open)
        with engine.begin() as conn:  # every update of a stop skipped, as if other desks changed it first each time
            conn.execute(text("CREATE TRIGGER lost_race BEFORE UPDATE ON stops BEGIN SELECT RAISE(IGNORE); END"))
        panel.mark(stop, "delivered")
        qtbot.waitUntil(lambda: any("kept changing" in t for t in window.message_bar.texts()), timeout=10000)
        said = next(t for t in window.message_bar.texts() if "kept changing" in t)
        assert said == (f"Not saved (Order {stop.order_id} marked delivered): order {stop.order_id} kept changing on "
                        "other desks while this change was made; nothing was changed: try again")
        with engine.connect() as conn:
            assert conn.scalar(select(Stop.status).where(Stop.order_id == stop.order_id)) == stop.status != "delivered"
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER lost_race"))
    finally:
        close_window(window, engine)
