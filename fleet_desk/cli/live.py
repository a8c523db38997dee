"""``listen``: one live unit read into the store until Ctrl-C, with its status on one line."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import tzinfo
from typing import TYPE_CHECKING

from fleet_desk.cli.opening import open_depot
from fleet_desk.cli.options import Commands
from fleet_desk.cli.terminal import ProgressLine, err

if TYPE_CHECKING:
    from fleet_desk.gps import DecodeStats, Fix
    from fleet_desk.store import DeviceRef
    from fleet_desk.store.units import Claim


def add_listen(commands: Commands) -> None:
    """The `listen` command: one live unit read and stored until Ctrl-C."""
    p = commands.add("listen", cmd_listen, help="ingest a live unit until Ctrl-C")
    p.add_argument("port", metavar="PORT", help="device path or pyserial URL (socket://host:port, rfc2217://...)")
    p.add_argument("--device", required=True, metavar="NAME")
    p.add_argument("--vehicle", metavar="NAME")
    p.add_argument("--baud", type=int, help="skip baud rate detection")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--take-over", action="store_true",
                   help="read the unit here even if another desk reads it now (that desk stops within seconds); "
                        "without it, a unit another desk reads waits until that desk goes quiet")


def rejected(stats: DecodeStats | None) -> str:
    """The sentences decoding rejected, by why (`DecodeStats.rejected_words`); "rejected -" before any."""
    return "rejected -" if stats is None else stats.rejected_words()


def waiting_text(claim: Claim | None, desk: str, tz: tzinfo | None) -> str:
    """Who reads a unit this desk waits for: "read by desk-2 since 07:02" (``tz``: the depot's time); "let go by
    the desk that read it" when nobody does any more."""
    from fleet_desk.clock import now_ms
    from fleet_desk.store.units import claim_text

    if claim is None:
        return "let go by the desk that read it"
    return claim_text(claim, now_ms(), tz, desk)


def cmd_listen(args: argparse.Namespace) -> int:
    """Read the unit, store its fixes and show a status line (with what was rejected); returns the exit code."""
    from fleet_desk.ingest.live import LiveIngest
    from fleet_desk.times import utc_hhmmss

    depot = open_depot(args)
    stored = 0
    last_fix: Fix | None = None
    errors: list[str] = []

    def on_fixes(_device: DeviceRef, fixes: list[Fix]) -> None:
        nonlocal stored, last_fix
        stored += len(fixes)
        last_fix = fixes[-1]

    live = LiveIngest(depot.engine, depot.tracker, on_fixes=on_fixes, on_error=errors.append)
    live.start()
    live.add_unit(args.port, args.device, args.vehicle, args.baud, take_over=args.take_over)
    zone = depot.rules.timezone
    reading = bool(live.units())
    if reading:
        print(f"listening on {args.port} as {args.device}"
              + (" (taken over)" if args.take_over else "") + "; Ctrl-C to stop", file=sys.stderr)
    else:
        errors.clear()  # said once here, in the command line's words
        err(f"{args.device} is {waiting_text(live.waiting().get(args.port), live.desk, zone)}; waiting until that "
            f"desk goes quiet (or run with --take-over); Ctrl-C to stop")
    deadline = time.monotonic() + args.duration if args.duration else None
    line = ProgressLine(sys.stdout, every_s=0.0) if sys.stdout.isatty() else None  # piped: a line a second
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(1.0)
            for _ref, unit, rate in live.units():
                st = unit.status
                fix = last_fix
                where = f"{fix.lat:.6f},{fix.lon:.6f} @ {utc_hhmmss(fix.time)}" if fix else "-"
                status = (f"{st.state.value:<12} baud {st.baud or '?':>6}  {rate:4.1f} fix/s  "
                          f"stored {stored:>7}  {rejected(live.decode_stats(unit.port))}  last {where}  {st.message}")
                if line:
                    line.show(status)
                else:
                    print(status, flush=True)
            if bool(live.units()) != reading:
                reading = not reading
                err(f"{args.device}: read here now (the desk that read it let go or went quiet)" if reading else
                    f"{args.device}: {waiting_text(live.waiting().get(args.port), live.desk, zone)}; waiting")
            while errors:
                err(errors.pop(0))
    except KeyboardInterrupt:
        pass
    finally:
        live.stop()
        if line:
            line.close()
    print(f"stopped; {stored} fixes stored", file=sys.stderr)
    return 0
