"""Tools > Settings as a new user met it: the tiles' attribution shown as the map draws it, Test connection
pointing to the Signing secret field on its own tab, and a certificate the computer does not trust said in words
(a real HTTPS server on this computer, with a self-signed certificate)."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

from fleet_desk.settings import OSM_ATTRIBUTION, Settings
from fleet_desk.ui.dialogs.settings import SettingsDialog


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


@contextmanager
def _https_server(folder: Path) -> Iterator[int]:
    """An HTTPS server on this computer whose certificate is self-signed; yields its port."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test's certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True, timeout=60)
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_certificate_error_is_said_in_words(qtbot: QtBot, tmp_path: Path) -> None:
    with _https_server(tmp_path) as port:
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
