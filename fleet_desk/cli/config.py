"""``config``: the user's settings, and the endpoint's secrets kept in the OS keyring."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from fleet_desk.cli.options import Commands
from fleet_desk.cli.terminal import EXIT_FAILED, EXIT_USAGE, err

if TYPE_CHECKING:
    from fleet_desk.settings import Settings

DEFAULT_SHOWN = 50  # characters of a default value in the list of keys
TYPE_WORDS = {bool: "true/false", int: "integer", float: "number", str: "text"}


def add_config(commands: Commands) -> None:
    """The `config` command: settings, and the secrets kept in the OS keyring."""
    p = commands.add("config", cmd_config, database=False, help="settings, and secrets kept in the OS keyring",
                     formatter_class=ConfigHelp)
    p.add_argument("action", choices=["show", "set", "set-secret"],
                   help="show: every setting and whether each secret is set (never its value)")
    p.add_argument("key", nargs="?", metavar="KEY",
                   help="set: a setting (listed below); set-secret: a secret (listed below)")
    p.add_argument("value", nargs="?", metavar="VALUE", help="set: its new value (a secret is asked for instead)")


class ConfigHelp(argparse.HelpFormatter):
    """``config --help`` ends by saying where the settings are kept and which keys there are, worked out when
    the help is shown (so other commands start without reading them)."""

    def format_help(self) -> str:
        """argparse's help, then where the settings are kept and which keys there are."""
        return super().format_help() + "\n" + settings_help()


def settings_help() -> str:
    """Where the settings file is, and the keys ``config set`` takes (the fields of `Settings`, with their type
    and default) and those ``config set-secret`` takes."""
    from dataclasses import fields

    from fleet_desk.push.endpoint import SECRETS
    from fleet_desk.settings import ENV_DIR, Settings

    defaults = Settings()
    lines = [f"settings are kept in {Settings.path()}",
             f"  (the folder named by {ENV_DIR} if it is set, else this user's config folder)", "",
             "keys `config set` takes, with their type and default:"]
    width = max(len(f.name) for f in fields(Settings))
    for f in fields(Settings):
        default = getattr(defaults, f.name)
        shown = str(default).lower() if isinstance(default, bool) else str(default) if default != "" else "(empty)"
        shown = shown if len(shown) <= DEFAULT_SHOWN else shown[:DEFAULT_SHOWN - 3] + "..."
        lines.append(f"  {f.name:<{width}}  {TYPE_WORDS.get(type(default), type(default).__name__):<10}  {shown}")
    lines += ["", "secrets `config set-secret` asks for, kept in the OS keyring (never in the settings file):",
              f"  {', '.join(SECRETS)}"]
    return "\n".join(lines) + "\n"


def settings_shown(settings: Settings) -> str:
    """``config show``: the settings file, each setting's value (the endpoint URL with its credentials masked),
    whether each secret is set and where, and the database commands use when --db is not given."""
    from dataclasses import fields

    from fleet_desk.push.endpoint import ENV, SECRETS, read_secret, shown
    from fleet_desk.settings import Settings
    from fleet_desk.store.database import ENV_VAR, describe, resolve_url

    defaults = Settings()
    lines = [f"settings file: {Settings.path()}" + ("" if Settings.path().exists() else " (not written yet: defaults)")]
    width = max(len(f.name) for f in fields(Settings))
    for f in fields(Settings):
        value = getattr(settings, f.name)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if f.name == "endpoint_url" and value:
            text = shown(str(value))
        note = "  (default)" if value == getattr(defaults, f.name) else ""
        lines.append(f"  {f.name:<{width}}  {text if text else '(empty)'}{note}")
    lines.append("secrets (values never shown):")
    for key in SECRETS:
        try:
            secret = read_secret(key, settings)
        except Exception as exc:  # a keyring backend failing: say so, show nothing
            state = f"cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        else:
            where = f"from {ENV[key]}" if os.environ.get(ENV[key]) else "kept"
            state = f"set ({where})" if secret else "not set"
        lines.append(f"  {key:<{width}}  {state}")
    lines.append(f"database without --db: {describe(resolve_url())}"
                 + (f" (from {ENV_VAR})" if os.environ.get(ENV_VAR) else ""))
    return "\n".join(lines)


def cmd_config(args: argparse.Namespace) -> int:
    """Set a setting (checked as the Settings dialog checks it) or a secret; returns the exit code."""
    import getpass
    from dataclasses import fields

    from fleet_desk.depot import SettingsError, check_settings
    from fleet_desk.push.endpoint import EndpointError, check_url_to_save, shown, store_secret
    from fleet_desk.settings import Settings

    settings = Settings.load()
    if args.action == "show":
        print(settings_shown(settings))
        return 0
    if args.key is None:
        err(f"config {args.action} needs a KEY (`fleet-desk config --help` lists them)")
        return EXIT_USAGE
    if args.action == "set-secret":
        secret = getpass.getpass(f"{args.key}: ")
        if not secret:
            err("nothing entered; the secret was not changed")
            return EXIT_USAGE
        try:
            where = store_secret(args.key, secret, settings)
        except EndpointError as exc:
            err(str(exc))
            return EXIT_FAILED
        print(f"{args.key} kept in {where}")
        return 0
    known = {f.name: f for f in fields(Settings)}
    if args.value is None:
        err(f"config set {args.key} needs a VALUE")
        return EXIT_USAGE
    if args.key not in known:
        err(f"unknown setting {args.key!r}; one of: {', '.join(known)} (`fleet-desk config --help` says more)")
        return EXIT_USAGE
    current = getattr(settings, args.key)
    value: object
    try:
        if isinstance(current, bool):
            if args.value.lower() not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError("expected true or false")
            value = args.value.lower() in ("true", "yes", "1")
        else:
            value = type(current)(args.value)
        if args.key == "endpoint_url" and value:
            value = check_url_to_save(str(value))
    except (ValueError, EndpointError) as exc:
        err(f"{args.key}: {exc}")
        return EXIT_USAGE
    setattr(settings, args.key, value)
    try:
        check_settings(settings)  # what the Settings dialog checks too, before anything is saved
    except SettingsError as exc:
        err(f"{args.key}: {exc}; not saved")
        return EXIT_USAGE
    settings.save()
    print(f"{args.key} = {shown(str(value)) if args.key == 'endpoint_url' and value else value}")
    return 0
