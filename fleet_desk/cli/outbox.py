"""``outbox``: the customer notices waiting for, or sent to, the tracking endpoint.

Events are said in the app's words: an event the endpoint refused for good is ``refused`` (stored as ``dead``),
in the text and in the JSON keys.
"""

from __future__ import annotations

import argparse
import time
import uuid
from typing import TYPE_CHECKING

from fleet_desk.cli.opening import open_depot, open_engine
from fleet_desk.cli.options import Commands
from fleet_desk.cli.terminal import EXIT_FAILED, EXIT_USAGE, err

if TYPE_CHECKING:
    from fleet_desk.push.outbox import OutboxRow

ATTENTION_SHOWN = 20  # events listed by `outbox status`; the rest are counted
ERROR_SHOWN = 100  # characters of an event's last error in a list (`outbox show` has it whole)
LIST_SHOWN = 50  # events `outbox list` prints unless --limit says otherwise
ACTIONS = ("status", "list", "send", "retry-refused", "show", "ping")
OLD_NAMES = {"retry-dead": "retry-refused"}  # still taken (docs and scripts name it)
#: The counts of `outbox status`, by the name the user reads (the store's "dead" is "refused").
COUNTS = {"pending": "pending", "sent": "sent", "refused": "dead", "superseded": "superseded",
          "retrying": "retrying"}


def add_outbox(commands: Commands) -> None:
    """The `outbox` command: customer notices waiting for, or sent to, the tracking endpoint."""
    from fleet_desk.push.listing import STATES

    p = commands.add("outbox", cmd_outbox, help="customer notices waiting for, or sent to, the tracking endpoint",
                     description="status: counts, by desk, and the events needing attention; list: the events, "
                                 "newest first; send: send what is due now; retry-refused: the events the endpoint "
                                 "refused back in the queue (once the cause is fixed); show ID: one event in full; "
                                 "ping: send a signed test event to the endpoint")
    p.add_argument("action", choices=ACTIONS, type=lambda text: OLD_NAMES.get(text, text))
    p.add_argument("id", nargs="?", type=event_key, metavar="ID",
                   help="show: the event's number (as list and status print it) or its UUID (as the sender's "
                        "messages say it)")
    p.add_argument("--format", choices=["text", "json"], default="text", help="status, list: text or JSON")
    p.add_argument("--status", choices=STATES, dest="state",
                   help="list: only the events in this state (pending: all waiting to go, retrying: those tried "
                        "already, refused: refused for good by the endpoint)")
    p.add_argument("--limit", type=positive, default=LIST_SHOWN, metavar="N",
                   help=f"list: the newest N events (default {LIST_SHOWN})")
    p.add_argument("--until-empty", action="store_true", help="send: keep going until nothing is pending")
    p.add_argument("--timeout", type=float, metavar="S", help="send --until-empty: give up after S seconds")


def positive(text: str) -> int:
    """A count the user typed: a whole number above 0, or a usage error naming it."""
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"not a whole number above 0: {text!r}")
    return int(text)


def event_key(text: str) -> int | str:
    """An event's row number, or its UUID (as stored: lower case), from what the user typed."""
    if text.isdigit():
        return int(text)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an event's number or UUID: {text!r}") from None


def cmd_outbox(args: argparse.Namespace) -> int:
    """Show, list, send, retry, inspect or test the outbox; returns the exit code."""
    from fleet_desk.push.outbox import outbox_status, retry_dead

    if args.action == "status":
        return _outbox_status(args)
    if args.action == "list":
        return _outbox_list(args)
    if args.action == "retry-refused":
        print(f"{retry_dead(open_engine(args))} refused event(s) back in the queue")
        return 0
    if args.action == "show":
        if args.id is None:
            err("outbox show needs the event's ID: its number as `fleet-desk outbox list` prints it, or its UUID")
            return EXIT_USAGE
        return _outbox_show(args)
    if args.action == "ping":
        return _outbox_ping()
    sender = open_depot(args, predicts=False).sender()
    deadline = time.monotonic() + args.timeout if args.timeout else None
    totals = {"sent": 0, "retrying": 0, "dead": 0, "superseded": 0}  # SendRound's fields
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
    print(f"sent {totals['sent']}, superseded {totals['superseded']}, refused {totals['dead']}, "
          f"pending {status['pending']}" + (f"; last error: {last_error}" if last_error else ""))
    return 0


def _outbox_status(args: argparse.Namespace) -> int:
    import json

    from fleet_desk.push.listing import state_word
    from fleet_desk.push.outbox import needing_attention, outbox_status

    engine = open_engine(args)
    status = outbox_status(engine)
    attention = needing_attention(engine, ATTENTION_SHOWN)
    desks = [{"desk": d["desk"], "sent": d["sent"], "refused": d["dead"], "sending": d["sending"]}
             for d in status["desks"]]
    if args.format == "json":
        print(json.dumps({**{word: status[key] for word, key in COUNTS.items()},
                          **{k: status[k] for k in ("oldest_pending_age_s", "last_error")}, "desks": desks,
                          "attention": [{"id": row.id, "status": state_word(row.status, row.attempts),
                                         "order_id": row.order_id, "type": row.type, "attempts": row.attempts,
                                         "last_error": row.last_error} for row in attention]}))
        return 0
    age = f", oldest waiting {status['oldest_pending_age_s']:.0f} s" if status["oldest_pending_age_s"] else ""
    print(f"pending {status['pending']}{age}; sent {status['sent']}; refused {status['dead']}; "
          f"superseded {status['superseded']}")
    _print_desks(desks)
    if status["last_error"]:
        print(f"last error: {status['last_error']}")
    if status["pending"] and not _endpoint_set():
        print("nothing is sent while no endpoint URL is set: `fleet-desk config set endpoint_url https://...` "
              "(or FLEET_DESK_ENDPOINT_URL); `fleet-desk outbox list` lists what waits")
    _print_attention(attention, status["dead"] + status["retrying"])
    return 0


