"""Where events go and with which credentials.

The URL is a setting (or ``FLEET_DESK_ENDPOINT_URL``); HTTPS is required
unless the host is this machine. The bearer token and the signing secret live
in the OS keyring (or ``FLEET_DESK_ENDPOINT_TOKEN`` / ``FLEET_DESK_SIGNING_SECRET``
for headless use), never in the settings file or the log. Where no keyring
exists they are kept in a file readable only by the user, and only if the user
said so (setting ``allow_plaintext_secrets``), and that file is made 0600
whatever it was. A URL may itself carry credentials (``user:password@``, a
``?token=``); wherever a URL is shown, logged or stored it goes through
`shown`, and any text that may quote it through `Endpoint.scrub`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit, urlunsplit

from fleet_desk.settings import Settings, config_dir

SERVICE = "fleet-desk"
SECRETS = ("endpoint_token", "signing_secret")
MASK = "***"
#: Query parameters whose value is a credential (``?token=``, ``api_key``, ``sig``, ``password``, ...).
_SECRET_WORDS = "token|key|sig|pass|pwd|secret|auth|credential|session"
_SECRET_PARAM = re.compile(_SECRET_WORDS, re.IGNORECASE)
_STOP = r"[.,;:!?]*(?:[\s'\"<>()]|$)"  # a URL or a value in a sentence ends before its punctuation
_URL_IN_TEXT = re.compile(rf"https?://[^\s'\"<>()]+?(?={_STOP})", re.IGNORECASE)
_PARAM_IN_TEXT = re.compile(rf"([?&;][^=&;\s'\"]*(?:{_SECRET_WORDS})[^=&;\s'\"]*=)[^&#;\s'\"]*?(?=[&#;]|{_STOP})",
                            re.IGNORECASE)
ENV = {"endpoint_url": "FLEET_DESK_ENDPOINT_URL", "endpoint_token": "FLEET_DESK_ENDPOINT_TOKEN",
       "signing_secret": "FLEET_DESK_SIGNING_SECRET"}

log = logging.getLogger(__name__)


class EndpointError(ValueError):
    """The endpoint cannot be used as configured; the message says what to do."""


@dataclass(frozen=True)
class Endpoint:
    """The tracking endpoint events are pushed to: its URL, the bearer token if any and the signing secret
    ("" only for `fleet-desk outbox ping` without one: its test event then goes unsigned).

    Its repr and `shown` never show the credentials, and `scrub` takes them out of any text that may quote
    them (an error, the endpoint's answer).
    """

    url: str
    token: str | None
    secret: str

    def __repr__(self) -> str:  # never the credentials, even in a traceback
        return f"Endpoint({self.shown!r}, token={'set' if self.token else 'none'}, " \
               f"secret={'set' if self.secret else 'none'})"

    @cached_property
    def shown(self) -> str:
        """The URL as messages, logs and the database may hold it."""
        return shown(self.url)

    def scrub(self, text: str) -> str:
        """``text`` (an error, the endpoint's answer) without this URL's credentials or our own secrets."""
        text = mask(text.replace(self.url, self.shown))
        for secret in sorted(_credentials(self.url) | {self.token or "", self.secret} - {""}, key=len, reverse=True):
            for form in {secret, quote(secret, safe=""), quote_plus(secret), quote(secret)}:
                text = text.replace(form, MASK)
        return text


def shown(url: str) -> str:
    """``url`` with its credentials masked: the password (or a lone user name, often a token) and the value
    of every secret-looking query parameter."""
    try:
        parts = urlsplit(url.strip())
        host = parts.netloc.rpartition("@")[2]
        if "@" in parts.netloc:
            host = f"{parts.username}:{MASK}@{host}" if parts.password is not None else f"{MASK}@{host}"
        query = urlencode([(k, MASK if _SECRET_PARAM.search(k) else v)
                           for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
        fragment = MASK if parts.fragment else ""  # never sent; may hold an access token
        return urlunsplit(parts._replace(netloc=host, query=query, fragment=fragment))
    except ValueError:
        return "(an unreadable URL)"


def mask(text: str) -> str:
    """``text`` with the credentials of every URL it quotes masked, and of a bare ``?token=...`` (requests quotes
    the path and query without the host); for text stored before masking, or from anywhere."""
    text = _URL_IN_TEXT.sub(lambda m: shown(m.group()), text)
    return _PARAM_IN_TEXT.sub(lambda m: m.group(1) + MASK, text)


def _credentials(url: str) -> set[str]:
    """The credential values ``url`` carries, as written and decoded."""
    try:
        parts = urlsplit(url.strip())
        found = {parts.password or parts.username or ""} if "@" in parts.netloc else set()
        found |= {v for k, v in parse_qsl(parts.query, keep_blank_values=True) if _SECRET_PARAM.search(k)}
    except ValueError:
        return set()
    return {form for value in found if value for form in (value, unquote(value))}


def check_url(url: str) -> str:
    """The URL if it may be used: http(s) with a host, and https unless the host is loopback."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError:
        host = None
    if not host or parts.scheme not in ("http", "https"):
        raise EndpointError(f"not an http(s) URL: {shown(url)!r}")
    if parts.scheme == "http" and not _loopback(host):
        raise EndpointError(f"{shown(url)}: HTTPS is required for an endpoint that is not on this machine")
    return url.strip()


def check_url_to_save(url: str) -> str:
    """`check_url`, and no password in it: what is saved goes to the plain settings file, and credentials live
    in the OS keyring (a URL with one still works from ``FLEET_DESK_ENDPOINT_URL``)."""
    url = check_url(url)
    if urlsplit(url).password:
        raise EndpointError(f"{shown(url)}: a password in the URL would be kept in the plain settings file; save "
                            "the URL without it and the credential as the endpoint token (fleet-desk config "
                            "set-secret endpoint_token), which is kept in the OS keyring")
    return url


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _secrets_file() -> Path:
    return config_dir() / "secrets.json"


def _tighten(path: Path) -> bool:
    """Make ``path`` readable only by its owner, whatever it was; whether it now is (always, on POSIX)."""
    if os.name != "posix":
        return False
    try:
        if stat.S_IMODE(path.stat().st_mode) != 0o600:
            os.chmod(path, 0o600)
            log.warning("%s was open to others; it is now readable only by you", path)
        return stat.S_IMODE(path.stat().st_mode) == 0o600
    except OSError as exc:
        log.warning("%s could not be made readable only by you (%s); keep it safe or use an OS keyring", path, exc)
        return False


def keyring_available() -> bool:
    """Whether this computer has an OS keyring to keep secrets in."""
    import keyring
    from keyring.backends import fail

    return not isinstance(keyring.get_keyring(), fail.Keyring)


def read_secret(key: str, settings: Settings) -> str | None:
    """The endpoint token or signing secret where `store_secret` keeps it: the environment first (headless
    use), then the OS keyring, then the file readable only by the user if the settings allow it; None if unset."""
    if os.environ.get(ENV[key]):
        return os.environ[ENV[key]]
    if keyring_available():
        import keyring

        return keyring.get_password(SERVICE, key)
    path = _secrets_file()
    if settings.allow_plaintext_secrets and path.exists():
        _tighten(path)
        return json.loads(path.read_text(encoding="utf-8")).get(key)
    return None


MIN_SECRET = 12  # characters a kept secret has at least


def store_secret(key: str, value: str, settings: Settings) -> str:
    """Keep a secret; returns where it went (for the user), never the value."""
    if key not in SECRETS:
        raise EndpointError(f"unknown secret {key!r}; one of {', '.join(SECRETS)}")
    if len(value) < MIN_SECRET:  # guessable, and masked wherever it appears it would garble every message
        raise EndpointError(f"a {key} of {len(value)} characters is too short; give at least {MIN_SECRET} (the "
                            "endpoint's owner issues it)")
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
    # Written beside it with 0600 from the start and renamed over it: never readable by others, never half
    # written (the other secret is kept), and an existing 0644 file is replaced by a 0600 one.
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)
    if not _tighten(path):
        return f"{path} (no OS keyring here; this file system cannot make it private: keep it safe yourself)"
    return f"{path} (readable only by you; no OS keyring here)"


#: How to set the signing secret, and the refusal when it is not set (every event is signed with it; none is
#: sent without one).
SET_SECRET = f"`fleet-desk config set-secret signing_secret` (or {ENV['signing_secret']})"
NO_SECRET = f"no signing secret is set: {SET_SECRET}"


def endpoint(settings: Settings, token: str | None = None, secret: str | None = None,
             unsigned: bool = False) -> Endpoint | None:
    """The configured endpoint; None when no URL is set. Raises `EndpointError` when it cannot be used.

    ``token`` and ``secret``: typed but not yet kept (the Settings dialog's Test connection); else the kept ones.
    ``unsigned``: no signing secret is no refusal (its secret is then ""): `fleet-desk outbox ping` tries the URL
    first and says the secret is missing after; what sends events never asks for this.
    """
    url = os.environ.get(ENV["endpoint_url"]) or settings.endpoint_url
    if not url:
        return None
    url = check_url(url)
    secret = secret or read_secret("signing_secret", settings)
    if not secret and not unsigned:
        raise EndpointError(NO_SECRET)
    return Endpoint(url, token or read_secret("endpoint_token", settings), secret or "")
