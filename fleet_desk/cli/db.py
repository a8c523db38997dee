"""``db upgrade``: the database's schema brought to this version's (Alembic's migrations); ``db maintain``: old
positions thinned and old change-log rows pruned (`fleet_desk.store.retention`), the run recorded so the desks'
nightly run does not repeat it tonight."""

from __future__ import annotations

import argparse

from fleet_desk.cli.options import Commands
from fleet_desk.cli.terminal import ProgressLine


def add_db(commands: Commands) -> None:
    """The `db` command: database maintenance."""
    p = commands.add("db", cmd_db, help="database maintenance: upgrade the schema, or thin old positions (maintain)")
    p.add_argument("action", choices=["upgrade", "maintain"],
                   help="upgrade: the schema to this version's; maintain: positions older than --keep-days thinned "
                        "(one per 30 s while moving, one per stand; every stop visit and each vehicle's latest "
                        "kept) and change-log rows older than a day removed (the app also does it once a night)")
    p.add_argument("--keep-days", type=_days, default=None, metavar="N",
                   help="days of positions kept at full rate (default: the keep_full_days setting, 30)")


def _days(value: str) -> float:
    try:
        days = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {value!r}") from None
    if days < 0 or days != days:
        raise argparse.ArgumentTypeError(f"days cannot be negative: {value!r}")
    if days > 100_000:
        raise argparse.ArgumentTypeError(f"more days than there are positions: {value!r}")
    return days


def cmd_db(args: argparse.Namespace) -> int:
    """Run the action asked for; returns the exit code."""
    if args.action == "maintain":
        return cmd_db_maintain(args)
    return cmd_db_upgrade(args)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Check every page of the database, then bring its schema to this version's; returns the exit code."""
    from fleet_desk.store.database import describe, resolve_url, upgrade_database

    url = resolve_url(args.db)
    before, after = upgrade_database(url)
    print(f"{describe(url)}: schema {before or 'empty'} -> {after}")
    return 0


def cmd_db_maintain(args: argparse.Namespace) -> int:
    """Thin positions older than the days kept at full rate, prune the change log and say what was removed;
    returns the exit code."""
    from fleet_desk.clock import now_ms
    from fleet_desk.settings import Settings
    from fleet_desk.store.database import describe, open_database, resolve_url, said_in_one_line
    from fleet_desk.store.retention import DEFAULT_KEEP_DAYS, maintain, record_run

    settings = Settings.load()
    keep = args.keep_days
    if keep is None:
        keep = float(settings.keep_full_days if settings.keep_full_days >= 1 else DEFAULT_KEEP_DAYS)  # hand-edited
    url = resolve_url(args.db)
    engine = open_database(url)
    line = ProgressLine()

    def progress(done: int, total: int) -> None:
        line.show("thinning", done / total if total else 1.0, f"{done}/{total} unit-days", last=done >= total)

    try:
        with said_in_one_line(url):
            record_run(engine, settings.desk_name, now_ms())
            result = maintain(engine, keep, now_ms(), progress)
    finally:
        line.close()
        engine.dispose()
    print(f"{describe(url)}: {result.report()}")
    for unit, removed in sorted(result.thinned.by_unit.items()):
        print(f"  {unit}: {removed:,} removed")
    return 0
