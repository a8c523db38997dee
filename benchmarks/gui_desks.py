"""Three desks on one PostgreSQL, each with its own live units at 1 Hz, each desk's map showing every van.

Issue 17's scale goal: three desks with 200 live units each at 1 Hz into one PostgreSQL, each desk's app
live (event-loop lateness p99 < 50 ms) and every desk's map showing all 600 vans.

This process sets the depot up and reports: a schema of its own on the server (dropped at the end), one
simulator process per desk (`fleet-desk simulate`, its units on pseudo-terminals, a seed of its own so the
desks' vans drive different rounds), each unit assigned as live (``desk2-unit-007`` on its pseudo-terminal,
vehicle "Desk 2 van 7") and claimed in advance for the desk whose simulator feeds it, so each desk opens its
own units and waits on the others' (as a depot's desks do once running). Then three app processes (this
script with ``--desk N``): offscreen, each with its own config, log, cache and data folders and desk_name
desk-N, main window, fleet board, map page in QtWebEngine, live ingestion. A desk's own vans reach its map
from its units; the other desks' vans through the change feed (LISTEN/NOTIFY), which the window wakes on.

Measured inside each app, as benchmarks/gui_fleet.py does for one:
- event-loop responsiveness: a 20 ms timer's lateness (goal: p99 under 50 ms);
- the map: markers on the page (goal: all the desks' vans), and how old the oldest marker's fix is when
  sampled every 2 s;
- CPU of the app process, and of its QtWebEngine helper processes, in shares of one core.

Run: python benchmarks/gui_desks.py [--desks 3] [--units 200] [--apps N] [--pin] [--seconds 40] [--warmup 30]
     [--pg URL] [--no-message-bar] [--logs DIR]

Three desks are three workstations; on one machine of 2 cores, three apps and everything they read share two
cores. ``--apps 1`` runs only desk 1's app; the other desks read their units headless (the same live
ingestion, `fleet_desk.ingest.live.LiveIngest` with the Depot's tracker, without the window), so desk 1 sees
what a workstation sees: its own 200 units, and 400 more written by other processes. ``--pin`` puts the
apps (and their QtWebEngine processes) on CPU 0 and the simulators and headless desks on CPU 1, as if the
other desks were other machines (PostgreSQL is left to the scheduler).

Each desk's message bar gets one warning per unit another desk reads ("read by desk-2 since 07:02; not
opened here") at start-up: 400 at full size. On 2026-12-02 that crashed every desk in QWidget deletion
(Shiboken releaseWrapper, from a deferred delete on the GUI thread) within 30 s; ``--no-message-bar`` detaches
the bars (messages still logged) so the rest can be measured. ``--logs DIR`` keeps each desk's stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app_probe import AppProbe, cpu  # noqa: E402 - benchmarks/ beside this script

PG_URL = os.environ.get("FLEET_DESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RESULT = "RESULT "
PRECLAIM_MS = 15 * 60_000  # a claim made in advance stays the desk's this long unless the desk renews it
TICKS = os.sysconf("SC_CLK_TCK")


def helpers_cpu(parent: int) -> float:
    """CPU seconds of ``parent``'s descendants still running (QtWebEngine's processes), from /proc."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rindex(")") + 2:].split()
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    family, total, grew = {parent}, 0.0, True
    while grew:
        grew = False
        for pid, (ppid, _seconds) in stats.items():
            if ppid in family and pid not in family:
                family.add(pid)
                grew = True
    for pid in family - {parent}:
        total += stats[pid][1]
    return total


def own_cpu(pid: int) -> float:
    """CPU seconds of process ``pid`` (0 when it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    values = [int(v) / TICKS for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


# --- one desk (a child process) --------------------------------------------------------------------------


def run_desk(args: argparse.Namespace) -> None:
    """One desk's app on ``args.url``, measured for ``args.seconds`` after ``args.warmup``; one RESULT line."""
    import faulthandler

    faulthandler.enable()  # a crash leaves its stack on stderr, which the report shows
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
    from PySide6.QtWebEngineWidgets import QWebEngineView  # noqa: F401 - before the QApplication
    from PySide6.QtWidgets import QApplication

    from fleet_desk.depot import Depot
    from fleet_desk.settings import Settings
    from fleet_desk.store import open_database
    from fleet_desk.ui.app import tune_interpreter
    from fleet_desk.ui.main_window import MainWindow
    from fleet_desk.ui.tasks import wait_for_background

    desk = f"desk-{args.desk}"
    engine = open_database(args.url)
    tune_interpreter()  # as fleet-desk does at start-up
    app = QApplication(sys.argv[:1])
    window = MainWindow(args.url, Settings(tile_url="", desk_name=desk), desk, remember_layout=False)
    if args.no_message_bar:
        window.message_bar.detach()  # messages are logged only (see --no-message-bar)
    window.show()
    window.start(Depot(engine, window.settings))

    marks: dict[str, float] = {}

    def begin() -> None:
        marks["web"] = helpers_cpu(os.getpid())

    def end() -> None:
        marks["web_share"] = (helpers_cpu(os.getpid()) - marks["web"]) / probe.wall_s
        if window.feed:
            marks["own"], marks["fps"] = len(window.feed.running_units()), window.feed.fixes_per_second()

    probe = AppProbe(app, window, args.warmup, args.seconds, on_begin=begin, on_end=end)
    app.exec()

    own, fps = int(marks.get("own", 0)), marks.get("fps", 0.0)
    rows = window.board_model.rowCount()
    window.close()
    wait_for_background()
    engine.dispose()
    print(RESULT + json.dumps({
        "desk": desk, **probe.summary(), "own_units": own, "fixes_per_s": fps, "board_rows": rows,
        "web_cpu": marks.get("web_share")}), flush=True)


