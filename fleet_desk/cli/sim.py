"""``simulate`` and the headless demo: simulated units and loggers to try the desk without hardware."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from fleet_desk.cli.options import Commands
from fleet_desk.cli.terminal import EXIT_FAILED, err

if TYPE_CHECKING:
    from fleet_desk.gps import Fix
    from fleet_desk.sim.loggers import SimulatedMtkLogger, SimulatedNmeaLogger
    from fleet_desk.store import DeviceRef


def add_simulate(commands: Commands) -> None:
    """The `simulate` command: simulated GPS units on pseudo-terminals or a port, or a logger to dock."""
    p = commands.add("simulate", cmd_simulate, database=False,
                     help="simulated GPS units on pseudo-terminals or a port")
    p.add_argument("--vehicles", type=int, default=1)
    p.add_argument("--port", help="write all units to this port instead of pseudo-terminals")
    p.add_argument("--baud", type=int, help="the units' baud rate (a reader at another rate gets garbage)")
    p.add_argument("--noise", type=float, default=0.0, metavar="M", help="position noise, metres (1 sigma)")
    p.add_argument("--dropouts", type=float, default=0.0, metavar="P", help="chance per second of a dropout")
    p.add_argument("--bad-checksums", type=float, default=0.0, metavar="P", help="share of epochs with a bad sentence")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--logger", choices=["mtk", "nmea"], help="a data logger to dock instead of live units")
    p.add_argument("--memory", metavar="FILE", help="--logger: an MTK memory dump (mtk) or an NMEA log (nmea)")


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run the simulated units (or logger) until Ctrl-C or ``--duration``; returns the exit code."""
    from fleet_desk.sim.vans import PortUnit, PtyUnit, SimulatedUnit, Trouble, run

    if args.logger:
        return _simulate_logger(args)
    trouble = Trouble(args.noise, args.dropouts, args.bad_checksums)
    units = [SimulatedUnit(i, args.seed, trouble=trouble) for i in range(args.vehicles)]
    if args.port:
        from drivers.base import open_port

        with open_port(args.port, args.baud or 4800) as ser:
            try:
                run([PortUnit(u, ser.write) for u in units], args.duration)
            except KeyboardInterrupt:
                pass
        return 0
    ptys = [PtyUnit(u, args.baud) for u in units]
    for i, p in enumerate(ptys):
        print(f"vehicle {i + 1}\t{p.path}", flush=True)
    try:
        run(ptys, args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        for p in ptys:
            p.close()
    return 0


def _simulate_logger(args: argparse.Namespace) -> int:
    """A data logger on a pseudo-terminal, to try docking by hand."""
    from fleet_desk.gps.mtk import looks_like_holux
    from fleet_desk.sim.loggers import SimulatedMtkLogger, SimulatedNmeaLogger

    if not args.memory:
        err("--logger needs --memory FILE (an MTK dump for mtk, an NMEA log for nmea)")
        return EXIT_FAILED
    try:
        memory = Path(args.memory).read_bytes()
    except OSError as exc:
        err(f"{args.memory}: {exc.strerror}")
        return EXIT_FAILED
    sim: SimulatedMtkLogger | SimulatedNmeaLogger
    if args.logger == "mtk":
        model = "M-241" if looks_like_holux(memory) else "MTK-LOGGER"
        sim = SimulatedMtkLogger(memory, baud=args.baud or (38400 if model == "M-241" else 115200), model=model)
    else:
        sim = SimulatedNmeaLogger(memory, baud=args.baud or 4800)
    sim.start()
    print(f"{args.logger} logger\t{sim.path}\t{sim.baud} baud", flush=True)
    try:
        time.sleep(args.duration if args.duration else 1e9)
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Headless demo: the app's demo fleet (the day's routes, each van's morning so far, its unit live on a
    pseudo-terminal), read as the app reads it, with each stored fix printed instead of drawn."""
    from fleet_desk.depot import Depot
    from fleet_desk.ingest.live import LiveIngest
    from fleet_desk.settings import Settings
    from fleet_desk.sim.demo import DemoFleet, demo_settings
    from fleet_desk.store.units import live_units
    from fleet_desk.times import utc_hhmmss

    def on_fixes(device: DeviceRef, fixes: list[Fix]) -> None:
        f = fixes[-1]
        speed = f"{f.speed_mps * 3.6:5.1f} km/h" if f.speed_mps is not None else "   ?"
        print(f"{utc_hhmmss(f.time)}  {device.vehicle_name:<8} {f.lat:10.6f} {f.lon:10.6f}  {speed}  "
              f"sats {f.sats}", flush=True)

    fleet = DemoFleet(args.vehicles)
    try:
        depot = Depot.open(fleet.url, demo_settings(Settings.load()), road_map=fleet.road_map)
        try:
            fleet.prepare(depot)
            fleet.start()
            live = LiveIngest(depot.engine, depot.tracker, on_fixes=on_fixes, on_error=err)
            live.start()
            try:
                for unit in live_units(depot.engine):
                    if unit.port:
                        live.add_unit(unit.port, unit.device, unit.vehicle, unit.baud)
                print(f"demo: {len(fleet.ptys)} simulated vans on pseudo-terminals; Ctrl-C to stop", file=sys.stderr)
                print(f"demo: its database, thrown away on exit, is {fleet.url}; while this runs, other commands "
                      f"reach it with --db, e.g. fleet-desk --db {fleet.url} lookup Martin", file=sys.stderr)
                time.sleep(args.duration if args.duration else 1e9)
            finally:
                live.stop()
        finally:
            depot.close()
    except KeyboardInterrupt:
        pass
    finally:
        fleet.stop()
    return 0
