"""Several desks on one database lose no update: a dispatcher's mark on one desk races another desk's tracker
writing its cached copy of the route, and the mark stays; both writers' changes to one route are kept.

The tracker runs in a process of its own (this module run as a script: ``tracker URL FIXES``), fed a
simulated day's fixes through the real pipeline on command; the dispatcher is the test's own process. On
the real PostgreSQL (a schema per test) and on a real SQLite file, where no "database is locked" reaches
either desk.
"""

from __future__ import annotations

import logging
import pickle
import random
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

from sqlalchemy import select

from fleet_desk.gps import NmeaDecoder
from fleet_desk.push.payload import PayloadPolicy
from fleet_desk.sim.day import DayTrouble
from fleet_desk.store import PositionWriter, ensure_device, open_database
from fleet_desk.store.models import OrderEvent, Route, Stop
from fleet_desk.times import to_ms
from fleet_desk.tracking import RouteTracker, TrackingRules
from fleet_desk.tracking.manifest import read_manifest
from fleet_desk.tracking.routes import mark_stop, reorder_route, store_manifest
from tests.helpers.days import day_with_trouble
from tests.helpers.paths import ROOT
from tests.helpers.waiting import wait_until

RULES = TrackingRules(timezone=UTC)
POLICY = PayloadPolicy()
BATCH = 10  # fixes per transaction, as live ingestion stores a few seconds of a unit


