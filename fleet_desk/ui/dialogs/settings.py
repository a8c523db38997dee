"""Tools > Settings: the map, the ETA rules, and the tracking endpoint (URL, secrets, what is shared).

Secrets typed here go to the OS keyring on OK, never to the settings file;
an empty secret field keeps the secret already kept. Test connection sends a
signed ping with what is typed in the dialog, before anything is saved.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from fleet_desk import messages
from fleet_desk.depot import SettingsError, check_settings
from fleet_desk.push.endpoint import (
    ENV,
    SECRETS,
    EndpointError,
    endpoint,
    keyring_available,
    read_secret,
    store_secret,
)
from fleet_desk.push.sender import check_connection
from fleet_desk.settings import OSM_ATTRIBUTION, OSM_TILES, Settings, host_name
from fleet_desk.ui.tasks import run_in_background

#: The ETA rules the dispatcher may tune: setting, label, suffix, minimum, maximum, decimals.
RULES = (
    ("service_minutes", "Service time per stop (when the manifest gives none)", " min", 0, 240, 1),
    ("stop_radius_m", "Stop radius", " m", 10, 1000, 0),
    ("arrival_dwell_s", "Arrived after staying within the radius for", " s", 5, 600, 0),
    ("default_speed_kmh", "Speed before one is learned", " km/h", 5, 130, 0),
    ("road_circuity", "Road distance / straight-line distance", "", 1.0, 3.0, 2),
    ("late_threshold_min", "Late when the ETA is past the window by more than", " min", 0, 120, 0),
    ("eta_notice_min", "Tell the customer when the ETA moved by at least", " min", 1, 120, 0),
    ("eta_notice_interval_min", "and not more often than every", " min", 1, 120, 0),
    ("arriving_soon_stops", "Arriving soon: at most this many stops before", "", 0, 10, 0),
    ("arriving_soon_min", "Arriving soon: ETA within", " min", 1, 120, 0),
    ("news_max_age_min", "Fixes older than this tell no customer anything", " min", 1, 120, 0),
)
SECRET_LABELS = {"endpoint_token": "Bearer token", "signing_secret": "Signing secret"}

#: The tab that holds each setting `check_settings` can refuse.
_TAB_OF = {"tile_url": 0, "depot_timezone": 1, "endpoint_url": 2}


class SettingsDialog(QDialog):
    """Tools > Settings, window-modal: on OK the new settings are saved and ``chosen`` carries them."""

    chosen = Signal(object)  # Settings, saved

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Settings")
        self.setMinimumWidth(640)
        tabs = QTabWidget(self)
        tabs.addTab(self._map_tab(settings), "&Map")
        tabs.addTab(self._rules_tab(settings), "&Routes and ETAs")
        tabs.addTab(self._endpoint_tab(settings), "&Tracking endpoint")
        tabs.addTab(self._desk_tab(settings), "&Desk")
        self.tabs = tabs
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs)
        layout.addWidget(buttons)

    # Tabs
    def _map_tab(self, settings: Settings) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        self.tile_url = QLineEdit(settings.tile_url, page)
        self.tile_url.setPlaceholderText("empty: no tiles, vehicles on a plain background")
        self.tile_url.setToolTip("A slippy-map tile URL with {z}, {x} and {y}")
        form.addRow("Map tiles URL:", self.tile_url)
        self.attribution = QLineEdit(settings.tile_attribution, page)
        self.attribution.setToolTip("The credit the tile provider asks for, in HTML (a link is <a href=...>)")
        form.addRow("Tiles attribution (HTML):", self.attribution)
        self.attribution_shown = QLabel(page)
        self.attribution_shown.setTextFormat(Qt.TextFormat.RichText)
        self.attribution_shown.setWordWrap(True)
        self.attribution_shown.setOpenExternalLinks(True)
        self.attribution.textChanged.connect(self._show_attribution)
        self._show_attribution(settings.tile_attribution)
        form.addRow("Shown on the map as:", self.attribution_shown)
        reset = QPushButton("Use OpenStreetMap", page)
        reset.clicked.connect(self._use_osm)
        form.addRow("", reset)
        self.trail = QSpinBox(page)
        self.trail.setRange(0, 240)
        self.trail.setSuffix(" min")
        self.trail.setValue(settings.trail_minutes)
        form.addRow("Vehicle trails:", self.trail)
        return page

    def _rules_tab(self, settings: Settings) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        self.timezone = QLineEdit(settings.depot_timezone, page)
        self.timezone.setPlaceholderText("this computer's timezone, or e.g. Europe/Paris")
        form.addRow("Depot timezone:", self.timezone)
        self.depot = QLineEdit(settings.depot_location, page)
        self.depot.setPlaceholderText("lat, lon — empty: where each van's day starts")
        form.addRow("Depot location:", self.depot)
        self.rules: dict[str, QSpinBox | QDoubleSpinBox] = {}
        for name, label, suffix, low, high, decimals in RULES:
            value = getattr(settings, name)
            box: QSpinBox | QDoubleSpinBox
            if isinstance(value, int):
                box = QSpinBox(page)
            else:
                box = QDoubleSpinBox(page)
                box.setDecimals(decimals)
            box.setRange(low, high)
            box.setSuffix(suffix)
            box.setValue(value)
            self.rules[name] = box
            form.addRow(label + ":", box)
        return page

    def _endpoint_tab(self, settings: Settings) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        self.endpoint_url = QLineEdit(settings.endpoint_url, page)
        self.endpoint_url.setPlaceholderText("https://tracking.example.com/fleet-desk/events")
        self.endpoint_url.setToolTip("HTTPS is required unless the endpoint is on this computer")
        form.addRow("Endpoint URL:", self.endpoint_url)
        keyring = keyring_available()
        self.secret_fields: dict[str, QLineEdit] = {}
        for key in SECRETS:
            field = QLineEdit(page)
            field.setEchoMode(QLineEdit.EchoMode.Password)
            kept = read_secret(key, settings) is not None
            field.setPlaceholderText("kept — type to replace" if kept else "not set")
            self.secret_fields[key] = field
            form.addRow(SECRET_LABELS[key] + ":", field)
        where = QLabel(page)
        where.setWordWrap(True)
        if keyring:
            where.setText("Secrets are kept in the OS keyring, never in the settings file.")
        else:
            where.setText("<b>No OS keyring is available on this computer.</b> Secrets are not kept unless you "
                          f"allow a file readable only by you, or set {ENV['endpoint_token']} and "
                          f"{ENV['signing_secret']} where Fleet Desk runs.")
        form.addRow("", where)
        self.plaintext = QCheckBox("Keep secrets in a file readable only by me (no keyring here)", page)
        self.plaintext.setChecked(settings.allow_plaintext_secrets)
        self.plaintext.setVisible(not keyring)
        form.addRow("", self.plaintext)
        self.share_position = QCheckBox("Send the vehicle's position with each notice", page)
        self.share_position.setChecked(settings.share_vehicle_position)
        form.addRow("Shared:", self.share_position)
        self.share_contact = QCheckBox("Send the customer's name, phone and e-mail", page)
        self.share_contact.setChecked(settings.share_customer_contact)
        form.addRow("", self.share_contact)
        self.test_button = QPushButton("Test &connection", page)
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel(page)
        self.test_result.setWordWrap(True)
        form.addRow("", self.test_button)
        form.addRow("", self.test_result)
        return page

    # Actions
    def _desk_tab(self, settings: Settings) -> QWidget:
        page = QWidget(self)
        form = QFormLayout(page)
        self.desk_name = QLineEdit(settings.desk_name, page)
        self.desk_name.setMaxLength(100)
        self.desk_name.setPlaceholderText(host_name())
        self.desk_name.setToolTip("The name other desks on a shared database see: on the units this desk reads, the "
                                  "notices it sends and the dispatcher's actions on an order's timeline")
        form.addRow("This desk's name:", self.desk_name)
        form.addRow("", QLabel("Desks sharing one database need names of their own; a new name is used from the "
                               "next start.", page, wordWrap=True))
        self.keep_full_days = QSpinBox(page)
        self.keep_full_days.setRange(1, 3650)
        self.keep_full_days.setSuffix(" days")
        self.keep_full_days.setValue(max(1, settings.keep_full_days))
        self.keep_full_days.setToolTip("Positions older than this are thinned once a night (one per 30 s while "
                                       "moving, one per stop); every stop visit and each van's latest position stay")
        form.addRow("Positions kept at full rate:", self.keep_full_days)
        return page

    def _show_attribution(self, text: str) -> None:
        """The attribution as the map draws it (the field holds its HTML)."""
        self.attribution_shown.setText(text.strip() or "<i style='color:#757575'>(none)</i>")

    def _use_osm(self) -> None:
        self.tile_url.setText(OSM_TILES)
        self.attribution.setText(OSM_ATTRIBUTION)

    def result_settings(self) -> Settings:
        return replace(
            self.settings, tile_url=self.tile_url.text().strip(), tile_attribution=self.attribution.text().strip(),
            trail_minutes=self.trail.value(), depot_timezone=self.timezone.text().strip(),
            depot_location=self.depot.text().strip(), endpoint_url=self.endpoint_url.text().strip(),
            share_vehicle_position=self.share_position.isChecked(),
            share_customer_contact=self.share_contact.isChecked(),
            allow_plaintext_secrets=self.plaintext.isChecked(),
            desk_name=self.desk_name.text().strip() or host_name(), keep_full_days=self.keep_full_days.value(),
            **{name: type(getattr(self.settings, name))(box.value()) for name, box in self.rules.items()})

    def test_connection(self) -> None:
        secret_field = self.secret_fields["signing_secret"]
        url = self.endpoint_url.text().strip()
        if url and not secret_field.text() and read_secret("signing_secret", self.result_settings()) is None:
            self._tested(False, "Type the signing secret in the Signing secret field above first: the endpoint "
                                "checks every event's signature with it (it is kept in the OS keyring on OK)")
            secret_field.setFocus()
            return
        try:
            target = endpoint(self.result_settings(), self.secret_fields["endpoint_token"].text() or None,
                              self.secret_fields["signing_secret"].text() or None)
        except EndpointError as exc:
            self._tested(False, str(exc))
            return
        if target is None:
            self._tested(False, "type the endpoint URL first")
            return
        self.test_result.setText(f"Sending a signed test event to {target.shown}…")
        self.test_button.setEnabled(False)
        run_in_background(lambda: check_connection(target), lambda result: self._tested(*result), owner=self)

    def _tested(self, ok: bool, text: str) -> None:
        self.test_button.setEnabled(True)
        self.test_result.setText(("✔ " if ok else "✖ ") + text)  # worded by the sender, as ping and the outbox say it
        self.test_result.setStyleSheet(f"color: {'#2e7d32' if ok else '#c62828'}")

    def _accept(self) -> None:
        new = self.result_settings()
        try:
            check_settings(new)
        except SettingsError as exc:
            self._refuse(_TAB_OF.get(exc.key, 0), str(exc)[:1].upper() + str(exc)[1:])
            return
        try:
            for key, field in self.secret_fields.items():
                if field.text():
                    where = store_secret(key, field.text(), new)
                    messages.info(f"{SECRET_LABELS[key]} kept in {where}")
                    field.clear()
        except EndpointError as exc:
            self._refuse(2, str(exc))
            return
        try:
            new.save()
        except OSError as exc:
            messages.error(f"Settings could not be saved to {Settings.path()}: {exc}")
        else:
            if new.desk_name != self.settings.desk_name:
                messages.info(f"This desk is named {new.desk_name} from Fleet Desk's next start")
        self.accept()
        self.chosen.emit(new)

    def _refuse(self, tab: int, text: str) -> None:
        self.tabs.setCurrentIndex(tab)
        QMessageBox.warning(self, "Settings", text)
