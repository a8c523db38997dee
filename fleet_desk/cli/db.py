"""``db upgrade``: the database's schema brought to this version's (Alembic's migrations)."""

from __future__ import annotations

import argparse

from fleet_desk.cli.options import Commands


def add_db(commands: Commands) -> None:
    """The `db` command: database maintenance."""
    p = commands.add("db", cmd_db_upgrade, help="database maintenance")
    p.add_argument("action", choices=["upgrade"])


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Check every page of the database, then bring its schema to this version's; returns the exit code."""
    from fleet_desk.store.database import describe, resolve_url, upgrade_database

    url = resolve_url(args.db)
    before, after = upgrade_database(url)
    print(f"{describe(url)}: schema {before or 'empty'} -> {after}")
    return 0