class TrackerDesk:
    """Another desk's tracker in its own process, fed the day's fixes ``feed(a, b)`` at a time."""

    def __init__(self, url: str, fixes: Path):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.integration.test_desks_no_lost_updates",
                                      "tracker", url, str(fixes)], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self._answer() == "ready"

    def _answer(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith(("ready", "done")):
            self.proc.kill()
            _out, err = self.proc.communicate(timeout=10)
            raise AssertionError(f"the tracker desk said {line!r}: {err[-2000:]}")
        return line

    def feed(self, start: int, end: int, wait: bool = True, batch: int = BATCH) -> None:
        """Store fixes[start:end], ``batch`` fixes per transaction."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"feed {start} {end} {batch}\n")
        self.proc.stdin.flush()
        if wait:
            self.done()

    def done(self) -> str:
        return self._answer()

    def close(self) -> str:
        """Stop the desk; returns what it logged."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(30)
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.proc.stdout.close()
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        assert self.proc.returncode == 0, err[-2000:]
        return err


def _tracker_desk(url: str, fixes_path: str) -> int:
    """The tracker desk's process: stores ``feed A B N`` commands' fixes through its own tracker, N a batch."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    engine = open_database(url, migrate=False)
    fixes = pickle.loads(Path(fixes_path).read_bytes())
    tracker = RouteTracker(RULES, clock=None)
    ref = ensure_device(engine, "unit-1", VEHICLE)
    writer = PositionWriter(engine, ref, "import", [tracker])
    print("ready", flush=True)
    for line in sys.stdin:
        _, a, b, n = line.split()
        for i in range(int(a), int(b), int(n)):
            writer.write(fixes[i:min(i + int(n), int(b))])
        print("done", flush=True)
    engine.dispose()
    return 0


VEHICLE = "Van 1"


def _day(tmp_path: Path, engine):
    """A simulated day stored as the manifest, and its fixes pickled for the tracker desk."""
    day, manifest, log = day_with_trouble(tmp_path, 0, DayTrouble(noise_m=3.0))
    assert day.vehicle == VEHICLE
    store_manifest(engine, RouteTracker(RULES, clock=None), read_manifest(manifest, tz=UTC), RULES)
    fixes = NmeaDecoder().feed(log.read_bytes())
    path = tmp_path / "fixes.pickle"
    path.write_bytes(pickle.dumps(fixes))
    return day, fixes, path


def _index(fixes, ms: int) -> int:
    return next(i for i, f in enumerate(fixes) if to_ms(f.time) >= ms)


def _stops(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(Stop).order_by(Stop.id)).all()


def _events(engine, stop_id: int) -> list:
    with engine.connect() as conn:
        return conn.execute(select(OrderEvent).where(OrderEvent.stop_id == stop_id).order_by(OrderEvent.id)).all()


def test_a_dispatchers_mark_survives_a_tracker_writing_its_cached_route(tmp_path, db_url, engine):
    day, fixes, path = _day(tmp_path, engine)
    stops = _stops(engine)
    third, sixth, seventh = stops[2], stops[5], stops[6]
    arrive3 = to_ms(day.arrivals[2])
    desk = TrackerDesk(db_url, path)
    try:
        # The tracker desk drives the first two stops and heads for the third: its route is cached.
        desk.feed(0, _index(fixes, arrive3 - 120_000))
        assert [s.status for s in _stops(engine)[::2]][:2] == ["delivered", "pending"]
        # This desk's dispatcher: the third customer called off the delivery; the 6th and 7th swap places.
        mark_stop(engine, RouteTracker(RULES, clock=None), POLICY, third.order_id, "failed", "customer cancelled",
                  desk="desk-2")
        with engine.connect() as conn:
            route_id = conn.scalar(select(Route.id))
        order = [s.order_id for s in stops]
        order[5], order[6] = order[6], order[5]
        reorder_route(engine, RouteTracker(RULES, clock=None), route_id, order, desk="desk-2")
        marked_at = int(time.time() * 1000)
        # The van reaches the third stop and leaves it, stored in one batch: the tracker, with its cached route,
        # sees it arrive and deliver, and writes that.
        a, b = _index(fixes, arrive3 - 120_000), _index(fixes, to_ms(day.arrivals[3]) - 30_000)
        desk.feed(a, b, batch=b - a)
        now = {s.id: s for s in _stops(engine)}
        assert now[third.id].status == "failed" and now[third.id].failure_reason == "customer cancelled"
        assert now[third.id].arrived_ms is not None  # the tracker's own finding on the stop is kept beside it
        # The rest of the day: the tracker's own progress is kept beside the dispatcher's changes.
        desk.feed(b, len(fixes))
    finally:
        logged = desk.close()
    assert f"stops overruled: [{third.id}]" in logged  # it did write from its stale copy, and merged
    final = {s.id: s for s in _stops(engine)}
    assert final[third.id].status == "failed" and final[third.id].failure_reason == "customer cancelled"
    assert [final[s.id].status for s in stops if s.id != third.id] == ["delivered"] * 7
    assert (final[sixth.id].sequence, final[seventh.id].sequence) == (7, 6)
    assert final[sixth.id].version > sixth.version and final[third.id].version > third.version
    dispatcher = [e for e in _events(engine, third.id) if e.source == "dispatcher"]
    assert [(e.type, e.desk) for e in dispatcher] == [("delivery_exception", "desk-2")]
    # Nobody is told the failed delivery was delivered (the tracker's news of it, from its stale copy, is void).
    assert [e.type for e in _events(engine, third.id) if e.type in ("arrived", "delivered")] == []
    resequenced = [e for s in (sixth, seventh) for e in _events(engine, s.id) if e.type == "resequenced"]
    assert {e.desk for e in resequenced} == {"desk-2"} and len(resequenced) == 2
    # The tracker kept predicting the stops it did not own after the dispatcher's change (both changes kept).
    assert final[seventh.id].eta_at_ms is not None and final[seventh.id].eta_at_ms >= to_ms(day.arrivals[3])
    assert marked_at > 0


def test_marks_racing_a_tracker_all_stay_and_no_desk_sees_a_locked_database(tmp_path, db_url, engine):
    """The tracker desk streams the whole day while this desk marks the last four stops failed, at moments the
    test does not choose: every mark stays, every other stop is delivered by tracking."""
    day, fixes, path = _day(tmp_path, engine)
    stops = _stops(engine)
    ahead = stops[4:]
    desk = TrackerDesk(db_url, path)
    rng = random.Random(7)
    try:
        desk.feed(0, len(fixes), wait=False)
        wait_until(lambda: _stops(engine)[1].status != "pending", timeout=120)
        for stop in ahead:
            time.sleep(rng.uniform(0.0, 0.3))
            mark_stop(engine, RouteTracker(RULES, clock=None), POLICY, stop.order_id, "failed",
                      f"refused at the door ({stop.order_id})", desk="desk-2")
        desk.done()
    finally:
        desk.close()
    final = {s.id: s for s in _stops(engine)}
    assert [final[s.id].status for s in ahead] == ["failed"] * 4
    assert [final[s.id].failure_reason for s in ahead] == [f"refused at the door ({s.order_id})" for s in ahead]
    assert [final[s.id].status for s in stops[:4]] == ["delivered"] * 4
    for stop in ahead:
        events = _events(engine, stop.id)
        kinds = [(e.type, e.source, e.desk) for e in events]
        assert kinds.count(("delivery_exception", "dispatcher", "desk-2")) == 1
        marked = next(e.id for e in events if e.source == "dispatcher")
        # What tracking said of the stop after the mark is only what it may say of a failed stop (no arrival,
        # no delivery): a van that got there first was seen to, before the dispatcher's word.
        assert not [e for e in events if e.id > marked and e.type in ("arrived", "delivered", "arriving_soon")]


if __name__ == "__main__":
    if sys.argv[1] == "tracker":
        sys.exit(_tracker_desk(sys.argv[2], sys.argv[3]))
