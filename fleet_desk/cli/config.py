"""``config``: the user's settings, and the endpoint's secrets kept in the OS keyring."""

from __future__ import annotations

import argparse

from fleet_desk.cli.options import Commands
from fleet_desk.cli.terminal import EXIT_FAILED, EXIT_USAGE, err


def add_config(commands: Commands) -> None:
    p = commands.add("config", cmd_config, database=False, help="settings, and secrets kept in the OS keyring")
    p.add_argument("action", choices=["set", "set-secret"])
    p.add_argument("key", metavar="KEY")
    p.add_argument("value", nargs="?", metavar="VALUE")


def cmd_config(args: argparse.Namespace) -> int:
    import getpass
    from dataclasses import fields

    from fleet_desk.push.endpoint import EndpointError, check_url_to_save, shown, store_secret
    from fleet_desk.settings import Settings

    settings = Settings.load()
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
        err(f"unknown setting {args.key!r}; one of: {', '.join(known)}")
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
    settings.save()
    print(f"{args.key} = {shown(str(value)) if args.key == 'endpoint_url' and value else value}")
    return 0
