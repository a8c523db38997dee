"""Which milestones customers are told about, and when: the rules, without the database.

Customer-facing: out_for_delivery once, eta_updated when the ETA moved far
enough from what the customer was last told (and not too often), one
delayed notice per delay episode, arriving_soon once, delivered or
delivery_exception once. None of them for a fix older than a few minutes:
a unit docked late fills in history but tells no customer old news.
"""

from __future__ import annotations

from fleet_desk.tracking.rules import TrackingRules

CUSTOMER_FACING = frozenset(
    {"out_for_delivery", "eta_updated", "delayed", "arriving_soon", "delivered", "delivery_exception"}
)
ONCE = frozenset({"out_for_delivery", "arriving_soon", "delivered", "delivery_exception"})


def is_news(fix_ms: int, now_ms: int, rules: TrackingRules) -> bool:
    """A fix recent enough that what it shows may be told to customers."""
    return now_ms - fix_ms <= rules.news_max_age_s * 1000


def eta_notice_due(told_eta_ms: int | None, told_at_ms: int | None, eta_ms: int, now_ms: int,
                   rules: TrackingRules) -> bool:
    """Tell the customer the new ETA: the first one, or one that moved enough, not too soon after the last."""
    if told_eta_ms is None or told_at_ms is None:
        return True
    moved = abs(eta_ms - told_eta_ms) >= rules.eta_notice_s * 1000
    return moved and now_ms - told_at_ms >= rules.eta_notice_interval_s * 1000


def arriving_soon_due(stops_before: int, eta_ms: int, now_ms: int, rules: TrackingRules) -> bool:
    """Within the next N stops, or M minutes away."""
    return stops_before < rules.arriving_soon_stops or eta_ms - now_ms <= rules.arriving_soon_s * 1000
