"""Thinning old positions (`fleet-desk db maintain`) on a replayed day, on a real SQLite file and the real
PostgreSQL: one fix per 30 s while moving, one per stand, every stop visit and the latest kept; idempotent."""

from __future__ import annotations

from datetime import UTC, timedelta

from sqlalchemy import select

from fleet_desk.cli import main
from fleet_desk.ingest.pipeline import import_log
from fleet_desk.sim.day import DayTrouble
from fleet_desk.store.models import LatestPosition, Position, Stop
from fleet_desk.store.retention import DAY_MS, MOVING_EVERY_MS, STILL_MPS, thin_positions
from fleet_desk.times import to_ms
from fleet_desk.tracking import RouteTracker, TrackingRules
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import store_manifest
from tests.helpers.days import START, day_with_trouble

RULES = TrackingRules(timezone=UTC)


def _replayed_day(tmp_path, engine) -> None:
    day, manifest, log = day_with_trouble(tmp_path, 0, DayTrouble(long_stops={2: 900}, noise_m=3.0))
    tracker = RouteTracker(RULES, clock=None)
    store_manifest(engine, tracker, read_manifest(manifest, tz=UTC), RULES)
    import_log(engine, tracker, log, "unit-1", day.vehicle)


def _positions(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(Position.id, Position.fix_time_ms, Position.speed_mps)
                            .order_by(Position.fix_time_ms)).all()


def _visits(engine) -> list[tuple[int, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Stop.arrived_ms, Stop.departed_ms)
                                               .where(Stop.arrived_ms.is_not(None)))]


def _still(p) -> bool:
    return p.speed_mps is not None and p.speed_mps < STILL_MPS


def test_a_day_past_the_full_rate_days_is_thinned_and_keeps_what_matters(tmp_path, engine):
    _replayed_day(tmp_path, engine)
    before = _positions(engine)
    visits = _visits(engine)
    assert len(visits) == 8 and len(before) > 10_000
    with engine.connect() as conn:
        latest = conn.execute(select(LatestPosition.fix_time_ms)).scalar_one()

    too_recent = thin_positions(engine, 30, to_ms(START) + 10 * DAY_MS)
    assert (too_recent.removed, too_recent.looked_at) == (0, 0) and "nothing to thin" in too_recent.report()
    assert len(_positions(engine)) == len(before)

    result = thin_positions(engine, 30, to_ms(START) + 40 * DAY_MS)
    after = _positions(engine)
    kept = {p.id for p in after}
    assert result.looked_at == len(before) and result.removed == len(before) - len(after)
    assert result.by_unit == {"unit-1": result.removed} and result.units == 1
    assert len(after) < len(before) / 3, (len(after), len(before))
    assert f"removed {result.removed:,} of {len(before):,}" in result.report()
    # Every fix of every stop visit, and the latest, stay.
    for arrived, departed in visits:
        at_stop = [p.id for p in before if arrived <= p.fix_time_ms <= departed]
        assert at_stop and set(at_stop) <= kept
    assert latest in {p.fix_time_ms for p in after}
    # While moving, no 30-second slot that had a fix lost them all; every stand keeps its first fix.
    moving_slots = {p.fix_time_ms // MOVING_EVERY_MS for p in before if not _still(p)}
    assert moving_slots == {p.fix_time_ms // MOVING_EVERY_MS for p in after if not _still(p)}
    stands = [p.id for prev, p in zip([None, *before], before, strict=False) if _still(p) and (prev is None
                                                                                              or not _still(prev))]
    assert stands and set(stands) <= kept
    # What was removed is what the rules let go: moving fixes beyond the first of their slot, stands' later fixes.
    removed_moving = [p for p in before if p.id not in kept and not _still(p)]
    firsts = {}
    for p in before:
        if not _still(p):
            firsts.setdefault(p.fix_time_ms // MOVING_EVERY_MS, p.id)
    assert not [p for p in removed_moving if firsts[p.fix_time_ms // MOVING_EVERY_MS] == p.id]

    again = thin_positions(engine, 30, to_ms(START) + 40 * DAY_MS)
    assert again.removed == 0 and again.looked_at == len(after)  # idempotent
    later = thin_positions(engine, 30, to_ms(START) + 90 * DAY_MS)
    assert later.removed == 0 and len(_positions(engine)) == len(after)


def test_db_maintain_prints_what_it_removed_and_twice_removes_nothing(tmp_path, db_url, engine, capsys):
    _replayed_day(tmp_path, engine)  # (the simulated day is 20 Nov 2026: days ago on this computer's clock)
    count = len(_positions(engine))
    keep = (to_ms(START.replace(tzinfo=UTC) + timedelta(days=1)))  # keep everything after the day
    from fleet_desk.clock import now_ms

    days = int((now_ms() - keep) // DAY_MS)
    assert days >= 1, "the test's day must lie in the past"
    assert main(["--db", db_url, "db", "maintain", "--keep-days", str(days)]) == 0
    out = capsys.readouterr().out
    remaining = len(_positions(engine))
    assert remaining < count
    assert f"removed {count - remaining:,} of {count:,}" in out and "unit-1: " in out
    assert main(["--db", db_url, "db", "maintain", "--keep-days", str(days)]) == 0
    assert f"removed 0 of {remaining:,}" in capsys.readouterr().out
    assert main(["--db", db_url, "db", "maintain", "--keep-days", "100000"]) == 0
    assert "nothing to thin" in capsys.readouterr().out
    assert len(_positions(engine)) == remaining


def test_db_maintain_refuses_a_negative_number_of_days_in_one_line(db_url, capsys):
    try:
        main(["--db", db_url, "db", "maintain", "--keep-days", "-3"])
    except SystemExit as exc:
        assert exc.code == 2
    err = capsys.readouterr().err
    assert "days cannot be negative: '-3'" in err and "Traceback" not in err
