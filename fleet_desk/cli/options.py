"""How commands are added to the parser, and the argument types they share."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

Run = Callable[[argparse.Namespace], int]


class Commands:
    """Where each command group adds its commands, each with the function that runs it."""

    def __init__(self, subparsers: Subparsers) -> None:
        self._subparsers = subparsers

    def add(self, name: str, run: Run, **kwargs: Any) -> argparse.ArgumentParser:
        parser = self._subparsers.add_parser(name, **kwargs)
        parser.set_defaults(func=run)
        return parser


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def parse_time(text: str) -> datetime:
    from fleet_desk.store.timeutil import parse_utc

    try:
        return parse_utc(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc
