"""Thinning old positions (`fleet-desk db maintain`) on a replayed day, on a real SQLite file and the real
PostgreSQL: one fix per 30 s while moving, one per stand, every stop visit and the latest kept; idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from fleet_desk.cli import main
from fleet_desk.cli.config import settings_help
from fleet_desk.ingest.pipeline import import_log
from fleet_desk.settings import Settings
from fleet_desk.sim.day import DayTrouble
from fleet_desk.store.changes import KEEP_MS
from fleet_desk.store.models import Change, LatestPosition, Position, Stop
from fleet_desk.store.retention import (
    DAY_MS,
    MAINTENANCE,
    MOVING_EVERY_MS,
    STILL_MPS,
    claim_night,
    last_run_ms,
    maintain,
    night_due,
    night_start,
    record_run,
    thin_positions,
)
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


# -- the whole job, the setting, and which desk runs it tonight ----------------------------------------------

PARIS = ZoneInfo("Europe/Paris")


def _at(text: str, tz=PARIS) -> int:
    return to_ms(datetime.fromisoformat(text).replace(tzinfo=tz))


def _changes(engine, kind: str | None = None) -> list:
    stmt = select(Change.kind, Change.at_ms, Change.desk).order_by(Change.id)
    if kind:
        stmt = stmt.where(Change.kind == kind)
    with engine.connect() as conn:
        return conn.execute(stmt).all()


def test_the_night_begins_at_two_at_the_depot_and_the_run_is_due_once_after_it():
    assert night_start(_at("2026-12-03T01:59"), PARIS) == _at("2026-12-02T02:00")
    assert night_start(_at("2026-12-03T02:00"), PARIS) == _at("2026-12-03T02:00")
    assert night_start(_at("2026-12-03T23:30"), PARIS) == _at("2026-12-03T02:00")
    assert night_start(_at("2026-03-29T12:00"), PARIS) == _at("2026-03-29T03:00")  # 02:00 does not exist that day
    saigon = ZoneInfo("Asia/Ho_Chi_Minh")  # 02:00 there is 19:00 UTC the day before
    assert night_start(_at("2026-12-03T20:00", UTC), saigon) == _at("2026-12-03T19:00", UTC)
    # at 02:10 with no run since yesterday's night: due; once a desk ran it, not again tonight
    assert night_due(_at("2026-12-03T02:10"), PARIS, _at("2026-12-02T02:05"))
    assert not night_due(_at("2026-12-03T02:20"), PARIS, _at("2026-12-03T02:10"))
    assert not night_due(_at("2026-12-03T23:59"), PARIS, _at("2026-12-03T02:10"))
    # a desk started at 09:00: due only if the last run is more than a day old (else it waits for the night)
    assert not night_due(_at("2026-12-03T09:00"), PARIS, _at("2026-12-02T10:00"))
    assert night_due(_at("2026-12-03T09:00"), PARIS, _at("2026-12-02T08:59"))
    assert night_due(_at("2026-12-03T09:00"), PARIS, None)


def test_only_one_desk_claims_tonight_and_the_claim_is_in_the_change_log(engine):
    night = _at("2026-12-03T02:01")
    assert claim_night(engine, "desk-1", night, PARIS)
    assert not claim_night(engine, "desk-2", night + 1000, PARIS)
    assert not claim_night(engine, "desk-1", night + 3_600_000, PARIS)  # and not twice by the same desk
    assert last_run_ms(engine) == night
    assert _changes(engine, MAINTENANCE) == [(MAINTENANCE, night, "desk-1")]
    assert claim_night(engine, "desk-2", night + DAY_MS, PARIS)  # the next night
    assert [r.desk for r in _changes(engine, MAINTENANCE)] == ["desk-1", "desk-2"]
    record_run(engine, "desk-3", night + DAY_MS + 60_000)  # by hand, with `fleet-desk db maintain`
    assert last_run_ms(engine) == night + DAY_MS + 60_000


def test_maintain_thins_positions_and_prunes_change_rows_older_than_a_day(tmp_path, engine):
    _replayed_day(tmp_path, engine)
    now = to_ms(START) + 40 * DAY_MS
    with engine.begin() as conn:  # the change log as a busy day leaves it: rows from two days ago and now
        conn.execute(insert(Change), [{"kind": "position", "ref_id": 1, "at_ms": now - 2 * DAY_MS, "desk": "d"}
                                      for _ in range(50)])
        conn.execute(insert(Change), [{"kind": "stop", "ref_id": 2, "at_ms": now - 60_000, "desk": "d"}])
    old_changes = sum(1 for r in _changes(engine) if r.at_ms < now - KEEP_MS)
    assert old_changes >= 50
    result = maintain(engine, 30, now)
    assert result.thinned.removed > 0 and result.changes_pruned == old_changes
    assert all(r.at_ms >= now - KEEP_MS for r in _changes(engine))
    assert f"{old_changes:,} change-log rows older than 24 h removed" in result.report()
    again = maintain(engine, 30, now)
    assert (again.thinned.removed, again.changes_pruned) == (0, 0) and "change-log" not in again.report()


def test_maintain_stops_between_unit_days_when_cancelled_and_says_so(tmp_path, engine):
    _replayed_day(tmp_path, engine)
    count = len(_positions(engine))
    result = maintain(engine, 30, to_ms(START) + 40 * DAY_MS, cancelled=lambda: True)
    assert result.thinned.cancelled and result.thinned.removed == 0 and len(_positions(engine)) == count
    assert "stopped early" in result.report()


def test_db_maintain_keeps_the_setting_s_days_and_records_its_run(tmp_path, db_url, engine, capsys):
    _replayed_day(tmp_path, engine)
    count = len(_positions(engine))
    assert main(["config", "set", "keep_full_days", "100000"]) == 0
    try:
        assert main(["--db", db_url, "db", "maintain"]) == 0
        assert "full rate kept for 100000 days" in capsys.readouterr().out
        assert len(_positions(engine)) == count
        assert [r.desk for r in _changes(engine, MAINTENANCE)] == [Settings.load().desk_name]
    finally:
        assert main(["config", "set", "keep_full_days", "30"]) == 0


@pytest.mark.parametrize("value, said", [("0", "at least 1 day"), ("-5", "at least 1 day"),
                                         ("a month", "invalid literal")])
def test_keep_full_days_is_a_setting_of_at_least_one_day(value, said, capsys):
    before = Settings.load().keep_full_days
    assert main(["config", "set", "keep_full_days", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fleet-desk: keep_full_days: ") and said in err and err.count("\n") == 1
    assert Settings.load().keep_full_days == before == 30
    assert "keep_full_days" in settings_help()


def test_fleet_desk_watch_says_a_maintenance_run_in_words(engine):
    from fleet_desk.fleet.changes import as_text, describe
    from fleet_desk.store.changes import ChangeCursor

    record_run(engine, "desk-3", to_ms(START))
    with engine.connect() as conn:
        lines = describe(conn, ChangeCursor().read(conn))
    assert [(line["kind"], line.get("gone"), line["desk"]) for line in lines] == [(MAINTENANCE, None, "desk-3")]
    assert "database maintenance began" in as_text(lines[0]) and "deleted" not in as_text(lines[0])
