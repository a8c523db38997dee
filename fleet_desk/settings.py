"""The user's settings: a small JSON file in the per-user config directory.

Plain values only. Secrets (the endpoint token, the signing secret) never go
here; they belong in the OS keyring.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import platformdirs

ENV_DIR = "FLEET_DESK_CONFIG_DIR"
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'

log = logging.getLogger(__name__)


def config_dir() -> Path:
    """Where settings and window layout live (``FLEET_DESK_CONFIG_DIR`` overrides)."""
    return Path(os.environ.get(ENV_DIR) or platformdirs.user_config_dir("fleet-desk", appauthor=False))


def host_name() -> str:
    """This computer's name, the default desk name ("desk" where the system gives none)."""
    name = "".join(ch for ch in socket.gethostname() if ch.isprintable()).strip()
    return name[:100] or "desk"


@dataclass
class Settings:
    """Everything the user can set (``fleet-desk config set`` or the Settings dialog), with its default.

    `load` reads the settings file and `save` writes it. Loaded once by what the user runs and given to the
    `Depot`, which hands the core typed parts (`TrackingRules`, `PayloadPolicy`); ``config --help`` lists
    these fields.
    """

    tile_url: str = OSM_TILES
    tile_attribution: str = OSM_ATTRIBUTION
    trail_minutes: int = 10
    follow_selected: bool = False
    # Routes and ETAs (see fleet_desk.tracking.rules)
    depot_timezone: str = ""  # IANA name, e.g. Europe/Paris; empty: this computer's timezone
    depot_location: str = ""  # "lat, lon"; empty: where each vehicle's day starts
    phone_region: str = ""  # customers' national phone numbers, e.g. FR; empty: this computer's locale
    service_minutes: float = 4.0  # a stop's service time when the manifest gives none
    stop_radius_m: float = 60.0
    arrival_dwell_s: float = 45.0
    default_speed_kmh: float = 30.0
    road_circuity: float = 1.3
    late_threshold_min: float = 5.0
    eta_notice_min: float = 10.0  # tell the customer when the ETA moved at least this much
    eta_notice_interval_min: float = 5.0  # and not more often than this
    arriving_soon_stops: int = 1
    arriving_soon_min: float = 10.0
    news_max_age_min: float = 5.0  # fixes older than this tell no customer anything
    # Push to the tracking endpoint (the token and signing secret live in the OS keyring, never here)
    endpoint_url: str = ""
    share_vehicle_position: bool = True
    share_customer_contact: bool = False  # name, phone and e-mail in payloads
    allow_plaintext_secrets: bool = False  # only where no keyring exists, and only if the user says so
    # Docking
    dock_auto_download: bool = False  # start downloading when a known unit is plugged in
    dock_erase: bool = False  # erase the unit once its whole track is stored
    # Several desks on one database: this desk's name on its sends, claims and dispatcher actions
    desk_name: str = field(default_factory=lambda: host_name())
    # Keeping the database in proportion (fleet-desk db maintain, and the app once a night)
    keep_full_days: int = 30  # days of positions kept at full rate; older ones thinned (at least 1)

    @classmethod
    def path(cls) -> Path:
        """The settings file: ``settings.json`` in `config_dir`."""
        return config_dir() / "settings.json"

    @classmethod
    def load(cls) -> Settings:
        """The saved settings; defaults for anything missing or unreadable (logged)."""
        path = cls.path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("settings file %s is unreadable (%s); using defaults", path, exc)
            return cls()
        known = {f.name: f.type for f in fields(cls)}
        defaults = cls()
        values = {}
        for name in known:
            value = data.get(name, getattr(defaults, name))
            default = getattr(defaults, name)
            if isinstance(default, float) and type(value) is int:
                value = float(value)
            if type(value) is not type(default):
                log.warning("settings file %s: %s has the wrong type; using the default", path, name)
                value = getattr(defaults, name)
            values[name] = value
        return cls(**values)

    def save(self) -> None:
        """Write the settings file, readable only by the user, replacing the old one whole."""
        path = self.path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        # Readable only by the user: the endpoint URL may carry a credential (user:password@, ?token=).
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as f:
            f.write(json.dumps(asdict(self), indent=2))
        tmp.replace(path)
