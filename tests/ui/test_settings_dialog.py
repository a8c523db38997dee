"""Tools > Settings as a new user met it: the tiles' attribution shown as the map draws it, Test connection
pointing to the Signing secret field on its own tab, and a certificate the computer does not trust said in words
(a real HTTPS server on this computer, with a self-signed certificate)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

from fleet_desk.settings import OSM_ATTRIBUTION, Settings, host_name
from fleet_desk.ui.dialogs.settings import SettingsDialog
from tests.helpers.tls import https_endpoint, self_signed


def _shown(html: str) -> str:
    doc = QTextDocument()
    doc.setHtml(html)
    return doc.toPlainText()


def test_the_attribution_is_shown_as_the_map_draws_it(qtbot: QtBot) -> None:
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    assert dialog.attribution.text() == OSM_ATTRIBUTION  # the field keeps the HTML the map is given
    assert _shown(dialog.attribution_shown.text()) == "© OpenStreetMap contributors"
    dialog.attribution.setText('Tiles &copy; <a href="https://example.com">Example</a>')
    assert _shown(dialog.attribution_shown.text()) == "Tiles © Example"
    dialog.attribution.setText("")
    assert _shown(dialog.attribution_shown.text()) == "(none)"


def test_test_connection_without_a_secret_points_to_the_field_on_the_same_tab(qtbot: QtBot,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEET_DESK_SIGNING_SECRET", raising=False)
    dialog = SettingsDialog(Settings())
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentIndex(2)
    dialog.endpoint_url.setText("https://tracking.example.com/fleet-desk/events")
    dialog.test_button.click()
    said = dialog.test_result.text()
    assert "Signing secret field above" in said and "config set-secret" not in said, said
    qtbot.waitUntil(lambda: dialog.secret_fields["signing_secret"].hasFocus(), timeout=3000)
    assert dialog.tabs.currentIndex() == 2


def test_a_certificate_error_is_said_in_words(qtbot: QtBot, tmp_path: Path) -> None:
    with https_endpoint(*self_signed(tmp_path)) as endpoint:
        port = endpoint.port
        dialog = SettingsDialog(Settings(endpoint_url=f"https://127.0.0.1:{port}/hook"))
        qtbot.addWidget(dialog)
        dialog.secret_fields["signing_secret"].setText("typed-not-kept")
        dialog.test_button.click()
        qtbot.waitUntil(lambda: dialog.test_button.isEnabled() and dialog.test_result.text().startswith("✖"),
                        timeout=20000)
    said = dialog.test_result.text()
    assert f"https://127.0.0.1:{port}/hook: its certificate is not one this computer trusts (self-signed " \
           "certificate), so nothing was sent" in said, said
    assert "SSLError" not in said and "HTTPSConnectionPool" not in said and "_ssl.c" not in said


def test_the_desk_tab_names_the_desk_and_keeps_positions_as_many_days_as_asked(qtbot: QtBot) -> None:
    dialog = SettingsDialog(Settings(desk_name="desk-1", keep_full_days=30))
    qtbot.addWidget(dialog)
    assert dialog.tabs.tabText(3) == "&Desk"
    assert dialog.desk_name.text() == "desk-1" and dialog.keep_full_days.value() == 30
    dialog.desk_name.setText("  counter 2  ")
    dialog.keep_full_days.setValue(7)
    chosen = dialog.result_settings()
    assert (chosen.desk_name, chosen.keep_full_days) == ("counter 2", 7)
    dialog.desk_name.setText("")  # left empty: the host name, as when never set
    assert dialog.result_settings().desk_name == host_name()
    dialog.keep_full_days.setValue(0)  # the spin box keeps at least a day at full rate
    assert dialog.result_settings().keep_full_days == 1
