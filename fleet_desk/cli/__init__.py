"""The ``fleet-desk`` command line: a thin layer over the same core as the app."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fleet_desk import __version__

if TYPE_CHECKING:  # each command imports what it runs, so `--help` stays quick
    from sqlalchemy import Engine

    from fleet_desk.depot import Depot
    from fleet_desk.tracking.tracker import RouteTracker

EXIT_USAGE = 2
EXIT_FAILED = 1


def _err(message: str) -> None:
    print(f"fleet-desk: {message}", file=sys.stderr)


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from exc


def _parse_time(text: str) -> datetime:
    from fleet_desk.store.timeutil import parse_utc

    try:
        return parse_utc(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from exc


def _engine(args: argparse.Namespace):  # noqa: ANN202
    """The database alone, for commands that only read or export it."""
    from fleet_desk.store import open_database

    return open_database(args.db)


def _depot(args: argparse.Namespace) -> Depot:
    """The command's one `Depot` (the database, the user's settings read once, the live tracker), for commands
    that store fixes, change routes or follow the tracking rules."""
    from fleet_desk.depot import Depot
    from fleet_desk.settings import Settings

    return Depot.open(args.db, Settings.load())


def _storage_errors() -> tuple[type[BaseException], ...]:
    """What the database and its driver raise, for an ``except`` (imported when the database is)."""
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    from fleet_desk.store import DatabaseError

    return DatabaseError, SQLAlchemyError, sqlite3.Error


def _storage_message(exc: BaseException, args: argparse.Namespace) -> str:
    """One line naming the database and what to do (a DatabaseError already says it)."""
    from fleet_desk.store import DatabaseError
    from fleet_desk.store.database import explain, resolve_url

    return str(exc) if isinstance(exc, DatabaseError) else explain(exc, resolve_url(args.db))


class Progress:
    """A one-line progress bar on a terminal; silent when output is piped."""

    def __init__(self, label: str, stream=sys.stderr) -> None:  # noqa: ANN001
        self.label = label
        self.stream = stream
        self.enabled = stream.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done < total):
            return
        self._last = now
        frac = done / total if total else 1.0
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r{self.label} [{bar:<30}] {frac:6.1%}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")


def cmd_import_log(args: argparse.Namespace) -> int:
    depot = _depot(args)
    return _import_files(args, depot.engine, depot.tracker)


def _import_files(args: argparse.Namespace, engine: Engine, tracker: RouteTracker) -> int:
    """Import (or, with a replaying ``tracker``, replay) each file; a bad file does not stop the others."""
    from fleet_desk.gps.mtk import MtkFormatError
    from fleet_desk.ingest.pipeline import NotNmeaError, import_log, import_mtk_dump
    from fleet_desk.store.database import DAMAGED_ADVICE

    storage_errors = _storage_errors()
    failures = 0
    for path in args.files:
        progress = Progress(Path(path).name)
        try:
            if getattr(args, "format", "nmea") == "mtk":
                summary = import_mtk_dump(engine, tracker, Path(path), args.device, args.vehicle)
            else:
                summary = import_log(engine, tracker, Path(path), args.device, args.vehicle, args.date,
                                     progress=progress)
        except storage_errors as exc:  # the database, not the file: the files after it would fail the same
            progress.close()
            said = _storage_message(exc, args)
            _err(said if said.endswith(DAMAGED_ADVICE) else f"{said} (positions stored before stay stored; the "
                 "same import run again goes on from there, storing nothing twice)")
            return EXIT_FAILED
        except (OSError, NotNmeaError, MtkFormatError) as exc:
            progress.close()
            _err(f"{exc}; nothing more was read from it (positions stored before stay stored)")
            failures += 1
            continue
        progress.close()
        print(f"{path}:" + (" replayed" if tracker.replaying else ""))
        for label, value in summary.report():
            print(f"  {label:<19} {value}")
    return EXIT_FAILED if failures else 0


def cmd_dock(args: argparse.Namespace) -> int:
    from fleet_desk.ingest.dock import DockError, dock_unit
    from fleet_desk.ingest.dock.recognise import which_unit
    from fleet_desk.store.timeutil import iso_z

    depot = _depot(args)
    engine = depot.engine
    device, vehicle, family, baud = args.device, args.vehicle, args.family, args.baud
    if device is None:
        unit, identity = which_unit(engine, args.port)
        if unit is None:
            said = f" (it says: {identity.text})" if identity else ""
            _err(f"{args.port}: unknown unit{said}; give --device NAME (and --vehicle NAME) to register it")
            return EXIT_FAILED
        device, family = unit.device, family or (identity and "mtk")
        baud = baud or (identity.baud if identity else None)  # found when it was asked: not searched again
        print(f"{args.port}: {device}" + (f", {unit.vehicle}" if unit.vehicle else ""), file=sys.stderr)
    bar = DockBar()
    try:
        summary = dock_unit(engine, depot.tracker, args.port, device, family, vehicle, args.erase, baud,
                            progress=bar)
    except DockError as exc:
        bar.close()
        _err(str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        bar.close()
        _err("interrupted; what was read is stored, dock again to finish")
        return 130
    bar.close()
    print(f"{args.port}: docked")
    for label, value in summary.report():
        print(f"  {label:<21} {value}")
    for stop in summary.stops:
        left = f" .. {iso_z(stop.departed_ms)}" if stop.departed_ms else ""
        new = "  (filled in)" if stop.filled_in else ""
        print(f"    {stop.service_date} #{stop.sequence:<3} {stop.order_id:<12} {iso_z(stop.arrived_ms)}{left}  "
              f"{stop.address}{new}")
    return 0 if summary.complete else EXIT_FAILED


class DockBar:
    """The dock's progress on one terminal line: bytes, records, rate and time left."""

    def __init__(self, stream=sys.stderr) -> None:  # noqa: ANN001
        self.stream = stream
        self.enabled = stream.isatty()
        self._shown = False

    def __call__(self, p) -> None:  # noqa: ANN001
        if not self.enabled:
            return
        if p.bytes_total:
            frac = min(1.0, p.bytes_done / p.bytes_total)
            left = f", {p.time_left_s:.0f} s left" if p.time_left_s is not None else ""
            text = (f"{p.phase:<12} [{'#' * int(frac * 30):<30}] {p.bytes_done:,}/{p.bytes_total:,} bytes, "
                    f"{p.records:,} records, {p.rate_bps:,.0f} B/s{left}")
        else:
            text = f"{p.phase:<12} {p.bytes_done:,} bytes, {p.records:,} records"
        self.stream.write(f"\r{text:<110}")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")


