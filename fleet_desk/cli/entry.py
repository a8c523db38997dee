"""The parser, and `main`: one command run, its errors turned into one line and an exit code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fleet_desk import __version__
from fleet_desk.cli import config, db, dock, export, imports, live, lookup, manifest, outbox, ports, roads, sim, watch
from fleet_desk.cli.opening import closing, storage_errors, storage_message
from fleet_desk.cli.options import Commands, add_global_options
from fleet_desk.cli.terminal import EXIT_FAILED, EXIT_USAGE, err

#: Each command's parser, in the order ``fleet-desk --help`` lists them.
COMMANDS = (imports.add_import_log, dock.add_dock, live.add_listen, export.add_export, manifest.add_manifest,
            imports.add_replay, lookup.add_stop, lookup.add_lookup, outbox.add_outbox, config.add_config,
            ports.add_ports, roads.add_roads, sim.add_simulate, db.add_db, watch.add_watch)


def build_parser() -> argparse.ArgumentParser:
    """Every command and option of `fleet-desk`, from the command groups' own modules."""
    parser = argparse.ArgumentParser(prog="fleet-desk", description="Fleet Desk: depot fleet operations")
    parser.add_argument("--version", action="version", version=f"fleet-desk {__version__}")
    add_global_options(parser)
    parser.add_argument("--demo", action="store_true", help="open the app on the built-in demo fleet")
    parser.add_argument("--headless", action="store_true",
                        help="with --demo: no window, print live fixes on the terminal")
    parser.add_argument("--screenshot", metavar="FILE", type=Path,
                        help="save a PNG of the main window once vehicles are on the map, then exit")
    parser.add_argument("--after", metavar="SECONDS", type=float, default=30.0,
                        help="with --screenshot: wait at most this long for vehicles (default 30)")
    parser.add_argument("--vehicles", type=int, default=12, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=None, help=argparse.SUPPRESS)
    commands = Commands(parser.add_subparsers(dest="command", metavar="COMMAND"))
    for add in COMMANDS:
        add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run `fleet-desk` with ``argv`` (the process's arguments when None); returns the exit code.

    What goes wrong with the database or the arguments is said in one line, never as a traceback; what the
    command opened is closed when it ends."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.headless and not args.demo:
        parser.error("--headless goes with --demo")
    if not args.command and not args.headless:  # the desktop app: it reports its own errors
        from fleet_desk.ui.app import run_app

        return run_app(args.db, demo=args.demo, screenshot=args.screenshot, after=args.after,
                       vehicles=args.vehicles)
    try:
        with closing(args):
            if args.command:
                code: int = args.func(args)
                return code
            return sim.cmd_demo(args)
    except storage_errors() as exc:  # disk full, read-only, damaged: one line naming the database, what to do
        err(storage_message(exc, args))
        return EXIT_FAILED
    except BrokenPipeError:  # `fleet-desk export ... | head`
        sys.stderr.close()
        return 0
    except ValueError as exc:
        err(str(exc))
        return EXIT_USAGE
