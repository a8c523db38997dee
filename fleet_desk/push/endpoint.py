"""Where events go and with which credentials.

The URL is a setting (or ``FLEET_DESK_ENDPOINT_URL``); HTTPS is required
unless the host is this machine. The bearer token and the signing secret live
in the OS keyring (or ``FLEET_DESK_ENDPOINT_TOKEN`` / ``FLEET_DESK_SIGNING_SECRET``
for headless use), never in the settings file or the log. Where no keyring
exists they are kept in a file readable only by the user, and only if the user
said so (setting ``allow_plaintext_secrets``).
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from fleet_desk.settings import Settings, config_dir

SERVICE = "fleet-desk"
SECRETS = ("endpoint_token", "signing_secret")
ENV = {"endpoint_url": "FLEET_DESK_ENDPOINT_URL", "endpoint_token": "FLEET_DESK_ENDPOINT_TOKEN",
       "signing_secret": "FLEET_DESK_SIGNING_SECRET"}


class EndpointError(ValueError):
    """The endpoint cannot be used as configured; the message says what to do."""


@dataclass(frozen=True)
class Endpoint:
    url: str
    token: str | None
    secret: str

    def __repr__(self) -> str:  # never the credentials, even in a traceback
        return f"Endpoint({self.url!r}, token={'set' if self.token else 'none'}, secret=set)"


def check_url(url: str) -> str:
    """The URL if it may be used: http(s) with a host, and https unless the host is loopback."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"not an http(s) URL: {url!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise EndpointError(f"{url}: HTTPS is required for an endpoint that is not on this machine")
    return url.strip()


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _secrets_file():  # noqa: ANN202
    return config_dir() / "secrets.json"


def keyring_available() -> bool:
    """Whether this computer has an OS keyring to keep secrets in."""
    import keyring
    from keyring.backends import fail

    return not isinstance(keyring.get_keyring(), fail.Keyring)


def read_secret(key: str, settings: Settings) -> str | None:
    if os.environ.get(ENV[key]):
        return os.environ[ENV[key]]
    if keyring_available():
        import keyring

        return keyring.get_password(SERVICE, key)
    if settings.allow_plaintext_secrets and _secrets_file().exists():
        return json.loads(_secrets_file().read_text(encoding="utf-8")).get(key)
    return None


def store_secret(key: str, value: str, settings: Settings) -> str:
    """Keep a secret; returns where it went (for the user), never the value."""
    if key not in SECRETS:
        raise EndpointError(f"unknown secret {key!r}; one of {', '.join(SECRETS)}")
    if keyring_available():
        import keyring

        keyring.set_password(SERVICE, key, value)
        return "the OS keyring"
    if not settings.allow_plaintext_secrets:
        raise EndpointError(
            "no OS keyring is available on this machine, so the secret was not kept. Either set the environment "
            f"variable {ENV[key]} where Fleet Desk runs, or allow a file readable only by you with "
            "`fleet-desk config set allow_plaintext_secrets true` and set the secret again")
    path = _secrets_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[key] = value
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(data, f)
    return f"{path} (readable only by you; no OS keyring here)"


def endpoint(settings: Settings, token: str | None = None, secret: str | None = None) -> Endpoint | None:
    """The configured endpoint; None when no URL is set. Raises `EndpointError` when it cannot be used.

    ``token`` and ``secret``: typed but not yet kept (the Settings dialog's Test connection); else the kept ones.
    """
    url = os.environ.get(ENV["endpoint_url"]) or settings.endpoint_url
    if not url:
        return None
    url = check_url(url)
    secret = secret or read_secret("signing_secret", settings)
    if not secret:
        raise EndpointError("no signing secret is set: `fleet-desk config set-secret signing_secret` "
                            f"(or {ENV['signing_secret']})")
    return Endpoint(url, token or read_secret("endpoint_token", settings), secret)
