"""How commands are added to the parser, and the argument types they share."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

Run = Callable[[argparse.Namespace], int]
DB_HELP = "database URL (default: $FLEET_DESK_DB or a per-user SQLite file)"


def add_global_options(parser: argparse.ArgumentParser, after_command: bool = False) -> None:
    """The options every command takes, before its name (``fleet-desk --db URL lookup ...``) or after it
    (``fleet-desk db upgrade --db URL``). After it they default to nothing at all, so one given before the
    command is not overwritten by the command's default."""
    default = argparse.SUPPRESS if after_command else None
    parser.add_argument("--db", metavar="URL", default=default, help=DB_HELP)


class Commands:
    """Where each command group adds its commands, each with the function that runs it and the global options."""

    def __init__(self, subparsers: Subparsers) -> None:
        self._subparsers = subparsers
        self._global = argparse.ArgumentParser(add_help=False)
        add_global_options(self._global, after_command=True)

    def add(self, name: str, run: Run, database: bool = True, **kwargs: Any) -> argparse.ArgumentParser:
        """``database``: the command works on one (so it takes ``--db`` after its name too)."""
        parser = self._subparsers.add_parser(name, parents=[self._global] if database else [], **kwargs)
        parser.set_defaults(func=run)
        return parser


def parse_day(text: str) -> date:
    """A day as the user types it (ISO), or a usage error naming what was typed."""
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def parse_time(text: str) -> datetime:
    """A time as the user types it (ISO 8601, UTC unless it says otherwise), or a usage error naming it."""
    from fleet_desk.times import parse_utc

    try:
        return parse_utc(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
