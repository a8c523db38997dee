"""The database a command works on, opened the way it needs, and what its failures say.

Heavy modules (SQLAlchemy, the core) are imported when a command runs, so
``fleet-desk --help`` stays quick.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from fleet_desk.depot import Depot


def closing(args: argparse.Namespace) -> contextlib.ExitStack:
    """What this run of a command has opened, closed by `fleet_desk.cli.entry.main` when it ends (a command
    run in-process, by a test or a script, leaves no database connection behind)."""
    stack: contextlib.ExitStack | None = getattr(args, "opened", None)
    if stack is None:
        stack = args.opened = contextlib.ExitStack()
    return stack


def open_engine(args: argparse.Namespace) -> Engine:
    """The database alone, for commands that only read or export it."""
    from fleet_desk.store import open_database

    new = new_database(args)
    engine = open_database(args.db)
    closing(args).callback(engine.dispose)
    _said_created(new)
    return engine


def open_depot(args: argparse.Namespace, predicts: bool = True) -> Depot:
    """The command's one `Depot` (the database, the user's settings read once, the live tracker), for commands
    that store fixes, change routes or follow the tracking rules. ``predicts``: False for a command that never
    computes an ETA (a lookup reads those stored), which then does not open the road map."""
    from fleet_desk.depot import Depot
    from fleet_desk.settings import Settings

    new = new_database(args)
    depot = Depot.open(args.db, Settings.load(), road_map=True if predicts else None)
    closing(args).callback(depot.close)
    _said_created(new)
    return depot


def new_database(args: argparse.Namespace) -> Path | None:
    """The SQLite file a command is about to create, when ``--db`` (or FLEET_DESK_DB) names one that does not
    exist yet; None when it exists or is the user's default (made on first use)."""
    from fleet_desk.store.database import ENV_VAR, sqlite_file

    url = args.db or os.environ.get(ENV_VAR)
    path = sqlite_file(url) if url else None
    if path is None or path.exists():
        return None
    return path  # (one whose folder does not exist is refused by open_database, for the app too)


def _said_created(path: Path | None) -> None:
    if path is not None and path.exists():
        print(f"fleet-desk: created new database at {path}", file=sys.stderr)


def storage_errors() -> tuple[type[BaseException], ...]:
    """What the database and its driver raise, for an ``except`` (imported when the database is)."""
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    from fleet_desk.store import DatabaseError

    return DatabaseError, SQLAlchemyError, sqlite3.Error


def storage_message(exc: BaseException, args: argparse.Namespace) -> str:
    """One line naming the database and what to do (a DatabaseError already says it)."""
    from fleet_desk.store import DatabaseError
    from fleet_desk.store.database import explain, resolve_url

    return str(exc) if isinstance(exc, DatabaseError) else explain(exc, resolve_url(args.db))
