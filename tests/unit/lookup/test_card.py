"""The answer card on the demo's day: the timeline in time order, why a customer was told nothing, a delay that
agrees with the headline, and a van at the depot said in words."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from fleet_desk.clock import now_ms
from fleet_desk.depot import Depot
from fleet_desk.lookup import lookup_orders
from fleet_desk.lookup.answer import as_text
from fleet_desk.settings import Settings
from fleet_desk.sim.demo import DemoFleet
from fleet_desk.store.models import Route, Stop


@pytest.fixture(scope="module")
def demo_depot():
    """The demo's first four vans (Van 3 leaves the depot 40 minutes late) prepared as the app prepares them."""
    fleet = DemoFleet(4, roads=False)
    depot = Depot.open(fleet.url, Settings(), road_map=None)
    try:
        fleet.prepare(depot)
        yield depot
    finally:
        depot.close()
        fleet.stop()


def _card(depot: Depot, tracking_number: str):
    hits, answers = lookup_orders(depot.engine, tracking_number, depot.rules, now=now_ms())
    assert hits and answers and answers[0].tracking_number == tracking_number
    return answers[0]


def _stops(depot: Depot, **where: str) -> list[str]:
    with depot.engine.connect() as conn:
        query = select(Stop.tracking_number).join(Route).order_by(Route.route_key, Stop.sequence)
        for column, value in where.items():
            query = query.where(getattr(Route if column == "route_key" else Stop, column) == value)
        return list(conn.scalars(query))


def test_the_timeline_is_in_time_order_with_the_order_confirmed_first(demo_depot):
    for tracking_number in _stops(demo_depot, status="delivered")[:6]:
        card = _card(demo_depot, tracking_number)
        times = [t.time_ms for t in card.timeline]
        assert times == sorted(times)
        assert card.timeline[0].type == "confirmed" and card.timeline[-1].type == "delivered"


def test_a_delivered_order_says_why_the_customer_was_told_nothing(demo_depot):
    delivered = _stops(demo_depot, status="delivered")
    assert delivered
    for tracking_number in delivered:
        card = _card(demo_depot, tracking_number)
        text = as_text(card, demo_depot.rules)
        assert "nothing yet" not in text
        told = text.split("Told the customer:")[1]
        if card.notices:
            assert card.notices[-1].said in told
        else:
            assert "read from Van" in told and "GPS log after the fact" in told, told


def test_a_van_still_at_the_depot_is_at_the_depot_and_its_delay_agrees_with_the_headline(demo_depot):
    late = [_card(demo_depot, t) for t in _stops(demo_depot, route_key="R03")]
    assert all(card.vehicle is not None and card.vehicle.near == "at the depot" for card in late)
    assert "Last position at the depot" in as_text(late[0], demo_depot.rules)
    delayed = [card for card in late if card.delay is not None]
    assert delayed, "Van 3 left 40 minutes late: some of its stops run late"
    for card in delayed:
        minutes = card.delay[0]
        assert f"Running about {minutes} min late" in card.words
        flagged = [t for t in card.timeline if t.type == "delayed"][-1]
        said = [int(m) for m in re.findall(r"about (\d+) min", flagged.detail)]
        assert said[-1] == minutes, flagged.detail  # the timeline's last word on it is the headline's


def test_a_van_near_the_depot_set_in_the_settings_is_at_the_depot(demo_depot):
    from dataclasses import replace

    from fleet_desk.sim.vans import DEPOT

    tracking_number = _stops(demo_depot, route_key="R03")[0]
    rules = replace(demo_depot.rules, depot=DEPOT)
    hits, answers = lookup_orders(demo_depot.engine, tracking_number, rules, now=now_ms())
    assert answers[0].vehicle.near == "at the depot"
    far = replace(demo_depot.rules, depot=(DEPOT[0] + 0.05, DEPOT[1]))  # 5.5 km away: not where the van is
    hits, answers = lookup_orders(demo_depot.engine, tracking_number, far, now=now_ms())
    assert answers[0].vehicle.near != "at the depot"


def test_a_dispatchers_mark_says_which_desk_made_it(demo_depot):
    from fleet_desk.tracking.routes import mark_stop

    pending = _stops(demo_depot, status="pending")[-1]
    with demo_depot.engine.connect() as conn:
        order = conn.scalar(select(Stop.order_id).where(Stop.tracking_number == pending))
    mark_stop(demo_depot.engine, demo_depot.tracker, demo_depot.policy, order, "failed", "customer not at home",
              desk="desk-2")
    card = _card(demo_depot, pending)
    (mark,) = [t for t in card.timeline if t.type == "delivery_exception"]
    assert mark.desk == "desk-2" and mark.said == "customer not at home (desk-2)"
    assert "customer not at home (desk-2)" in as_text(card, demo_depot.rules)
    assert all(t.desk is None for t in card.timeline if t is not mark)  # the tracker's events name no desk