def _endpoint_set() -> bool:
    """Whether this desk has an endpoint to send to (the setting or its environment variable)."""
    import os

    from fleet_desk.push.endpoint import ENV
    from fleet_desk.settings import Settings

    return bool(os.environ.get(ENV["endpoint_url"]) or Settings.load().endpoint_url)


def _print_desks(desks: list[dict]) -> None:
    """Which desk sent what, one line each (only where a desk has sent, ended or holds something)."""
    if not desks:
        return
    print("by desk:")
    for d in desks:
        name = d["desk"] if d["desk"] is not None else "(not recorded)"
        parts = [f"sent {d['sent']}"] + [f"{k} {d[k]}" for k in ("refused", "sending") if d[k]]
        print(f"  {name}: {', '.join(parts)}")


def _print_attention(rows: list[OutboxRow], total: int) -> None:
    """The events someone should look at, one line each, with the number `outbox show` takes."""
    from fleet_desk.push.listing import state_word

    if not rows:
        return
    print("needing attention (fleet-desk outbox show ID for one in full; fleet-desk outbox list for every event):")
    for row in rows:
        print(f"  {row.id:>6}  {state_word(row.status, row.attempts):<9} {row.order_id:<14} {row.type:<20} "
              f"{row.attempts} attempt{'' if row.attempts == 1 else 's'}  {_cut(row.last_error)}".rstrip())
    if total > len(rows):
        print(f"  and {total - len(rows)} more (fleet-desk outbox list --status refused, or --status retrying)")


def _outbox_list(args: argparse.Namespace) -> int:
    """Every event, or those in one state, newest first, one line each, with the number `outbox show` takes."""
    import json

    from fleet_desk.push.listing import listed

    events, total = listed(open_engine(args), args.state, args.limit)
    if args.format == "json":
        print(json.dumps({"total": total, "events": [
            {"id": e.id, "order_id": e.order_id, "type": e.type, "status": e.state, "attempts": e.attempts,
             "desk": e.desk, "last_error": e.last_error} for e in events]}))
        return 0
    what = f"{args.state} " if args.state else ""
    if not events:
        print(f"no {what}outbox events")
        return 0
    print(f"{'ID':>6}  {'ORDER':<14} {'TYPE':<20} {'STATUS':<10} {'TRIES':>5}  {'DESK':<16} LAST ERROR")
    for e in events:
        print(f"{e.id:>6}  {e.order_id:<14} {e.type:<20} {e.state:<10} {e.attempts:>5}  {e.desk or '-':<16} "
              f"{_cut(e.last_error)}".rstrip())
    if total > len(events):
        print(f"(the newest {len(events)} of {total} {what}events; --limit N for more)")
    return 0


def _cut(error: str | None) -> str:
    """An event's last error within a list's line (`outbox show` has it whole)."""
    error = error or ""
    return error if len(error) <= ERROR_SHOWN else error[:ERROR_SHOWN - 3] + "..."


def _outbox_ping() -> int:
    """A signed test event to the endpoint the settings name: whether it answered and how; a missing signing
    secret is said after the answer (the test event then goes unsigned), and the command fails."""
    from fleet_desk.push.endpoint import SET_SECRET, endpoint
    from fleet_desk.push.sender import check_connection
    from fleet_desk.settings import Settings

    target = endpoint(Settings.load(), unsigned=True)
    if target is None:
        err("no endpoint URL is set: `fleet-desk config set endpoint_url https://...` (or FLEET_DESK_ENDPOINT_URL)")
        return EXIT_USAGE
    worked, message = check_connection(target)
    if worked:
        print(message)
    else:
        err(message)
    if not target.secret:
        err("note: no signing secret is set, so the test event went unsigned, and no customer notice is sent "
            f"until one is: {SET_SECRET}")
        return EXIT_FAILED
    return 0 if worked else EXIT_FAILED


def _outbox_show(args: argparse.Namespace) -> int:
    import json

    from fleet_desk.push.listing import state_word
    from fleet_desk.push.outbox import outbox_event

    row = outbox_event(open_engine(args), args.id)
    if row is None:
        err(f"no outbox event {args.id} (fleet-desk outbox list prints their numbers)")
        return EXIT_FAILED
    row = {**row, "status": state_word(row["status"], row["attempts"])}
    for key in ("id", "event_id", "order_id", "sequence", "type", "status", "attempts", "last_error",
                "response_status", "response_body"):
        if row[key] is not None:
            print(f"{key:<16} {row[key]}")
    print(json.dumps(json.loads(row["body"]), indent=2, ensure_ascii=False))
    return 0
