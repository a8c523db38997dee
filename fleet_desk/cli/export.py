"""``export``: stored positions, stops, ETA history or customer events, to a file or stdout."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from fleet_desk.cli.opening import open_engine
from fleet_desk.cli.options import Commands, parse_time
from fleet_desk.cli.terminal import EXIT_FAILED, EXIT_USAGE, err

if TYPE_CHECKING:
    from sqlalchemy import Engine


def add_export(commands: Commands) -> None:
    """The `export` command: stored positions, stops, ETA history or customer events."""
    p = commands.add("export", cmd_export, help="export stored data")
    p.add_argument("what", choices=["positions", "stops", "eta-history", "events"])
    p.add_argument("--device", metavar="NAME", help="positions: one unit only")
    p.add_argument("--since", type=parse_time, metavar="T", help="positions: from this time")
    p.add_argument("--until", type=parse_time, metavar="T", help="positions: up to this time")
    p.add_argument("--format", choices=["csv", "gpx", "geojson", "jsonl"],
                   help="positions: csv, gpx or geojson; events: csv or jsonl; others: csv (the default)")
    p.add_argument("-o", "--output", metavar="FILE")


def _units(engine: Engine) -> list[str]:
    """The names of the units the database knows, sorted."""
    from sqlalchemy import select

    from fleet_desk.store.models import Device

    with engine.connect() as conn:
        return sorted(conn.scalars(select(Device.name)))


def cmd_export(args: argparse.Namespace) -> int:
    """Write the export to standard output or, whole or not at all, to ``-o FILE``; returns the exit code."""
    from fleet_desk.store import export
    from fleet_desk.store.database import describe, resolve_url

    engine = open_engine(args)
    fmt = args.format or ("jsonl" if args.what == "events" and args.output and args.output.endswith(".jsonl")
                          else "csv")
    allowed = {"positions": ("csv", "gpx", "geojson"), "events": ("csv", "jsonl")}.get(args.what, ("csv",))
    if fmt not in allowed:
        err(f"{args.what} export as {' or '.join(allowed)}, not {fmt}")
        return EXIT_USAGE
    if args.device is not None:
        known = _units(engine)
        if args.device not in known:
            err(f"no unit named {args.device!r} in {describe(resolve_url(args.db))}; "
                + (f"units: {', '.join(known)}" if known else "it knows no unit yet")
                + ("" if args.what == "positions" else f" (--device goes with positions, not {args.what})"))
            return EXIT_FAILED
    try:
        with export.output_file(args.output) as out:
            if args.what == "positions":
                n = export.export_positions(engine, out, fmt, args.device, args.since, args.until)
            elif args.what == "stops":
                n = export.export_stops(engine, out)
            elif args.what == "eta-history":
                n = export.export_eta_history(engine, out)
            else:
                n = export.export_events(engine, out, fmt)
    except export.OutputError as exc:
        err(str(exc))
        return EXIT_FAILED
    print(f"{n} {args.what.replace('-', ' ')} rows exported", file=sys.stderr)
    return 0
