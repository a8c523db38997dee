"""``outbox``: the customer notices waiting for, or sent to, the tracking endpoint."""

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
ATTENTION_FIELDS = ("id", "status", "order_id", "type", "attempts", "last_error")
ERROR_SHOWN = 100  # characters of an event's last error in the list (`outbox show` has it whole)


def add_outbox(commands: Commands) -> None:
    """The `outbox` command: customer notices waiting for, or sent to, the tracking endpoint."""
    p = commands.add("outbox", cmd_outbox, help="customer notices waiting for, or sent to, the tracking endpoint")
    p.add_argument("action", choices=["status", "send", "retry-dead", "show", "ping"])
    p.add_argument("id", nargs="?", type=event_key, metavar="ID",
                   help="show: the event's number (as status lists it) or its UUID (as the sender's messages say it)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--until-empty", action="store_true", help="send: keep going until nothing is pending")
    p.add_argument("--timeout", type=float, metavar="S", help="send --until-empty: give up after S seconds")


def event_key(text: str) -> int | str:
    """An event's row number, or its UUID (as stored: lower case), from what the user typed."""
    if text.isdigit():
        return int(text)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an event's number or UUID: {text!r}") from None


def cmd_outbox(args: argparse.Namespace) -> int:
    """Show, send, retry, inspect or test the outbox; returns the exit code."""
    import json

    from fleet_desk.push.outbox import needing_attention, outbox_status, retry_dead

    if args.action == "status":
        engine = open_engine(args)
        status = outbox_status(engine)
        attention = needing_attention(engine, ATTENTION_SHOWN)
        if args.format == "json":
            print(json.dumps({**{k: status[k] for k in ("pending", "sent", "dead", "superseded", "retrying",
                                                        "oldest_pending_age_s", "last_error", "desks")},
                              "attention": [{k: getattr(row, k) for k in ATTENTION_FIELDS} for row in attention]}))
        else:
            age = f", oldest waiting {status['oldest_pending_age_s']:.0f} s" if status["oldest_pending_age_s"] else ""
            print(f"pending {status['pending']}{age}; sent {status['sent']}; dead {status['dead']}; "
                  f"superseded {status['superseded']}")
            _print_desks(status["desks"])
            if status["last_error"]:
                print(f"last error: {status['last_error']}")
            _print_attention(attention, status["dead"] + status["retrying"])
        return 0
    if args.action == "retry-dead":
        print(f"{retry_dead(open_engine(args))} dead letter(s) back in the queue")
        return 0
    if args.action == "show":
        if args.id is None:
            err("outbox show needs the event's ID (see `fleet-desk outbox status`)")
            return EXIT_USAGE
        return _outbox_show(args)
    sender = open_depot(args).sender()
    if args.action == "ping":
        from fleet_desk.push.sender import check_connection

        worked, message = check_connection(sender.endpoint)
        if worked:
            print(message)
        else:
            err(message)
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


def _print_desks(desks: list[dict]) -> None:
    """Which desk sent what, one line each (only where a desk has sent, ended or holds something)."""
    if not desks:
        return
    print("by desk:")
    for d in desks:
        name = d["desk"] if d["desk"] is not None else "(not recorded)"
        parts = [f"sent {d['sent']}"] + [f"{k} {d[k]}" for k in ("dead", "sending") if d[k]]
        print(f"  {name}: {', '.join(parts)}")


def _print_attention(rows: list[OutboxRow], total: int) -> None:
    """The events someone should look at, one line each, with the number `outbox show` takes."""
    if not rows:
        return
    print("needing attention (fleet-desk outbox show ID for one in full):")
    for row in rows:
        error = row.last_error or ""
        error = error if len(error) <= ERROR_SHOWN else error[:ERROR_SHOWN - 3] + "..."
        print(f"  {row.id:>6}  {row.status:<8} {row.order_id:<14} {row.type:<20} "
              f"{row.attempts} attempt{'' if row.attempts == 1 else 's'}  {error}".rstrip())
    if total > len(rows):
        print(f"  and {total - len(rows)} more")


def _outbox_show(args: argparse.Namespace) -> int:
    import json

    from fleet_desk.push.outbox import outbox_event

    row = outbox_event(open_engine(args), args.id)
    if row is None:
        err(f"no outbox event {args.id}")
        return EXIT_FAILED
    for key in ("id", "event_id", "order_id", "sequence", "type", "status", "attempts", "last_error",
                "response_status", "response_body"):
        if row[key] is not None:
            print(f"{key:<16} {row[key]}")
    print(json.dumps(json.loads(row["body"]), indent=2, ensure_ascii=False))
    return 0
