"""``import-log`` and ``replay``: log files and logger dumps into the store, now or as if live at their time."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fleet_desk.cli.opening import open_depot, storage_errors, storage_message
from fleet_desk.cli.options import Commands, parse_day
from fleet_desk.cli.terminal import EXIT_FAILED, ProgressLine, err

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from fleet_desk.tracking.tracker import RouteTracker


def add_import_log(commands: Commands) -> None:
    """The `import-log` command: NMEA logs (plain or .gz) or MTK logger dumps, stored without duplicates."""
    p = commands.add("import-log", cmd_import_log,
                     help="import NMEA logs (plain or .gz) or MTK logger dumps (--format mtk)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--device", required=True, metavar="NAME")
    p.add_argument("--vehicle", metavar="NAME")
    p.add_argument("--date", type=parse_day, metavar="YYYY-MM-DD", help="date for epochs before the log gives one")
    p.add_argument("--format", choices=["nmea", "mtk"], default="nmea",
                   help="mtk: a MediaTek data logger's binary dump (i-Blue 747, Qstarz, Holux M-241, ...)")


def add_replay(commands: Commands) -> None:
    """The `replay` command: logs processed as if live at their own time (arrivals, ETAs, events)."""
    p = commands.add("replay", cmd_replay,
                     help="process logs as if live at their own time (arrivals, ETAs, events)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--device", required=True, metavar="NAME")
    p.add_argument("--vehicle", metavar="NAME")
    p.add_argument("--date", type=parse_day, metavar="YYYY-MM-DD", help="date for epochs before the log gives one")
    p.add_argument("--enqueue", action="store_true",
                   help="queue the customer-facing events for the endpoint, as live would (for testing)")


def file_progress(line: ProgressLine, name: str) -> Callable[[int, int], None]:
    """What an import reports (bytes read of the file's size) drawn on ``line``."""

    def report(done: int, total: int) -> None:
        share = done / total if total else 1.0
        line.show(name, share, f"{share:6.1%}", last=done >= total)

    return report


def cmd_import_log(args: argparse.Namespace) -> int:
    """Import each file through the depot's live tracker (the stops' arrivals are filled in); the exit code."""
    depot = open_depot(args)
    return _import_files(args, depot.engine, depot.tracker)


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay each file with tracking's "now" at each fix's time; returns the exit code."""
    # Positions are stored as imported; tracking runs with "now" = each fix's time. Old days reach no
    # customer: nothing is queued for the endpoint unless --enqueue (to test an integration end to end).
    depot = open_depot(args)
    return _import_files(args, depot.engine, depot.replay_tracker(args.enqueue))


def _import_files(args: argparse.Namespace, engine: Engine, tracker: RouteTracker) -> int:
    """Import (or, with a replaying ``tracker``, replay) each file; a bad file does not stop the others."""
    from fleet_desk.gps.mtk import MtkFormatError
    from fleet_desk.ingest.pipeline import (
        DamagedLogError,
        NotNmeaError,
        UnreadableLogError,
        import_log,
        import_mtk_dump,
    )
    from fleet_desk.store.database import DAMAGED_ADVICE

    storage = storage_errors()
    line = ProgressLine()
    failures = 0
    for path in args.files:
        try:
            if getattr(args, "format", "nmea") == "mtk":
                summary = import_mtk_dump(engine, tracker, Path(path), args.device, args.vehicle)
            else:
                summary = import_log(engine, tracker, Path(path), args.device, args.vehicle, args.date,
                                     progress=file_progress(line, Path(path).name))
        except storage as exc:  # the database, not the file: the files after it would fail the same
            line.close()
            said = storage_message(exc, args)
            err(said if said.endswith(DAMAGED_ADVICE) else f"{said} (positions stored before stay stored; the "
                "same import run again goes on from there, storing nothing twice)")
            return EXIT_FAILED
        except (UnreadableLogError, NotNmeaError, MtkFormatError) as exc:  # nothing was stored from it
            line.close()
            err(f"{exc} (nothing was imported from it)")
            failures += 1
            continue
        except DamagedLogError as exc:
            line.close()
            err(f"{exc}; nothing more was read from it (the positions before the damage are stored)")
            failures += 1
            continue
        except OSError as exc:  # the disk, in mid-read
            line.close()
            err(f"{path}: {exc.strerror or exc}; nothing more was read from it (positions stored before stay "
                "stored)")
            failures += 1
            continue
        line.close()
        print(f"{path}:" + (" replayed" if tracker.replaying else ""))
        for label, value in summary.report():
            print(f"  {label:<19} {value}")
    return EXIT_FAILED if failures else 0
