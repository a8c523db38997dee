"""``lookup`` and ``stop``: an agent's question about an order, and a dispatcher's word on a stop."""

from __future__ import annotations

import argparse

from fleet_desk.cli.opening import open_depot
from fleet_desk.cli.options import Commands
from fleet_desk.cli.terminal import EXIT_FAILED, err
from fleet_desk.clock import now_ms


def add_stop(commands: Commands) -> None:
    """The `stop` command: a dispatcher marks a stop delivered or failed."""
    p = commands.add("stop", cmd_stop, help="a dispatcher's word on a stop")
    p.add_argument("order_id", metavar="ORDER_ID")
    p.add_argument("outcome", choices=["delivered", "failed"])
    p.add_argument("--reason", help="why it failed (required for failed)")


def add_lookup(commands: Commands) -> None:
    """The `lookup` command: where an order is, found by anything the caller gives."""
    p = commands.add("lookup", cmd_lookup,
                     help="where is an order: by tracking number, order id, phone, e-mail, name or street")
    p.add_argument("query", metavar="QUERY")
    p.add_argument("--format", choices=["text", "json"], default="text")


def cmd_lookup(args: argparse.Namespace) -> int:
    """Print the agent's answer for the best match (and the other matches), as text or JSON; the exit code."""
    import json

    from fleet_desk.lookup import lookup_orders
    from fleet_desk.lookup.answer import as_json, as_text

    depot = open_depot(args, predicts=False)  # the card reads the ETAs stored
    rules = depot.rules
    hits, answers = lookup_orders(depot.engine, args.query, rules, cards=10 if args.format == "json" else 1)
    if args.format == "json":
        print(json.dumps([as_json(a) for a in answers], ensure_ascii=False, indent=2))
        return 0 if answers else EXIT_FAILED
    if not answers:
        err(f"no order matches {args.query!r} (tracking number, order id, phone, e-mail, name or street)")
        return EXIT_FAILED
    print(as_text(answers[0], rules))
    if not depot.settings.depot_timezone:  # the agent must know whose clock the times are on
        from fleet_desk import times

        zone = times.zone_name(rules.timezone, now_ms())
        err(f"note: times are this computer's ({zone}); the depot's time zone is not set: "
            "`fleet-desk config set depot_timezone Europe/Paris` (for example)")
    if len(hits) > 1:
        print(f"\nOther matches ({len(hits) - 1}):")
        for hit in hits[1:]:
            print(f"  {hit.tracking_number}  {hit.customer_name}  {hit.phone}  {hit.address}  "
                  f"{hit.service_date}  {hit.status}")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    """Record the dispatcher's mark on the stop (and the customer notice it queues); returns the exit code."""
    from fleet_desk.tracking.routes import ChangedElsewhereError, StopNotFoundError, mark_stop

    try:
        depot = open_depot(args)
        mark_stop(depot.engine, depot.tracker, depot.policy, args.order_id, args.outcome, args.reason)
    except (StopNotFoundError, ChangedElsewhereError) as exc:  # the second: other desks kept changing it
        err(str(exc))
        return EXIT_FAILED
    print(f"order {args.order_id}: {args.outcome}")
    return 0
