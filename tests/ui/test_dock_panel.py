"""The Dock a unit view offscreen: a logger on a real pty is plugged in, registered, downloaded, recognised."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session

from drivers.base import PortInfo
from fleet_desk.sim.loggers import SimulatedMtkLogger
from fleet_desk.store.models import Device, Stop
from fleet_desk.tracking import TrackingRules
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import store_manifest
from tests.helpers.days import day_in_a_logger
from tests.helpers.desk import close_window, open_window

RULES = TrackingRules(timezone=UTC)


def test_plugging_in_an_unknown_logger_registers_it_then_downloads_and_fills_in_the_stops(qtbot: QtBot,
                                                                                          tmp_path: Path) -> None:
    day, manifest, fixes, memory = day_in_a_logger(tmp_path, 6)
    sim = SimulatedMtkLogger(memory, baud=38400, model="M-241", line_rate=False).start()
    plugged: list[PortInfo] = []
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}", port_lister=lambda: list(plugged))
    try:
        store_manifest(engine, window.depot.tracker, read_manifest(manifest, tz=UTC), RULES)
        port = PortInfo(sim.path, "GPS logger", "0E8D:3329", "HX-0001", "Holux")
        plugged.append(port)  # the driver plugs the unit in
        qtbot.waitUntil(lambda: window.docking is not None and window.docking.register_dialog is not None,
                        timeout=10000)
        view = window.docking
        dialog = view.register_dialog
        assert "MTK logger M-241" in dialog.findChild(type(view.title)).text()  # what the unit said
        assert dialog.family.currentData() == "mtk"
        dialog._accept()
        assert dialog.result() != QDialog.DialogCode.Accepted and "name" in dialog.problem.text()
        dialog.name.setText("holux-van-6")
        dialog.vehicle.setCurrentText(day.vehicle)
        dialog._accept()
        qtbot.waitUntil(lambda: "Download its stored track?" in view.title.text(), timeout=10000)
        assert view.title.text().startswith(f"holux-van-6 of {day.vehicle} is plugged in on {sim.path}")
        view.download.click()
        qtbot.waitUntil(lambda: view.summary is not None, timeout=60000)
        assert view.summary.complete and view.summary.ingest.result.stored == len(fixes)
        assert "6 stops visited, 6 filled in" in view.title.text()
        assert view.bar.value() == 1000 and "filled in" in view.report.toPlainText()
        with Session(engine) as s:
            assert [st.status for st in s.scalars(select(Stop).order_by(Stop.sequence))] == ["delivered"] * 6
            unit = s.scalar(select(Device).where(Device.name == "holux-van-6"))
            assert (unit.usb_serial, unit.usb_vid_pid, unit.family) == ("HX-0001", "0E8D:3329", "mtk")
        window.grab().save(str(tmp_path / "dock.png"))

        # Unplugged and plugged in again: recognised by its serial number, downloaded at once when asked to.
        with qtbot.waitSignal(window.port_watch.gone, timeout=5000):  # the watcher noticed it was pulled out
            plugged.clear()
        view.auto.setChecked(True)
        first = view.summary
        sim.commands.clear()
        plugged.append(port)
        qtbot.waitUntil(lambda: view.summary is not first, timeout=30000)
        assert sim.commands.count("PMTK605") == 1  # recognised by its serial number, not by asking it
        assert view.summary.complete and view.summary.resumed_from > 0 and view.summary.ingest.result.stored == 0
        assert window.settings.dock_auto_download
    finally:
        close_window(window, engine)
        sim.close()