def cmd_listen(args: argparse.Namespace) -> int:
    from fleet_desk.ingest.live import LiveIngest

    depot = _depot(args)
    stored = [0]
    last_fix: list = [None]
    errors: list[str] = []

    def on_fixes(_device, fixes) -> None:  # noqa: ANN001
        stored[0] += len(fixes)
        last_fix[0] = fixes[-1]

    live = LiveIngest(depot.engine, depot.tracker, on_fixes=on_fixes, on_error=errors.append)
    live.start()
    live.add_unit(args.port, args.device, args.vehicle, args.baud)
    print(f"listening on {args.port} as {args.device}; Ctrl-C to stop", file=sys.stderr)
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while deadline is None or time.monotonic() < deadline:
            time.sleep(1.0)
            for _ref, unit, rate in live.units():
                st = unit.status
                fix = last_fix[0]
                where = f"{fix.lat:.6f},{fix.lon:.6f} @ {fix.time:%H:%M:%S}Z" if fix else "-"
                line = (f"{st.state.value:<12} baud {st.baud or '?':>6}  {rate:4.1f} fix/s  "
                        f"stored {stored[0]:>7}  last {where}  {st.message}")
                if sys.stdout.isatty():
                    sys.stdout.write("\r" + line[:150].ljust(150))
                    sys.stdout.flush()
                else:
                    print(line, flush=True)
            while errors:
                _err(errors.pop(0))
    except KeyboardInterrupt:
        pass
    finally:
        live.stop()
        if sys.stdout.isatty():
            print()
    print(f"stopped; {stored[0]} fixes stored", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from fleet_desk.store import export

    engine = _engine(args)
    fmt = args.format or ("jsonl" if args.what == "events" and args.output and args.output.endswith(".jsonl")
                          else "csv")
    allowed = {"positions": ("csv", "gpx", "geojson"), "events": ("csv", "jsonl")}.get(args.what, ("csv",))
    if fmt not in allowed:
        _err(f"{args.what} export as {' or '.join(allowed)}, not {fmt}")
        return EXIT_USAGE
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
        _err(str(exc))
        return EXIT_FAILED
    print(f"{n} {args.what.replace('-', ' ')} rows exported", file=sys.stderr)
    return 0


def cmd_manifest_import(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import IntegrityError

    from fleet_desk.tracking.manifest import ManifestError, check_stored, read_manifest
    from fleet_desk.tracking.routes import store_manifest

    depot = _depot(args)
    try:
        manifest = read_manifest(Path(args.file), day=args.date, tz=depot.rules.timezone)
    except ManifestError as exc:
        _err(f"{exc}; nothing was imported")
        return EXIT_FAILED
    engine = depot.engine
    with engine.connect() as conn:
        check_stored(manifest, conn)
    for problem in manifest.problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    if manifest.problems and not args.skip_invalid:
        _err(f"{len(manifest.problems)} problem(s) in {len(manifest.skipped_lines)} row(s); nothing was imported "
             "(fix the file, or --skip-invalid to import the valid rows)")
        return EXIT_FAILED
    try:
        result = store_manifest(engine, depot.tracker, manifest, depot.rules)
    except IntegrityError as exc:  # a row changed by another program since the check above
        _err(f"{args.file}: a row conflicts with what is stored ({str(exc.orig).splitlines()[0]}); nothing was "
             "imported: run the import again to see which line")
        return EXIT_FAILED
    print(f"{args.file}: {result.report()}")
    if manifest.skipped_lines:
        print(f"  skipped {len(manifest.skipped_lines)} invalid row(s): lines "
              f"{', '.join(str(n) for n in sorted(manifest.skipped_lines))}")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    # Positions are stored as imported; tracking runs with "now" = each fix's time. Old days reach no
    # customer: nothing is queued for the endpoint unless --enqueue (to test an integration end to end).
    depot = _depot(args)
    return _import_files(args, depot.engine, depot.replay_tracker(args.enqueue))


def cmd_outbox(args: argparse.Namespace) -> int:
    import json

    from fleet_desk.push.outbox import outbox_status, retry_dead

    if args.action == "status":
        status = outbox_status(_engine(args))
        if args.format == "json":
            print(json.dumps({k: status[k] for k in ("pending", "sent", "dead", "oldest_pending_age_s",
                                                     "last_error")}))
        else:
            age = f", oldest waiting {status['oldest_pending_age_s']:.0f} s" if status["oldest_pending_age_s"] else ""
            print(f"pending {status['pending']}{age}; sent {status['sent']}; dead {status['dead']}; "
                  f"superseded {status['superseded']}")
            if status["last_error"]:
                print(f"last error: {status['last_error']}")
        return 0
    if args.action == "retry-dead":
        print(f"{retry_dead(_engine(args))} dead letter(s) back in the queue")
        return 0
    if args.action == "show":
        if args.id is None:
            _err("outbox show needs the event's ID (see `fleet-desk outbox status`)")
            return EXIT_USAGE
        return _outbox_show(args)
    sender = _depot(args).sender()
    if args.action == "ping":
        from fleet_desk.push.sender import check_connection

        worked, message = check_connection(sender.endpoint)
        print(message) if worked else _err(message)
        return 0 if worked else EXIT_FAILED
    deadline = time.monotonic() + args.timeout if args.timeout else None
    totals = {"sent": 0, "retrying": 0, "dead": 0, "superseded": 0}
    last_error = None
    while True:
        result = sender.send_due()
        for key in totals:
            totals[key] += getattr(result, key)
        last_error = result.last_error or last_error
        status = outbox_status(sender.engine)
        if not args.until_empty or status["pending"] == 0:
            break
        if deadline is not None and time.monotonic() > deadline:
            print(f"sent {totals['sent']}, {status['pending']} still pending; last error: {status['last_error']}")
            return EXIT_FAILED
        if result.attempted == 0:
            time.sleep(0.2)
    print(f"sent {totals['sent']}, superseded {totals['superseded']}, dead {totals['dead']}, "
          f"pending {status['pending']}" + (f"; last error: {last_error}" if last_error else ""))
    return 0


def _outbox_show(args: argparse.Namespace) -> int:
    import json

    from fleet_desk.push.outbox import outbox_event

    row = outbox_event(_engine(args), args.id)
    if row is None:
        _err(f"no outbox event {args.id}")
        return EXIT_FAILED
    for key in ("id", "event_id", "order_id", "sequence", "type", "status", "attempts", "last_error",
                "response_status", "response_body"):
        if row[key] is not None:
            print(f"{key:<16} {row[key]}")
    print(json.dumps(json.loads(row["body"]), indent=2, ensure_ascii=False))
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    import getpass
    from dataclasses import fields

    from fleet_desk.push.endpoint import EndpointError, check_url_to_save, shown, store_secret
    from fleet_desk.settings import Settings

    settings = Settings.load()
    if args.action == "set-secret":
        value = getpass.getpass(f"{args.key}: ")
        if not value:
            _err("nothing entered; the secret was not changed")
            return EXIT_USAGE
        try:
            where = store_secret(args.key, value, settings)
        except EndpointError as exc:
            _err(str(exc))
            return EXIT_FAILED
        print(f"{args.key} kept in {where}")
        return 0
    known = {f.name: f for f in fields(Settings)}
    if args.value is None:
        _err(f"config set {args.key} needs a VALUE")
        return EXIT_USAGE
    if args.key not in known:
        _err(f"unknown setting {args.key!r}; one of: {', '.join(known)}")
        return EXIT_USAGE
    current = getattr(settings, args.key)
    try:
        if isinstance(current, bool):
            if args.value.lower() not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError("expected true or false")
            value = args.value.lower() in ("true", "yes", "1")
        else:
            value = type(current)(args.value)
        if args.key == "endpoint_url" and value:
            value = check_url_to_save(value)
    except (ValueError, EndpointError) as exc:
        _err(f"{args.key}: {exc}")
        return EXIT_USAGE
    setattr(settings, args.key, value)
    settings.save()
    print(f"{args.key} = {shown(value) if args.key == 'endpoint_url' and value else value}")
    return 0


def cmd_lookup(args: argparse.Namespace) -> int:
    import json

    from fleet_desk.lookup import lookup_orders
    from fleet_desk.lookup.answer import as_json, as_text

    depot = _depot(args)
    rules = depot.rules
    hits, answers = lookup_orders(depot.engine, args.query, rules, cards=10 if args.format == "json" else 1)
    if args.format == "json":
        print(json.dumps([as_json(a) for a in answers], ensure_ascii=False, indent=2))
        return 0 if answers else EXIT_FAILED
    if not answers:
        _err(f"no order matches {args.query!r} (tracking number, order id, phone, e-mail, name or street)")
        return EXIT_FAILED
    print(as_text(answers[0], rules))
    if len(hits) > 1:
        print(f"\nOther matches ({len(hits) - 1}):")
        for hit in hits[1:]:
            print(f"  {hit.tracking_number}  {hit.customer_name}  {hit.phone}  {hit.address}  "
                  f"{hit.service_date}  {hit.status}")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    from fleet_desk.tracking.routes import StopNotFound, mark_stop

    try:
        depot = _depot(args)
        mark_stop(depot.engine, depot.tracker, depot.policy, args.order_id, args.outcome, args.reason)
    except StopNotFound as exc:
        _err(str(exc))
        return EXIT_FAILED
    print(f"order {args.order_id}: {args.outcome}")
    return 0


def cmd_ports(args: argparse.Namespace) -> int:
    from drivers.base import list_ports

    ports = list_ports()
    if not ports:
        print("no serial ports found")
    for p in ports:
        usb = f"USB {p.vid_pid}" if p.vid_pid else "no USB details"
        serial_no = f" serial {p.serial_number}" if p.serial_number else ""
        print(f"{p.device}\t{usb}{serial_no}\t{p.description}")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from fleet_desk.sim.vans import PtyUnit, SimulatedUnit, Trouble, run

    if args.logger:
        return _simulate_logger(args)
    trouble = Trouble(args.noise, args.dropouts, args.bad_checksums)
    units = [SimulatedUnit(i, args.seed, trouble=trouble) for i in range(args.vehicles)]
    if args.port:
        from drivers.base import open_port

        with open_port(args.port, args.baud or 4800) as ser:
            start = datetime.now(UTC)
            tick = 0
            try:
                while args.duration is None or tick < args.duration:
                    when = start + timedelta(seconds=tick)
                    for u in units:
                        ser.write(u.sentences(when, float(tick)))
                    tick += 1
                    time.sleep(1.0)
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
    from fleet_desk.sim.loggers import SimulatedMtkLogger, SimulatedNmeaLogger

    if not args.memory:
        _err("--logger needs --memory FILE (an MTK dump for mtk, an NMEA log for nmea)")
        return EXIT_FAILED
    try:
        memory = Path(args.memory).read_bytes()
    except OSError as exc:
        _err(f"{args.memory}: {exc.strerror}")
        return EXIT_FAILED
    if args.logger == "mtk":
        model = "M-241" if b"HOLUX" in memory[:0x10000] else "MTK-LOGGER"
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


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from fleet_desk.store.database import describe, resolve_url, upgrade_database

    url = resolve_url(args.db)
    before, after = upgrade_database(url)
    print(f"{describe(url)}: schema {before or 'empty'} -> {after}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Headless demo: simulated vans on pseudo-terminals, read live, fixes printed."""
    import tempfile

    from fleet_desk.depot import Depot
    from fleet_desk.ingest.live import LiveIngest
    from fleet_desk.settings import Settings
    from fleet_desk.sim.vans import PtyUnit, SimulatedUnit, run

    tmp = tempfile.TemporaryDirectory(prefix="fleet-desk-demo-")
    depot = Depot.open(f"sqlite:///{tmp.name}/demo.db", Settings.load())
    ptys = [PtyUnit(SimulatedUnit(i, seed=1)) for i in range(args.vehicles)]
    stop = threading.Event()
    feeder = threading.Thread(target=run, args=(ptys,), kwargs={"stop": stop}, daemon=True)
    feeder.start()

    def on_fixes(device, fixes) -> None:  # noqa: ANN001
        f = fixes[-1]
        speed = f"{f.speed_mps * 3.6:5.1f} km/h" if f.speed_mps is not None else "   ?"
        print(f"{f.time:%H:%M:%S}Z  {device.vehicle_name:<8} {f.lat:10.6f} {f.lon:10.6f}  {speed}  "
              f"sats {f.sats}", flush=True)

    live = LiveIngest(depot.engine, depot.tracker, on_fixes=on_fixes, on_error=_err)
    live.start()
    for i, p in enumerate(ptys):
        live.add_unit(p.path, f"unit-{i + 1:02d}", f"Van {i + 1}", baud=4800)
    print(f"demo: {len(ptys)} simulated vans on pseudo-terminals; Ctrl-C to stop", file=sys.stderr)
    try:
        time.sleep(args.duration if args.duration else 1e9)
    except KeyboardInterrupt:
        pass
    finally:
        live.stop()
        stop.set()
        feeder.join(2)
        for p in ptys:
            p.close()
        depot.close()
        tmp.cleanup()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fleet-desk", description="Fleet Desk: depot fleet operations")
    parser.add_argument("--version", action="version", version=f"fleet-desk {__version__}")
    parser.add_argument("--db", metavar="URL", help="database URL (default: $FLEET_DESK_DB or a per-user SQLite file)")
    parser.add_argument("--demo", action="store_true", help="open the app on the built-in demo fleet")
    parser.add_argument("--headless", action="store_true",
                        help="with --demo: no window, print live fixes on the terminal")
    parser.add_argument("--screenshot", metavar="FILE", type=Path,
                        help="save a PNG of the main window once vehicles are on the map, then exit")
    parser.add_argument("--after", metavar="SECONDS", type=float, default=30.0,
                        help="with --screenshot: wait at most this long for vehicles (default 30)")
    parser.add_argument("--vehicles", type=int, default=12, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=None, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("import-log", help="import NMEA logs (plain or .gz) or MTK logger dumps (--format mtk)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--device", required=True, metavar="NAME")
    p.add_argument("--vehicle", metavar="NAME")
    p.add_argument("--date", type=_parse_day, metavar="YYYY-MM-DD", help="date for epochs before the log gives one")
    p.add_argument("--format", choices=["nmea", "mtk"], default="nmea",
                   help="mtk: a MediaTek data logger's binary dump (i-Blue 747, Qstarz, Holux M-241, ...)")
    p.set_defaults(func=cmd_import_log)

    p = sub.add_parser("dock", help="download a docked unit's stored track, store it and fill in the stop visits")
    p.add_argument("port", metavar="PORT", help="device path or pyserial URL")
    p.add_argument("--device", metavar="NAME", help="the unit (default: recognised by its USB details or by asking "
                   "it; a new name registers it)")
    p.add_argument("--vehicle", metavar="NAME", help="the vehicle the unit is in (from now on)")
    p.add_argument("--family", choices=["mtk", "nmea"], help="mtk: MediaTek data logger (PMTK182 download); nmea: "
                   "plays its log back as NMEA (default: the unit's registered family, else asked)")
    p.add_argument("--baud", type=int, help="skip baud rate detection")
    p.add_argument("--erase", action="store_true", help="erase the unit's memory once everything is stored")
    p.set_defaults(func=cmd_dock)

    p = sub.add_parser("listen", help="ingest a live unit until Ctrl-C")
    p.add_argument("port", metavar="PORT", help="device path or pyserial URL (socket://host:port, rfc2217://...)")
    p.add_argument("--device", required=True, metavar="NAME")
    p.add_argument("--vehicle", metavar="NAME")
    p.add_argument("--baud", type=int, help="skip baud rate detection")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("export", help="export stored data")
    p.add_argument("what", choices=["positions", "stops", "eta-history", "events"])
    p.add_argument("--device", metavar="NAME", help="positions: one unit only")
    p.add_argument("--since", type=_parse_time, metavar="T", help="positions: from this time")
    p.add_argument("--until", type=_parse_time, metavar="T", help="positions: up to this time")
    p.add_argument("--format", choices=["csv", "gpx", "geojson", "jsonl"],
                   help="positions: csv, gpx or geojson; events: csv or jsonl; others: csv (the default)")
    p.add_argument("-o", "--output", metavar="FILE")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("manifest", help="a day's routes and stops")
    p.add_argument("action", choices=["import"])
    p.add_argument("file", metavar="FILE", help="CSV with a header row, or JSON with the same fields")
    p.add_argument("--date", type=_parse_day, metavar="YYYY-MM-DD", help="the day HH:MM times are on")
    p.add_argument("--skip-invalid", action="store_true", help="import the valid rows and list the others")
    p.set_defaults(func=cmd_manifest_import)

    p = sub.add_parser("replay", help="process logs as if live at their own time (arrivals, ETAs, events)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--device", required=True, metavar="NAME")
    p.add_argument("--vehicle", metavar="NAME")
    p.add_argument("--date", type=_parse_day, metavar="YYYY-MM-DD", help="date for epochs before the log gives one")
    p.add_argument("--enqueue", action="store_true",
                   help="queue the customer-facing events for the endpoint, as live would (for testing)")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("stop", help="a dispatcher's word on a stop")
    p.add_argument("order_id", metavar="ORDER_ID")
    p.add_argument("outcome", choices=["delivered", "failed"])
    p.add_argument("--reason", help="why it failed (required for failed)")
    p.set_defaults(func=cmd_stop)

    p = sub.add_parser("lookup", help="where is an order: by tracking number, order id, phone, e-mail, name or street")
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_lookup)

    p = sub.add_parser("outbox", help="customer notices waiting for, or sent to, the tracking endpoint")
    p.add_argument("action", choices=["status", "send", "retry-dead", "show", "ping"])
    p.add_argument("id", nargs="?", type=int, help="show: the event's id")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--until-empty", action="store_true", help="send: keep going until nothing is pending")
    p.add_argument("--timeout", type=float, metavar="S", help="send --until-empty: give up after S seconds")
    p.set_defaults(func=cmd_outbox)

    p = sub.add_parser("config", help="settings, and secrets kept in the OS keyring")
    p.add_argument("action", choices=["set", "set-secret"])
    p.add_argument("key", metavar="KEY")
    p.add_argument("value", nargs="?", metavar="VALUE")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("ports", help="list serial ports with USB details")
    p.set_defaults(func=cmd_ports)

    p = sub.add_parser("simulate", help="simulated GPS units on pseudo-terminals or a port")
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
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("db", help="database maintenance")
    p.add_argument("action", choices=["upgrade"])
    p.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.headless and not args.demo:
        parser.error("--headless goes with --demo")
    if not args.command and not args.headless:  # the desktop app: it reports its own errors
        from fleet_desk.ui.app import run_app

        return run_app(args.db, demo=args.demo, screenshot=args.screenshot, after=args.after,
                       vehicles=args.vehicles)
    try:
        if args.command:
            return args.func(args)
        return cmd_demo(args)
    except _storage_errors() as exc:  # disk full, read-only, damaged: one line naming the database, what to do
        _err(_storage_message(exc, args))
        return EXIT_FAILED
    except BrokenPipeError:  # `fleet-desk export ... | head`
        sys.stderr.close()
        return 0
    except ValueError as exc:
        _err(str(exc))
        return EXIT_USAGE

