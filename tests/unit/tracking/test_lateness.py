"""Lateness as a dispatcher reads it: a stop that runs long makes the next ones late while the van is still
there, and a delay's reason says how things stand now, not how they stood when it was first flagged."""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fleet_desk.ingest.pipeline import import_log
from fleet_desk.sim.day import DayTrouble, SimulatedDay, render_day
from fleet_desk.store import open_database
from fleet_desk.store.models import OrderEvent, Route, Stop
from fleet_desk.tracking import RouteTracker, TrackingRules
from fleet_desk.tracking.delay import BEHIND, DelayCause, cause_kind, revised_reason
from fleet_desk.tracking.eta import StopPlan
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import store_manifest
from fleet_desk.tracking.state import StopOrder, StopState
from fleet_desk.tracking.tracker import AT_STOP_LEFT_S, _busy_s
from tests.helpers.days import day_with_trouble

RULES = TrackingRules(timezone=UTC)


def _replay_until(tmp_path: Path, day: SimulatedDay, manifest: Path, seconds: int) -> Engine:
    """The day replayed through the real pipeline up to ``seconds`` after its planned start."""
    engine = open_database(f"sqlite:///{tmp_path / 'depot.db'}")
    tracker = RouteTracker(RULES, clock=None)
    store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
    log = tmp_path / "so-far.nmea"
    log.write_bytes(render_day(day, seconds))
    import_log(engine, tracker, log, "unit-1", day.vehicle)
    return engine


def _stops(engine: Engine) -> list[Stop]:
    with Session(engine) as s:
        return list(s.scalars(select(Stop).order_by(Stop.sequence)))


