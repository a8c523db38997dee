"""``manifest import``: a day's routes and stops from a CSV or JSON file, all rows or none."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fleet_desk.cli.opening import open_depot
from fleet_desk.cli.options import Commands, parse_day
from fleet_desk.cli.terminal import EXIT_FAILED, err


def add_manifest(commands: Commands) -> None:
    """The `manifest` command: a day's routes and stops imported."""
    p = commands.add("manifest", cmd_manifest_import, help="a day's routes and stops")
    p.add_argument("action", choices=["import"])
    p.add_argument("file", metavar="FILE", help="CSV with a header row, or JSON with the same fields")
    p.add_argument("--date", type=parse_day, metavar="YYYY-MM-DD", help="the day HH:MM times are on")
    p.add_argument("--skip-invalid", action="store_true", help="import the valid rows and list the others")


def cmd_manifest_import(args: argparse.Namespace) -> int:
    """Check every row (and the tracking numbers already stored), then store the valid routes; the exit code."""
    from sqlalchemy.exc import IntegrityError

    from fleet_desk.tracking.manifest import ManifestError, check_stored, read_manifest
    from fleet_desk.tracking.routes import store_manifest

    depot = open_depot(args)
    try:
        manifest = read_manifest(Path(args.file), day=args.date, tz=depot.rules.timezone)
    except ManifestError as exc:
        err(f"{exc}; nothing was imported")
        return EXIT_FAILED
    engine = depot.engine
    with engine.connect() as conn:
        check_stored(manifest, conn)
    for problem in manifest.problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    if manifest.problems and not args.skip_invalid:
        err(f"{len(manifest.problems)} problem(s) in {len(manifest.skipped_lines)} row(s); nothing was imported "
            "(fix the file, or --skip-invalid to import the valid rows)")
        return EXIT_FAILED
    if not manifest.stops:
        err(f"{args.file}: no valid row to import"
            + (f" ({len(manifest.skipped_lines)} row(s) with problems, listed above)" if manifest.skipped_lines
               else "") + "; nothing was imported")
        return EXIT_FAILED
    try:
        result = store_manifest(engine, depot.tracker, manifest, depot.rules)
    except IntegrityError as exc:  # a row changed by another program since the check above
        err(f"{args.file}: a row conflicts with what is stored ({str(exc.orig).splitlines()[0]}); nothing was "
            "imported: run the import again to see which line")
        return EXIT_FAILED
    print(f"{args.file}: {result.report()}")
    for line in depot.road_problems(manifest.stops):  # their ETAs fall back to the straight line: say why now
        print(f"{args.file}: {line}", file=sys.stderr)
    if manifest.skipped_lines:
        print(f"  skipped {len(manifest.skipped_lines)} invalid row(s): lines "
              f"{', '.join(str(n) for n in sorted(manifest.skipped_lines))}")
    return 0