def run_headless_desk(args: argparse.Namespace) -> None:
    """Desk N without its window: its units read live into the store, as its app would, for the same time."""
    from fleet_desk.depot import Depot
    from fleet_desk.ingest.live import LiveIngest
    from fleet_desk.settings import Settings
    from fleet_desk.store import open_database
    from fleet_desk.store.units import live_units

    desk = f"desk-{args.desk}"
    depot = Depot(open_database(args.url), Settings(tile_url="", desk_name=desk))
    live = LiveIngest(depot.engine, depot.tracker, desk=desk)
    live.start()
    for unit in live_units(depot.engine):
        if unit.device.startswith(f"desk{args.desk}-") and unit.port:
            live.add_unit(unit.port, unit.device, unit.vehicle, unit.baud)
    time.sleep(args.warmup)
    before, wall = cpu(), time.monotonic()
    time.sleep(args.seconds)
    share = (cpu() - before) / (time.monotonic() - wall)
    rates = [rate for _ref, _unit, rate in live.units()]
    live.stop()
    depot.close()
    print(RESULT + json.dumps({"desk": desk, "headless": True, "own_units": len(rates),
                               "fixes_per_s": sum(rates), "cpu": share}), flush=True)


# --- the depot: database, simulators, desks ----------------------------------------------------------------


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--desks", type=int, default=3)
    parser.add_argument("--units", type=int, default=200, help="live units per desk")
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--warmup", type=float, default=30)
    parser.add_argument("--pg", default=PG_URL, help="a PostgreSQL server's database URL (a schema is made there)")
    parser.add_argument("--logs", metavar="DIR", help="keep each desk's stderr there (desk-N.err)")
    parser.add_argument("--no-message-bar", action="store_true",
                        help="the desks' message bars shown nothing (messages logged only): a desk's bar getting "
                             "a warning for each unit another desk reads crashed the app in QWidget deletion")
    parser.add_argument("--apps", type=int, help="desks that run the app (default: every desk); the others read "
                                                 "their units headless, as other workstations would")
    parser.add_argument("--pin", action="store_true",
                        help="the apps on CPU 0; simulators and headless desks on CPU 1 (other machines' work)")
    parser.add_argument("--desk", type=int, help=argparse.SUPPRESS)  # this process is desk N
    parser.add_argument("--headless", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.desk:
        (run_headless_desk if args.headless else run_desk)(args)
        return
    apps = args.desks if args.apps is None else max(1, min(args.apps, args.desks))
    cores = sorted(os.sched_getaffinity(0))
    pin = args.pin and len(cores) >= 2
    app_cpus, other_cpus = ({cores[0]}, set(cores[1:])) if pin else (set(cores), set(cores))

    from sqlalchemy import create_engine, text

    from fleet_desk.clock import now_ms
    from fleet_desk.store import open_database
    from fleet_desk.store.units import assign_unit, claim_unit, keep_claims

    schema = f"bench_desks_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{args.pg}?options=-csearch_path%3D{schema}"
    sims: list[subprocess.Popen] = []
    desks: list[subprocess.Popen] = []
    tmp = tempfile.TemporaryDirectory()
    load_before = os.getloadavg()
    try:
        engine = open_database(url)
        for d in range(1, args.desks + 1):
            sim = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "simulate", "--vehicles", str(args.units),
                                    "--seed", str(d)], stdout=subprocess.PIPE, text=True,
                                   preexec_fn=lambda: os.sched_setaffinity(0, other_cpus))
            sims.append(sim)
            paths = [sim.stdout.readline().split("\t")[1].strip() for _ in range(args.units)]
            names = [f"desk{d}-unit-{i + 1:03d}" for i in range(args.units)]
            for i, (name, path) in enumerate(zip(names, paths, strict=True)):
                assign_unit(engine, name, path, f"Desk {d} van {i + 1}", baud=4800, live=True)
                claim_unit(engine, name, f"desk-{d}", now_ms())
            keep_claims(engine, f"desk-{d}", names, now_ms() + PRECLAIM_MS)  # fresh until that desk renews them
        engine.dispose()
        for d in range(1, args.desks + 1):
            home = Path(tmp.name) / f"desk-{d}"
            env = dict(os.environ, QT_QPA_PLATFORM="offscreen", QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox")
            for var, sub in (("CONFIG", "config"), ("LOG", "logs"), ("CACHE", "cache"), ("DATA", "data")):
                (home / sub).mkdir(parents=True)
                env[f"FLEET_DESK_{var}_DIR"] = str(home / sub)
            headless = d > apps
            desks.append(subprocess.Popen(
                [sys.executable, __file__, "--desk", str(d), "--url", url, "--seconds", str(args.seconds),
                 "--warmup", str(args.warmup), *(["--no-message-bar"] if args.no_message_bar else []),
                 *(["--headless"] if headless else [])],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env=env, preexec_fn=lambda cpus=other_cpus if headless else app_cpus: os.sched_setaffinity(0, cpus)))
        # the desks measure from warmup to warmup + seconds after they start; so does this, a little inside it
        time.sleep(args.warmup + 2)
        sims_before, busy_before, wall_before = sum(own_cpu(p.pid) for p in sims), machine_busy(), time.monotonic()
        time.sleep(max(1.0, args.seconds - 4))
        wall = time.monotonic() - wall_before
        sims_share = (sum(own_cpu(p.pid) for p in sims) - sims_before) / wall
        busy_after = machine_busy()
        machine_share = (busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1])
        results = []
        for p in desks:
            out, errors = p.communicate(timeout=args.warmup + args.seconds + 180)
            if args.logs:
                Path(args.logs).mkdir(parents=True, exist_ok=True)
                Path(args.logs, f"desk-{len(results) + 1}.err").write_text(errors)
            line = next((ln for ln in out.splitlines() if ln.startswith(RESULT)), None)
            if line is None:
                lines = [ln for ln in errors.splitlines() if "not opened here" not in ln
                         and "propagateSizeHints" not in ln]
                crash = next((i for i, ln in enumerate(lines) if ln.startswith("Fatal Python error")), None)
                shown = lines[crash:crash + 25] if crash is not None else lines[-12:]
                print(f"desk-{len(results) + 1} exited {p.returncode}:", *shown, sep="\n  ")
            results.append(json.loads(line[len(RESULT):]) if line else None)
        load = os.getloadavg()
    finally:
        for p in desks + sims:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
        tmp.cleanup()

    total = args.desks * args.units
    print(f"{args.desks} desks x {args.units} live units at 1 Hz into one PostgreSQL ({args.pg.split('@')[-1]}), "
          f"{args.seconds:.0f} s measured after {args.warmup:.0f} s warm-up, {os.cpu_count()} cores, "
          f"load average {load_before[0]:.1f} before, {load[0]:.1f} at the end")
    print(f"apps: {apps} of {args.desks} desks (the others headless)"
          + (f"; apps pinned to CPU {sorted(app_cpus)}, simulators and headless desks to CPU {sorted(other_cpus)}"
             if pin else ""))
    print(f"while measuring: the whole machine {machine_share:.0%} busy ({os.cpu_count()} cores), the "
          f"{args.desks} simulators {sims_share:.2f} of one core together")
    print("goal: event-loop lateness p99 < 50 ms on every desk, every desk's map showing all "
          f"{total} vans")
    print(f"{'desk':8} {'units read':>10} {'fixes/s':>8} {'late p50':>9} {'late p99':>9} {'late max':>9} "
          f"{'markers (of ' + str(total) + ')':>20} {'oldest fix':>14} {'app CPU':>8} {'web CPU':>8}")
    for d, r in enumerate(results, 1):
        if r is None:
            print(f"desk-{d:<3} gave no result (the app failed to start or did not finish)")
            continue
        if r.get("headless"):
            print(f"{r['desk']:8} {r['own_units']:>10} {r['fixes_per_s']:>8.0f} {'(headless: no window)':>52} "
                  f"{fmt(r['cpu'], '.2f'):>8}")
            continue
        markers = f"{r['markers_min']}..{r['markers_max']}"
        oldest = f"{fmt(r['oldest_median_s'])} / {fmt(r['oldest_worst_s'])} s"
        print(f"{r['desk']:8} {r['own_units']:>10} {r['fixes_per_s']:>8.0f} {fmt(r['p50']):>6} ms "
              f"{fmt(r['p99']):>6} ms "
              f"{fmt(r['max']):>6} ms {markers:>20} {oldest:>14} {fmt(r['cpu'], '.2f'):>8} "
              f"{fmt(r['web_cpu'], '.2f'):>8}")
    print("late: a 20 ms timer's lateness; markers: min..max over samples every 2 s; oldest fix: age of the "
          "oldest marker's fix when sampled, median / worst; CPU in shares of one core (web: QtWebEngine's "
          "processes)")


if __name__ == "__main__":
    main()