def _minutes(reason: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", reason)]


def test_a_stop_that_runs_long_makes_the_next_ones_late_while_the_van_is_still_there(tmp_path: Path) -> None:
    day, manifest, _ = day_with_trouble(tmp_path, 0, DayTrouble(long_stops={1: 70 * 60}), stops=6, window_h=1.0)
    arrived = day.arrivals[1]
    inside = int((arrived - day.start).total_seconds()) + 50 * 60  # 50 minutes into a 74-minute stop
    engine = _replay_until(tmp_path, day, manifest, inside)
    stops = _stops(engine)
    at, after = stops[1], stops[2:]
    assert at.status == "arrived" and all(s.status == "pending" for s in after)
    last_fix_ms = int((day.start + timedelta(seconds=inside)).timestamp() * 1000)
    # It has not left: the next stop is not expected before it leaves (a minute from now at the soonest) and drives.
    assert after[0].eta_ms >= last_fix_ms + AT_STOP_LEFT_S * 1000 - 1000
    assert all(s.late for s in after)
    # Why, as things stand now: about 50 minutes at stop 2 so far, not the figure of when it was first flagged.
    reason = after[0].delay_reason
    assert reason.startswith("a long stop earlier on the route (stop 2: ")
    assert abs(_minutes(reason)[1] - 50) <= 2, reason
    with Session(engine) as s:  # one 'delayed' event per stop for the episode, however often the reason moved
        for stop in after:
            kinds = list(s.scalars(select(OrderEvent.type).where(OrderEvent.stop_id == stop.id)))
            assert kinds.count("delayed") == 1, (stop.sequence, kinds)


def test_a_late_departure_reads_how_late_it_is_now(tmp_path: Path) -> None:
    day, manifest, _ = day_with_trouble(tmp_path, 1, DayTrouble(late_departure_s=60 * 60), stops=6, window_h=1.0)
    engine = _replay_until(tmp_path, day, manifest, 45 * 60)  # 45 minutes after the planned start, still there
    with Session(engine) as s:
        assert s.scalar(select(Route.departed_ms)) is None
    late = [s for s in _stops(engine) if s.late]
    assert late
    for stop in late:  # flagged a while ago; the figure is today's
        assert stop.delay_reason.startswith("late departure from the depot, ")
        assert stop.delay_reason.endswith("(still at the depot)")
        assert abs(_minutes(stop.delay_reason)[0] - 45) <= 2, stop.delay_reason


def _at_stop(arrived_ms: int | None, service_s: float = 240.0) -> StopState:
    order = StopOrder("O1", "T1", "A customer", None, None)
    plan = StopPlan(1, 45.75, 4.85, 0, 3_600_000, service_s)
    return StopState(1, 1, plan, 60.0, None, order, "arrived" if arrived_ms is not None else "pending", arrived_ms)


def test_a_van_past_its_service_time_leaves_a_minute_from_now_at_the_soonest() -> None:
    t = 10_000_000
    assert _busy_s([_at_stop(t - 60_000)], t, 0.0) == 180.0  # a minute in: three of its four minutes left
    assert _busy_s([_at_stop(t - 600_000)], t, 0.0) == AT_STOP_LEFT_S  # ten minutes in: not 'leaves now'
    assert _busy_s([_at_stop(t - 60_000)], t, 150.0) == AT_STOP_LEFT_S  # a stale fix: the time left ran on
    assert _busy_s([_at_stop(None)], t, 0.0) == 0.0  # at no stop: drives on now


DEPARTURE = DelayCause("departure", 20 * 60, "late departure from the depot, 20 min after the planned start")
STOP = DelayCause("stop 3", 22 * 60, "a long stop earlier on the route (stop 3: 26 min instead of 4)")


def test_the_reason_keeps_its_cause_until_another_costs_clearly_more() -> None:
    # First flagged: the biggest cause.
    assert revised_reason(None, [STOP, DEPARTURE]) == STOP.text
    # Shown: the departure; the long stop costs 2 min more: no flicker between the two.
    assert revised_reason(DEPARTURE.text, [STOP, DEPARTURE]) == DEPARTURE.text
    # The long stop now costs 10 min more: it is named.
    longer = DelayCause("stop 3", 30 * 60, "a long stop earlier on the route (stop 3: 34 min instead of 4)")
    assert revised_reason(DEPARTURE.text, [longer, DEPARTURE]) == longer.text
    # The cause shown no longer counts: the one that does; none: behind the plan.
    assert revised_reason("slower traffic than planned (20 km/h against 30)", [DEPARTURE]) == DEPARTURE.text
    assert revised_reason(DEPARTURE.text, []) == BEHIND
    # A silent unit's reason (not a cause) gives way to the cause once it talks again.
    assert revised_reason("GPS unit silent since 07:12", [DEPARTURE]) == DEPARTURE.text


def test_the_reasons_figures_follow_the_day_in_steps_not_every_wobble() -> None:
    shown = "late departure from the depot, 27 min after the planned start (still at the depot)"
    minute_on = DelayCause("departure", 28 * 60, "late departure from the depot, 28 min after the planned start "
                                                 "(still at the depot)")
    assert revised_reason(shown, [minute_on]) == shown
    now = DelayCause("departure", 33 * 60, "late departure from the depot, 33 min after the planned start "
                                           "(still at the depot)")
    assert revised_reason(shown, [now]) == now.text
    left = DelayCause("departure", 28 * 60, "late departure from the depot, 28 min after the planned start")
    assert revised_reason(shown, [left]) == left.text  # it has left: said at once
    assert revised_reason("slower traffic than planned (21 km/h against 30)",
                          [DelayCause("traffic", 1200, "slower traffic than planned (20 km/h against 30)")]) \
        == "slower traffic than planned (21 km/h against 30)"


def test_cause_kinds_are_read_back_from_the_stored_words() -> None:
    assert cause_kind(DEPARTURE.text) == "departure"
    assert cause_kind(STOP.text) == "stop 3"
    assert cause_kind("slower traffic than planned (20 km/h against 30)") == "traffic"
    assert cause_kind(BEHIND) == "behind"
    assert cause_kind("GPS unit silent since 07:12") is None
    assert cause_kind(None) is None
