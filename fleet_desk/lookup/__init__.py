"""Customer service lookup: find an order from whatever the caller gives, and say where it is in plain words.

Plain Python, no Qt: the CLI (`fleet-desk lookup`), the app's Customer lookup dock
and the benchmark call the same functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleet_desk.clock import now_ms

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from fleet_desk.lookup.answer import OrderAnswer
    from fleet_desk.lookup.search import Hit
    from fleet_desk.tracking.rules import TrackingRules


def lookup_orders(engine: Engine, query: str, rules: TrackingRules, cards: int = 1, limit: int = 20,
                  now: int | None = None) -> tuple[list[Hit], list[OrderAnswer]]:
    """The orders ``query`` may mean, best first, and the answer cards of the first ``cards`` of them.

    The one function the UI, the CLI and the benchmark call."""
    from fleet_desk.lookup.answer import answer_for
    from fleet_desk.lookup.search import find_orders

    now = now if now is not None else now_ms()
    hits = find_orders(engine, query, rules.phone_region, limit)
    answers = [a for a in (answer_for(engine, h.stop_id, rules, now) for h in hits[:cards]) if a is not None]
    return hits, answers
