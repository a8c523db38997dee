"""``watch``: every change on the database as it happens, whoever wrote it, one line each, until Ctrl-C."""

from __future__ import annotations

import argparse
import json
import queue
import sys
from typing import TYPE_CHECKING

from fleet_desk.cli.opening import open_engine
from fleet_desk.cli.options import Commands
from fleet_desk.cli.terminal import err

if TYPE_CHECKING:
    from fleet_desk.store.changes import ChangeRow


def add_watch(commands: Commands) -> None:
    """The `watch` command: the depot's changes (positions, stops, routes, outbox events, units) as they
    happen."""
    p = commands.add("watch", cmd_watch, help="print each change on the database as it happens, until Ctrl-C")
    p.add_argument("--format", choices=("text", "jsonl"), default="text",
                   help="text for a terminal, jsonl (one JSON object a line) for a program (default text)")
    p.add_argument("--duration", type=float, help=argparse.SUPPRESS)  # tests and benchmarks: stop after this long


def cmd_watch(args: argparse.Namespace) -> int:
    """Print each change as it lands; Ctrl-C (or the reader of a pipe going away) ends it. Returns 0."""
    import time

    from fleet_desk.fleet.changes import as_text, describe
    from fleet_desk.store.changes import ChangeListener

    engine = open_engine(args)
    batches: queue.Queue[list[ChangeRow]] = queue.Queue()
    listener = ChangeListener(engine, on_error=err)
    listener.subscribe(batches.put)
    listener.start()
    listener.wait_listening()
    print(f"watching changes from change {listener.last_id}; Ctrl-C to stop", file=sys.stderr, flush=True)
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while deadline is None or time.monotonic() < deadline:
            try:
                rows = batches.get(timeout=0.2)
            except queue.Empty:
                continue
            while True:  # what else came meanwhile: one read for all of it
                try:
                    rows += batches.get_nowait()
                except queue.Empty:
                    break
            with engine.connect() as conn:
                lines = describe(conn, rows)
            for line in lines:
                print(json.dumps(line, ensure_ascii=False) if args.format == "jsonl" else as_text(line))
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
    return 0
