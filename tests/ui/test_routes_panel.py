"""The Routes panel and the routes on the map, offscreen, on a simulated day replayed up to now."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session

from fleet_desk.sim.day import DayTrouble, simulate_day
from fleet_desk.store.models import OrderEvent, Stop
from fleet_desk.ui.panels.routes import RoutesPanel
from tests.helpers.days import day_so_far
from tests.helpers.desk import close_window, js, open_window


def test_routes_panel_shows_who_is_late_and_why_and_the_map_draws_the_stops(qtbot: QtBot, tmp_path: Path) -> None:
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}")
    try:
        day_so_far(engine, window.depot.tracker, tmp_path, 0, DayTrouble(), 40)
        day_so_far(engine, window.depot.tracker, tmp_path, 1, DayTrouble(late_departure_s=3600), 50)  # 50 min late
        panel: RoutesPanel = window.routes
        panel.refresh()
        qtbot.waitUntil(lambda: len(panel.current_routes) == 2, timeout=10000)
        qtbot.waitUntil(lambda: window.routes_panel.isVisible(), timeout=5000)  # raised: the day has routes
        model = panel.routes_model
        badges = {model.index(r, 0).data(): model.index(r, 4).data() for r in range(model.rowCount())}
        assert badges["R01"] == "On time" and badges["R02"].startswith("Late (")
        assert "running late" in panel.summary.text()

        # The late route was selected for us: its stops say how late and why.
        assert panel.selected_route().key == "R02"
        stops = panel.stops_model
        late_texts = [t for r in range(stops.rowCount()) if (t := stops.index(r, stops.LATE).data())]
        assert late_texts and all(t.endswith(" late start") for t in late_texts)
        assert all("late departure from the depot" in stops.index(r, stops.LATE).data(Qt.ItemDataRole.ToolTipRole)
                   for r in range(stops.rowCount()) if stops.index(r, stops.LATE).data())

        # The map: every stop, coloured by status; the selected route's planned sequence as a line.
        r1 = next(r for r in panel.current_routes if r.key == "R01")
        r2 = next(r for r in panel.current_routes if r.key == "R02")
        qtbot.waitUntil(lambda: (js(qtbot, window, f"fleetMap.routeInfo({r2.id})") or {}).get("line") == 8,
                        timeout=10000)
        info1 = js(qtbot, window, f"fleetMap.routeInfo({r1.id})")
        assert info1["stops"] == 8 and info1["line"] == 0
        assert "delivered" in info1["statuses"] and "#43a047" in info1["colors"]
        assert js(qtbot, window, f"fleetMap.routeInfo({r2.id})")["late"] >= 1

        # Selecting the on-time route shows its van's track so far.
        panel.select_route(r1.id)
        qtbot.waitUntil(lambda: js(qtbot, window, f"fleetMap.routeInfo({r1.id})")["track"] > 100, timeout=10000)

        # A dispatcher marks a stop failed: recorded, and the panel follows.
        stop = next(s for s in panel.selected_route().stops if s.open)
        panel.mark(stop, "failed", "customer not at home")
        qtbot.waitUntil(lambda: any(s.status == "failed" for s in panel.selected_route().stops), timeout=10000)
        with Session(engine) as s:
            event = s.scalar(select(OrderEvent).where(OrderEvent.type == "delivery_exception"))
            assert event.detail == "customer not at home" and event.source == "dispatcher"
        assert any("marked failed" in t for t in window.message_bar.texts())
    finally:
        close_window(window, engine)


def test_import_manifest_lists_bad_rows_and_imports_only_when_asked(qtbot: QtBot, tmp_path: Path) -> None:
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}")
    try:
        day = simulate_day(3, datetime.now(UTC), stops=4, seed=1)
        day.rows[2]["lat"] = ""  # line 4: missing lat
        day.rows[3]["window_end"] = day.rows[3]["window_start"]  # line 5: window end not after start
        path = tmp_path / "today.csv"
        path.write_text(day.manifest_csv(), encoding="utf-8")
        flow = window.import_manifest(path)
        qtbot.waitUntil(lambda: flow.problems is not None, timeout=10000)
        dialog = flow.problems
        text = dialog.details.toPlainText()
        assert "line 4, lat: missing" in text and "line 5, window_end: window end is not after its start" in text
        with Session(engine) as s:
            assert s.scalar(select(Stop.id)) is None  # nothing yet
        button = next(b for b in dialog.findChildren(QPushButton) if b.text().startswith("Import the 2"))
        button.click()
        qtbot.waitUntil(lambda: any("2 stops (2 new" in t for t in window.message_bar.texts()), timeout=10000)
        with Session(engine) as s:
            assert sorted(s.scalars(select(Stop.order_id))) == ["ORD-04001", "ORD-04002"]
    finally:
        close_window(window, engine)
