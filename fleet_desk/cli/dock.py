"""``dock``: a docked unit's stored track downloaded, stored, and the day's stop visits filled in."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from fleet_desk.cli.opening import open_depot
from fleet_desk.cli.options import Commands
from fleet_desk.cli.terminal import EXIT_FAILED, EXIT_INTERRUPTED, ProgressLine, err

if TYPE_CHECKING:
    from fleet_desk.ingest.dock import DockProgress


def add_dock(commands: Commands) -> None:
    """The `dock` command: a docked unit's stored track downloaded, stored and its stop visits filled in."""
    p = commands.add("dock", cmd_dock,
                     help="download a docked unit's stored track, store it and fill in the stop visits")
    p.add_argument("port", metavar="PORT", help="device path or pyserial URL")
    p.add_argument("--device", metavar="NAME", help="the unit (default: recognised by its USB details or by asking "
                   "it; a new name registers it)")
    p.add_argument("--vehicle", metavar="NAME", help="the vehicle the unit is in (from now on)")
    p.add_argument("--family", choices=["mtk", "nmea"], help="mtk: MediaTek data logger (PMTK182 download); nmea: "
                   "plays its log back as NMEA (default: the unit's registered family, else asked)")
    p.add_argument("--baud", type=int, help="skip baud rate detection")
    p.add_argument("--erase", action="store_true", help="erase the unit's memory once everything is stored")


def cmd_dock(args: argparse.Namespace) -> int:
    """Recognise the unit on the port, download and store its track with a progress line; returns the exit code."""
    from fleet_desk.ingest.dock import DockError, dock_unit
    from fleet_desk.ingest.dock.recognise import which_unit
    from fleet_desk.times import iso_z

    depot = open_depot(args)
    engine = depot.engine
    device, vehicle, family, baud = args.device, args.vehicle, args.family, args.baud
    if device is None:
        unit, identity = which_unit(engine, args.port)
        if unit is None:
            said = f" (it says: {identity.text})" if identity else ""
            err(f"{args.port}: unknown unit{said}; give --device NAME (and --vehicle NAME) to register it")
            return EXIT_FAILED
        device, family = unit.device, family or (identity and "mtk")
        baud = baud or (identity.baud if identity else None)  # found when it was asked: not searched again
        print(f"{args.port}: {device}" + (f", {unit.vehicle}" if unit.vehicle else ""), file=sys.stderr)
    line = ProgressLine()
    try:
        summary = dock_unit(engine, depot.tracker, args.port, device, family, vehicle, args.erase, baud,
                            progress=dock_progress(line))
    except DockError as exc:
        line.close()
        err(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        line.close()
        err("interrupted; what was read is stored, dock again to finish")
        return EXIT_INTERRUPTED
    line.close()
    print(f"{args.port}: docked")
    for label, value in summary.report():
        print(f"  {label:<21} {value}")
    for stop in summary.stops:
        left = f" .. {iso_z(stop.departed_ms)}" if stop.departed_ms else ""
        new = "  (filled in)" if stop.filled_in else ""
        print(f"    {stop.service_date} #{stop.sequence:<3} {stop.order_id:<12} {iso_z(stop.arrived_ms)}{left}  "
              f"{stop.address}{new}")
    return 0 if summary.complete else EXIT_FAILED


def dock_progress(line: ProgressLine) -> Callable[[DockProgress], None]:
    """What a dock reports (its phase, bytes, records, rate and time left) drawn on ``line``."""

    def report(p: DockProgress) -> None:
        if p.bytes_total:
            left = f", {p.time_left_s:.0f} s left" if p.time_left_s is not None else ""
            line.show(f"{p.phase:<12}", p.bytes_done / p.bytes_total,
                      f"{p.bytes_done:,}/{p.bytes_total:,} bytes, {p.records:,} records, {p.rate_bps:,.0f} B/s{left}")
        else:
            line.show(f"{p.phase:<12}", None, f"{p.bytes_done:,} bytes, {p.records:,} records")

    return report
