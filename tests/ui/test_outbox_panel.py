"""The outbox in the app, offscreen, against a real misbehaving endpoint on 127.0.0.1; the Settings dialog's
endpoint tab."""

from __future__ import annotations

import json
import stat
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from fleet_desk import times
from fleet_desk.push.endpoint import Endpoint, read_secret
from fleet_desk.settings import Settings, config_dir
from tests.helpers.desk import CLOSED_PORT_TILES, close_window, open_window
from tests.helpers.outbox import SECRET, queue_notices
from tests.helpers.receiver import Receiver


def test_the_app_sends_while_it_runs_and_the_monitor_shows_refusals_retry_pause_and_payloads(
        qtbot: QtBot, tmp_path: Path, receiver: Receiver) -> None:
    receiver.faults = ["400", "500"]  # the first event is refused for good, the second must be retried
    depot_zone = ZoneInfo("Pacific/Kiritimati")  # UTC+14: not this machine's
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}",
                                 Settings(tile_url=CLOSED_PORT_TILES, depot_timezone="Pacific/Kiritimati"),
                                 fixed_endpoint=Endpoint(receiver.url, "t0ken-0123456789", SECRET))
    try:
        queue_notices(engine, orders=3, per_order=2)
        window.outbox.poke()
        qtbot.waitUntil(lambda: window.outbox.status.get("sent") == 5 and window.outbox.status.get("dead") == 1,
                        timeout=20000)
        # A refused event does not hold back its order's later news (the receiver orders by sequence).
        assert window.outbox.status["pending"] == 0
        assert window.outbox_button.text() == "Outbox: all sent, 1 refused"
        assert any("refused 1 customer notice" in t and "HTTP 400" in t for t in window.message_bar.texts())

        monitor = window.show_outbox()
        qtbot.waitUntil(lambda: monitor.model.rowCount() == 6, timeout=10000)
        assert "1</b> refused" in monitor.counts.text() and "HTTP 400" in monitor.error.text()
        dead = next(i for i, row in enumerate(monitor.model.rows) if row.status == "dead")
        assert monitor.model.index(dead, 4).data() == "refused"
        queued = monitor.model.rows[dead].created_ms  # shown at the depot, not in this machine's zone
        assert monitor.model.index(dead, 1).data() == times.hhmmss(queued, depot_zone)
        assert monitor.model.index(dead, 1).data() != datetime.fromtimestamp(queued / 1000).strftime("%H:%M:%S")
        monitor.table.selectRow(dead)
        qtbot.waitUntil(lambda: "HTTP 400" in monitor.payload.toPlainText(), timeout=10000)
        shown = monitor.payload.toPlainText()
        assert '"type": "out_for_delivery"' in shown and "Idempotency-Key" in shown
        assert "Élodie" not in shown and "+33" not in shown  # no customer contact unless a setting says so

        # The cause is fixed on the endpoint's side: Retry now sends the refused one.
        monitor.retry_button.click()
        qtbot.waitUntil(lambda: window.outbox.status.get("sent") == 6, timeout=20000)
        qtbot.waitUntil(lambda: window.outbox_button.text() == "Outbox: all sent", timeout=5000)
        assert len(receiver.accepted) == 6 and receiver.problems == []
        for order in ("O-1", "O-2"):  # the retried one came through a 500 and still went first
            assert [d["sequence"] for d in receiver.accepted if d["order"]["order_id"] == order] == [1, 2]

        # Paused: new events wait, and go when sending resumes.
        monitor.pause_button.click()
        queue_notices(engine, orders=1, per_order=1, kind="delivered")
        window.outbox.poke()
        qtbot.waitUntil(lambda: window.outbox_button.text() == "Outbox: 1 waiting (paused)", timeout=10000)
        assert len(receiver.accepted) == 6
        monitor.pause_button.click()
        qtbot.waitUntil(lambda: len(receiver.accepted) == 7, timeout=10000)

        monitor.test_button.click()
        qtbot.waitUntil(lambda: "accepted a signed test event" in monitor.test_result.text(), timeout=10000)
        assert receiver.accepted[-1]["type"] == "ping"
        monitor.close()
    finally:
        close_window(window, engine)


def test_settings_endpoint_tab_refuses_plain_http_keeps_secrets_out_of_settings_and_tests_the_connection(
        qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver, no_keyring: None) -> None:
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, _title, text: warnings.append(text))
    before = Settings.path().read_bytes() if Settings.path().exists() else None
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}",
                                 Settings(tile_url="", depot_timezone="Europe/Paris", stop_radius_m=80.0))
    try:
        dialog = window.edit_settings()
        # Test connection with what is typed, before anything is saved.
        dialog.endpoint_url.setText(receiver.url)
        dialog.secret_fields["signing_secret"].setText(SECRET)
        dialog.secret_fields["endpoint_token"].setText("t0ken-0123456789")
        dialog.test_button.click()
        qtbot.waitUntil(lambda: "accepted a signed test event" in dialog.test_result.text(), timeout=10000)
        assert receiver.problems == [] and receiver.accepted[-1]["type"] == "ping"

        dialog.endpoint_url.setText("http://tracking.example.com/events")
        dialog._accept()
        assert dialog.isVisible() and "HTTPS is required" in warnings[-1] and dialog.tabs.currentIndex() == 2

        # No keyring on this computer: the secret is refused until the user opts in to a private file.
        dialog.endpoint_url.setText(receiver.url)
        dialog._accept()
        assert dialog.isVisible() and "no OS keyring" in warnings[-1]
        assert dialog.plaintext.isVisible()
        dialog.plaintext.setChecked(True)
        dialog.rules["late_threshold_min"].setValue(8)
        dialog._accept()
        qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)

        saved = json.loads(Settings.path().read_text(encoding="utf-8"))
        assert SECRET not in json.dumps(saved)
        assert saved["endpoint_url"] == receiver.url and saved["late_threshold_min"] == 8.0
        assert saved["depot_timezone"] == "Europe/Paris" and saved["stop_radius_m"] == 80.0  # kept, not reset
        secrets_file = config_dir() / "secrets.json"
        assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
        assert read_secret("signing_secret", window.settings) == SECRET
        assert read_secret("endpoint_token", window.settings) == "t0ken-0123456789"
        # The running app follows: the outbox now sends there.
        qtbot.waitUntil(lambda: window.outbox.endpoint_url == receiver.url, timeout=5000)
        assert window.depot.rules.late_threshold_s == 8 * 60
        assert window.depot.tracker.rules.late_threshold_s == 8 * 60  # live tracking follows from its next fix
        secrets_file.unlink()
    finally:
        close_window(window, engine)
        if before is None:
            Settings.path().unlink(missing_ok=True)
        else:
            Settings.path().write_bytes(before)
