"""Customer lookup: the Customer lookup panel offscreen, on simulated days replayed up to now."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import Engine, select

from fleet_desk.ingest.pipeline import import_log
from fleet_desk.sim.day import DayTrouble, render_day, simulate_day
from fleet_desk.store.models import Stop
from fleet_desk.store.search_index import fold
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import store_manifest
from fleet_desk.tracking.tracker import RouteTracker
from fleet_desk.ui.panels.lookup import LookupView
from tests.helpers.days import LOCAL_RULES, day_so_far, first_open_stop
from tests.helpers.desk import close_window, js, open_window


def _silent_van(engine: Engine, tracker: RouteTracker, tmp_path: Path, index: int, minutes: int,
                silent_for: int) -> None:
    """A route started ``minutes`` ago whose unit stopped reporting ``silent_for`` minutes ago."""
    day = simulate_day(index, datetime.now(UTC) - timedelta(minutes=minutes), stops=8, seed=2, window_minutes=60)
    manifest = tmp_path / f"m{index}.csv"
    manifest.write_text(day.manifest_csv(), encoding="utf-8")
    store_manifest(engine, tracker, read_manifest(manifest, tz=LOCAL_RULES.timezone), LOCAL_RULES)
    log = tmp_path / f"van{index}.nmea"
    log.write_bytes(render_day(day, (minutes - silent_for) * 60))
    import_log(engine, tracker, log, f"unit-{index}", day.vehicle)


def _search(qtbot: QtBot, view: LookupView, text: str) -> None:
    qtbot.keyClick(view.search, Qt.Key.Key_Escape)
    assert view.search.text() == "" and not view.hits
    qtbot.keyClicks(view.search, text)
    qtbot.keyClick(view.search, Qt.Key.Key_Return)


def test_lookup_window_answers_by_tracking_number_phone_and_name_with_map_delay_and_stale_fix(
        qtbot: QtBot, tmp_path: Path) -> None:
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}")
    try:
        tracker = window.depot.tracker
        day_so_far(engine, tracker, tmp_path, 0, DayTrouble(), 40)
        day_so_far(engine, tracker, tmp_path, 1, DayTrouble(late_departure_s=3600), 50)  # still at the depot, late
        _silent_van(engine, tracker, tmp_path, 2, 45, 12)
        qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # Ctrl+L from the main window
        view = window.lookup
        qtbot.waitUntil(lambda: view.isVisible() and view.map.is_ready, timeout=30000)

        # A tracking number, typed in lower case: the card's words and the map.
        stop = first_open_stop(engine, "R01")
        _search(qtbot, view, stop.tracking_number.lower())
        qtbot.waitUntil(lambda: view.answer is not None and view.answer.order_id == stop.order_id, timeout=10000)
        words = view.answer.words
        # Near midnight the expected arrival falls on another day than now, and the words name it first.
        assert re.match(r"(On \w{3} \d{2} \w{3}: )?Out for delivery with Van 1 \(driver ", words), words
        assert "before yours" in words or "Yours is the next stop." in words
        assert "Expected " in words and " window" in words
        assert words in view.card.toPlainText()
        info = None

        def on_map() -> bool:
            nonlocal info
            info = js(qtbot, view, "fleetMap.orderInfo()")
            return bool(info and info["vehicle"] and info["stop"]["label"].startswith(stop.customer_name))

        qtbot.waitUntil(on_map, timeout=10000)
        assert info["vehicle"]["label"] == "Van 1" and info["vehicle"]["state"] != "stale" and info["markers"] == 1
        view.copy_answer()
        assert QApplication.clipboard().text() == words

        # The same customer's phone in the national format; the list masks it.
        national = "0" + stop.phone.replace(" ", "")[3:]
        _search(qtbot, view, national)
        qtbot.waitUntil(lambda: bool(view.hits) and view.hits[0].order_id == stop.order_id, timeout=10000)
        listed = view.results.item(0).text()
        assert "••" in listed and stop.phone not in listed and stop.email not in view.card.toPlainText()

        # A name with an accent, typed without it and in part.
        with engine.connect() as conn:
            names = conn.scalars(select(Stop.customer_name)).all()
        accented = next(n for n in names if fold(n) != n.lower())
        partial = " ".join(w[:4] for w in fold(accented).split())
        _search(qtbot, view, partial)
        qtbot.waitUntil(lambda: any(h.customer_name == accented for h in view.hits), timeout=10000)

        # Nothing matches: said so.
        _search(qtbot, view, "Zyxwv")
        qtbot.waitUntil(lambda: view.results.count() == 0 and "No order matches" in view.found.text(),
                        timeout=10000)

        # A delayed order says by how much and why.
        late = first_open_stop(engine, "R02")
        _search(qtbot, view, late.tracking_number)
        qtbot.waitUntil(lambda: view.answer is not None and view.answer.order_id == late.order_id, timeout=10000)
        assert "Running about" in view.answer.words and "late departure from the depot" in view.answer.words
        card = view.card.toPlainText()  # still at the depot: said so, not as coordinates
        assert "Position at the depot" in card and "Nothing yet." not in card.split("Told the customer")[1]

        # A van silent for 12 minutes is not shown as live.
        silent = first_open_stop(engine, "R03")
        _search(qtbot, view, silent.order_id)
        qtbot.waitUntil(lambda: view.answer is not None and view.answer.order_id == silent.order_id, timeout=10000)
        assert "Van 3 was last seen 12 min ago" in view.answer.words and "not live" in view.answer.words
        qtbot.waitUntil(lambda: (js(qtbot, view, "fleetMap.orderInfo()") or {}).get("vehicle", {}).get("label")
                        == "Van 3", timeout=10000)
        assert js(qtbot, view, "fleetMap.orderInfo()")["vehicle"]["state"] in ("stale", "offline")  # not live

        # Arrows move through several results and the card follows.
        _search(qtbot, view, "rue")
        qtbot.waitUntil(lambda: view.results.count() > 2, timeout=10000)
        qtbot.keyClick(view.search, Qt.Key.Key_Down)
        second = view.hits[1]
        qtbot.waitUntil(lambda: view.answer is not None and view.answer.stop_id == second.stop_id, timeout=10000)
        qtbot.keyClick(view.search, Qt.Key.Key_Escape)
        assert view.search.text() == "" and view.results.count() == 0 and view.answer is None
    finally:
        close_window(window, engine)
