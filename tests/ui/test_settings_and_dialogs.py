"""Dialogs a new user found hard to read: the Outbox monitor's rows one line each, the GPS units table with room
between its columns and its times at the depot, not ISO in UTC, and an endpoint whose certificate this computer does
not trust said the same way by the sender's stored error, the Outbox monitor and Settings (a real HTTPS server on
127.0.0.1 with a self-signed certificate)."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from pytestqt.qtbot import QtBot
from sqlalchemy import update

from fleet_desk import times
from fleet_desk.clock import now_ms
from fleet_desk.push.endpoint import Endpoint
from fleet_desk.push.outbox import outbox_rows
from fleet_desk.settings import Settings
from fleet_desk.store.models import Device, OutboxEvent
from fleet_desk.store.units import assign_unit
from fleet_desk.ui.dialogs.settings import SettingsDialog
from fleet_desk.ui.dialogs.units import LAST_FIX, last_fix_words
from tests.helpers.desk import CLOSED_PORT_TILES, close_window, open_window
from tests.helpers.outbox import SECRET, queue_notices
from tests.helpers.tls import https_endpoint, self_signed

ZONE = "Pacific/Kiritimati"  # UTC+14: not this machine's


def test_the_outbox_monitors_rows_are_one_line_even_for_a_long_answer(qtbot: QtBot, tmp_path: Path) -> None:
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}")
    try:
        queue_notices(engine, orders=3, per_order=2)
        answer = "HTTP 502 <html>\n<head><title>Bad gateway</title></head>\n<body>\n" + "x" * 400 + "\n</body>"
        with engine.begin() as conn:
            conn.execute(update(OutboxEvent).values(last_error=answer, next_attempt_ms=now_ms() + 60_000))
        monitor = window.show_outbox()
        qtbot.waitUntil(lambda: monitor.model.rowCount() == 6, timeout=10000)
        line = monitor.table.fontMetrics().height()
        assert all(monitor.table.rowHeight(row) <= line + 8 for row in range(6))
        cell = monitor.model.index(0, 6)
        assert "Bad gateway" in cell.data() and cell.data(3) == answer  # whole in the tooltip (ToolTipRole)
        monitor.close()
    finally:
        close_window(window, engine)


def test_the_units_table_shows_last_fixes_at_the_depot_with_room_between_columns(qtbot: QtBot,
                                                                                 tmp_path: Path) -> None:
    settings = Settings(tile_url=CLOSED_PORT_TILES, tile_attribution="test tiles", depot_timezone=ZONE)
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}", settings)
    try:
        fixed = now_ms() - 90_000
        assign_unit(engine, "unit-07", "/dev/ttyUSB7", "Van 7", baud=4800, live=False)
        assign_unit(engine, "unit-08", "/dev/ttyUSB8", "Van 8", baud=4800, live=False)
        with engine.begin() as conn:
            conn.execute(update(Device).where(Device.name == "unit-07").values(last_fix_ms=fixed))
        dialog = window.show_units()
        qtbot.waitUntil(lambda: dialog.units.topLevelItemCount() == 2, timeout=10000)
        first, second = dialog.units.topLevelItem(0), dialog.units.topLevelItem(1)
        zone = ZoneInfo(ZONE)
        assert first.text(LAST_FIX) == times.hhmmss(fixed, zone) and "T" not in first.text(LAST_FIX)
        assert first.toolTip(LAST_FIX) == times.iso_z(fixed) and second.text(LAST_FIX) == "never"
        assert dialog.units.headerItem().text(LAST_FIX) == "Last fix (Kiritimati time)"
        tree, font = dialog.units, dialog.units.fontMetrics()
        for col in range(LAST_FIX):  # every column wider than what it holds, by a visible gap
            widest = max(font.horizontalAdvance(tree.topLevelItem(i).text(col)) for i in range(2))
            assert tree.columnWidth(col) >= max(widest, font.horizontalAdvance(tree.headerItem().text(col))) + 12
        dialog.close()
    finally:
        close_window(window, engine)


def test_last_fix_words_name_the_day_when_it_is_not_today() -> None:
    zone = ZoneInfo(ZONE)
    now = times.to_ms(times.parse_utc("2026-12-02T12:00:00Z"))  # 02:00 on 3 December at the depot
    assert last_fix_words(now - 5_000, zone, now) == "01:59:55"
    assert last_fix_words(now - 3 * 3_600_000, zone, now) == "Wed 02 Dec 23:00"  # the day before, at the depot
    assert last_fix_words(None, zone, now) == "never"


def test_an_untrusted_certificate_is_said_alike_by_the_stored_error_the_outbox_monitor_and_settings(
        qtbot: QtBot, tmp_path: Path) -> None:
    with https_endpoint(*self_signed(tmp_path)) as server:
        window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}",
                                     fixed_endpoint=Endpoint(server.url(), None, SECRET))
        try:
            queue_notices(engine, orders=1, per_order=1)
            window.outbox.poke()
            qtbot.waitUntil(lambda: bool(outbox_rows(engine)[0].last_error), timeout=20000)
            stored = outbox_rows(engine)[0].last_error
            assert stored and stored.startswith(f"{server.url()}: its certificate is not one this computer trusts")
            monitor = window.show_outbox()
            qtbot.waitUntil(monitor.test_button.isEnabled, timeout=10000)
            monitor.test_button.click()
            qtbot.waitUntil(lambda: monitor.test_result.text().startswith("✖"), timeout=20000)
            assert monitor.test_result.text() == f"✖ {stored}"
            monitor.close()
            dialog = SettingsDialog(Settings(endpoint_url=server.url()))
            qtbot.addWidget(dialog)
            dialog.secret_fields["signing_secret"].setText("typed-not-kept")
            dialog.test_button.click()
            qtbot.waitUntil(lambda: dialog.test_button.isEnabled() and dialog.test_result.text().startswith("✖"),
                            timeout=20000)
            assert dialog.test_result.text() == f"✖ {stored}"  # one wording, wherever it is read
            assert server.posts == []
        finally:
            close_window(window, engine)
