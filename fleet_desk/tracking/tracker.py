"""The tracking step of the one pipeline: fixes in, stop visits, ETAs, delays and order milestones out.

`RouteTracker` is a position-writer hook: it runs in the transaction that
stores a batch of fixes (live, docked, imported or replayed), so the stops,
ETA history and order timeline it writes commit or roll back with the fixes.
Each vehicle's route is cached in memory and re-read from the database every
few seconds (another workstation or a dispatcher may have changed it); the
database stays the truth.

"Now" is the clock for live, docked and imported fixes, so an old fix tells
no customer old news, and the fix time for a replay, so a replayed day comes
out as it would have live.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from fleet_desk import times
from fleet_desk.clock import now_ms
from fleet_desk.gps.fix import Fix
from fleet_desk.push.payload import Notice, PayloadPolicy, enqueue
from fleet_desk.settings import host_name
from fleet_desk.store.registry import DeviceRef
from fleet_desk.times import to_ms
from fleet_desk.tracking.arrival import ArrivalDetector, Visit
from fleet_desk.tracking.delay import delay_causes, revised_reason
from fleet_desk.tracking.eta import EtaWindow, SpeedLearner, predict
from fleet_desk.tracking.follow import Follower
from fleet_desk.tracking.geo import distance_m
from fleet_desk.tracking.learned import Learned, customer_key, learn
from fleet_desk.tracking.notices import CUSTOMER_FACING, ONCE, arriving_soon_due, eta_notice_due, is_news
from fleet_desk.tracking.roads import RoadMap
from fleet_desk.tracking.rules import SILENT_S, STALE_S, TrackingRules
from fleet_desk.tracking.state import OPEN, RouteState, StopState, VehicleTrack
from fleet_desk.tracking.state_sql import (
    Merged,
    insert_driven_legs,
    insert_events,
    insert_predictions,
    load_route,
    write_route,
)
from fleet_desk.tracking.travel import RoadTimes

log = logging.getLogger(__name__)

RELEARN_S = 15 * 60.0  # learn from the depot's history again this often (and at each new service day)
RELOAD_S = 60.0  # re-read a vehicle's route this often (changes made in this process invalidate at once)
DEPOT_RADIUS_M = 300.0  # beyond this from the depot, a vehicle has left it
ETA_CHANGE_MS = 60_000  # an ETA (or its window) moving less than this is not a new prediction,
ETA_CHANGE_SHARE = 0.02  # nor less than this share of the time ahead (hours ahead, a minute is noise)
ETA_EVERY_MS = 30_000  # ETAs are predicted at least this often (fix time), and whenever the vehicle moved
ETA_MOVED_M = 25.0
AT_STOP_LEFT_S = 60.0  # a van at a stop past its service time leaves no sooner than this from now


class RouteTracker:
    """Position-writer hook holding each vehicle's arrival state.

    The desk's live one is made once, by the `fleet_desk.depot.Depot`, and handed to everything that stores
    fixes or changes routes for it (live units, imports, docks, the routes editor), so they all carry on
    the same vehicles' state. A replay or a reconciliation makes its own.
    """

    def __init__(self, rules: TrackingRules, clock: Callable[[], int] | None = None,
                 policy: PayloadPolicy | None = None, from_track: bool = False, road_map: RoadMap | None = None,
                 desk: str | None = None):
        """``clock``: milliseconds now; None for a replay, where each fix's time is now.
        ``policy``: queue customer-facing events for the endpoint with this payload policy; None: do not
        (a replay tells no customer unless asked to).
        ``from_track``: the fixes go back before what the stops already record (a docked unit's day, see
        `fleet_desk.tracking.reconcile`): a stop marked arrived counts as "at the stop" only once the track
        itself arrives there, so an earlier fix elsewhere does not read as its departure.
        ``road_map``: drive ETAs on it (None: the straight line); live, it is asked on a thread of its own,
        which `close` stops.
        ``desk``: the desk it tracks for, which the change log names for what it writes (None: this computer's
        name, the ``desk_name`` setting's default)."""
        self.rules = rules
        self.desk = desk or host_name()
        self.clock = clock
        self.policy = policy
        self.from_track = from_track
        self._vehicles: dict[int, VehicleTrack] = {}
        self._lock = threading.Lock()
        self.roads = RoadTimes(road_map, background=clock is not None and not from_track)
        self.learned = Learned()
        self._learned_at: tuple[float, str] | None = None  # (monotonic, service day) of the last learning

    @classmethod
    def live(cls, rules: TrackingRules, policy: PayloadPolicy | None = None,
             road_map: RoadMap | None = None, desk: str | None = None) -> RouteTracker:
        """Now is the clock: an old fix tells no customer anything."""
        return cls(rules, now_ms, policy, road_map=road_map, desk=desk)

    def use_road_map(self, road_map: RoadMap | None) -> None:
        """ETAs ride on ``road_map`` (None: the straight line) from the next prediction on."""
        with self._lock:
            old, self.roads = self.roads, RoadTimes(road_map, background=self.clock is not None and not self.from_track)
            for track in self._vehicles.values():
                track.follower = Follower()
        old.close()

    def close(self) -> None:
        """Stop asking the road map (its thread, live)."""
        self.roads.close()

    def learn(self, conn: Connection, t: int, day: str) -> None:
        """Learn again from the depot's history when a new service day starts, and every `RELEARN_S`."""
        at = self._learned_at
        if at is not None and at[1] == day and time.monotonic() - at[0] < RELEARN_S:
            return
        self.learned = learn(conn, t, self.rules)
        self._learned_at = (time.monotonic(), day)

    @property
    def replaying(self) -> bool:
        """Now is each fix's time (no clock): fixes go through the tracker as they are stored, as if live."""
        return self.clock is None

    def configure(self, rules: TrackingRules, policy: PayloadPolicy | None) -> None:
        """New settings: from the next fix on (a live tracker's policy only; a replay's stays None)."""
        with self._lock:
            self.rules = rules
            if self.policy is not None:
                self.policy = policy
            for track in self._vehicles.values():
                track.detector.rules = rules
                track.learner.rules = rules

    def invalidate(self, vehicle_id: int | None = None) -> None:
        """Re-read routes on the next fix: after a manifest import or a dispatcher's change, or when the
        transaction that stored a batch rolled back (the cache may hold its changes; the batch will be sent
        again, so its fixes are taken again)."""
        with self._lock:
            for vid, track in self._vehicles.items():
                if vehicle_id is None or vid == vehicle_id:
                    track.checked_at = float("-inf")
                    track.detector.last_ms = None

    def adopt(self, vehicle_id: int, other: RouteTracker) -> None:
        """Carry on from ``other``'s state of the vehicle (a reconciled track: its learned speed, where it was
        last), unless this tracker has seen the vehicle later; either way its route is read again."""
        theirs = other._vehicles.get(vehicle_id)
        with self._lock:
            mine = self._vehicles.get(vehicle_id)
            if theirs is not None and theirs.last_fix is not None and (
                    mine is None or mine.last_fix is None or mine.last_fix[0] <= theirs.last_fix[0]):
                theirs.detector.rules = theirs.learner.rules = self.rules
                self._vehicles[vehicle_id] = mine = theirs
        if mine is not None:
            self.invalidate(vehicle_id)

    def sweep(self, conn: Connection, now_ms: int) -> int:
        """Routes whose unit went quiet: no fix for 2 minutes and ETAs are predicted from now, with wider
        windows; after 10 minutes the route is flagged GPS-silent and its ETAs stop moving (the van is not
        extrapolated forever), though stops whose time runs out still turn late, for that reason.
        Returns how many routes were looked at."""
        n = 0
        with self._lock:
            for vehicle_id, track in self._vehicles.items():
                route = track.route
                if route is None or route.status != "active" or track.last_fix is None:
                    continue
                age_s = (now_ms - track.last_fix[0]) / 1000
                if age_s < STALE_S:
                    continue
                n += 1
                batch = _Batch(self, conn, vehicle_id, track, "live")
                if age_s < SILENT_S:
                    batch.update_etas(route, now_ms)
                else:
                    batch.silent(route, now_ms)
                batch.write()
        return n

    def __call__(self, conn: Connection, device: DeviceRef, fixes: Sequence[Fix], source: str) -> None:
        """Run a vehicle's freshly stored fixes through the rules, in the transaction that stores them
        (arrivals, ETAs, delays, customer notices); fixes of a unit on no vehicle are ignored."""
        if device.vehicle_id is None or not fixes:
            return
        with self._lock:
            track = self._vehicles.get(device.vehicle_id)
            if track is None:
                track = self._vehicles[device.vehicle_id] = VehicleTrack(
                    ArrivalDetector(self.rules), SpeedLearner(self.rules))
            _Batch(self, conn, device.vehicle_id, track, source).run(sorted(fixes, key=lambda f: f.time))


class _Batch:
    """One batch of one vehicle's fixes through the rules, with the rows it will write."""

    def __init__(self, tracker: RouteTracker, conn: Connection, vehicle_id: int, track: VehicleTrack,
                 source: str):
        self.tracker, self.rules, self.conn = tracker, tracker.rules, conn
        self.vehicle_id, self.track = vehicle_id, track
        self.source = "replay" if tracker.clock is None else ("tracking" if source == "live" else source)
        self.events: list[dict[str, Any]] = []
        self.history: list[dict[str, Any]] = []
        self.legs: list[dict[str, Any]] = []
        self.notices: list[Notice] = []
        self.now = 0

    def run(self, fixes: list[Fix]) -> None:
        track = self.track
        last_route: RouteState | None = None
        for fix in fixes:
            t = to_ms(fix.time)
            route = self._route_for(t)
            if route is not last_route and last_route is not None:
                self.update_etas(last_route)
            last_route = route
            if track.day_start is None:
                track.day_start = (fix.lat, fix.lon)
            if track.leg_from is not None and track.last_fix is not None and not track.detector.at_stop:
                track.leg_driven_m += distance_m(track.last_fix[1], track.last_fix[2], fix.lat, fix.lon)
            track.last_fix = (t, fix.lat, fix.lon)
            if route is None or route.status == "done":
                track.learner.feed(t, fix.lat, fix.lon, False)
                continue
            now = t if self.tracker.clock is None else self.tracker.clock()
            if route.silent_since_ms is not None:
                route.silent_since_ms, route.dirty = None, True
            self._check_departure(route, t, fix, now)
            for visit in track.detector.feed(t, fix.lat, fix.lon, fix.speed_mps, route.zones()):
                self._apply_visit(route, visit, now)
            # Speed is learned from driving between stops: not at a stop, not waiting at the depot.
            track.learner.feed(t, fix.lat, fix.lon, bool(track.detector.at_stop) or route.departed_ms is None)
            if t - track.last_eta_ms >= ETA_EVERY_MS:
                self.update_etas(route)
        if last_route is not None and track.last_fix is not None:
            _, lat, lon = track.last_fix
            if distance_m(lat, lon, *track.last_eta_at) >= ETA_MOVED_M:  # only routes whose vehicle moved
                self.update_etas(last_route)
        self.write()

    # -- routes -------------------------------------------------------------------------------------------

    def _route_for(self, t: int) -> RouteState | None:
        track, rules = self.track, self.rules
        day = rules.local_day(t)
        if track.day == day and time.monotonic() - track.checked_at < RELOAD_S:
            return track.route  # (None too: a vehicle with no route today is not looked up on every fix)
        old = track.route
        if old is not None:  # this batch's changes, first
            self._merged(write_route(self.conn, old, track.learner.speed_mps, self.tracker.desk))
        self.tracker.learn(self.conn, t, day)
        learned = self.tracker.learned
        new = load_route(self.conn, self.vehicle_id, day, t, rules.stop_radius_m,
                         lambda row: learned.service(row["address"], row["lat"], row["lon"],
                                                     customer_key(row["phone_key"], row["email_key"],
                                                                  row["customer_name"]), row["service_s"], rules))
        if old is not None and (new is None or new.id != old.id):  # another route: start afresh
            track.day_start = None
            track.detector = ArrivalDetector(rules)
            track.leg_from = None
        if new is not None:
            self._sync_detector(new)
        track.route, track.day, track.checked_at = new, day, time.monotonic()
        return new

    def _sync_detector(self, route: RouteState) -> None:
        """Stops a dispatcher closed or that another station saw arrive: keep the detector in step."""
        detector = self.track.detector
        for s in route.stops:
            if s.status == "arrived":
                if not self.tracker.from_track:
                    detector.at_stop.add(s.id)
            elif s.id in detector.at_stop:
                detector.forget(s.id)

    def _check_departure(self, route: RouteState, t: int, fix: Fix, now: int) -> None:
        if route.departed_ms is not None:
            return
        depot = self.rules.depot or self.track.day_start
        if depot is None or distance_m(depot[0], depot[1], fix.lat, fix.lon) <= DEPOT_RADIUS_M:
            return
        route.departed_ms, route.status, route.dirty = t, "active", True
        self.track.leg_from, self.track.leg_driven_m = (t, depot[0], depot[1]), 0.0
        for stop in route.stops:
            if stop.status == "pending":
                self._event(stop, t, "out_for_delivery", None, now, t)

    def _apply_visit(self, route: RouteState, visit: Visit, now: int) -> None:
        stop = next((s for s in route.stops if s.id == visit.stop_id), None)
        if stop is None:
            return
        route.visited()
        if visit.kind == "arrived" and stop.status == "pending":
            stop.arrive(visit.time_ms)
            self._event(stop, visit.time_ms, "arrived", None, now, visit.time_ms)
            self._drove_to(route, stop, visit.time_ms)
        elif visit.kind == "departed" and stop.status == "arrived":
            stop.deliver(visit.time_ms)
            self._event(stop, visit.time_ms, "delivered", None, now, visit.time_ms)
            self.track.leg_from, self.track.leg_driven_m = (visit.time_ms, stop.plan.lat, stop.plan.lon), 0.0
        if route.departed_ms is None and visit.kind == "arrived":  # no depot departure seen (started elsewhere)
            route.departed_ms, route.status, route.dirty = visit.time_ms, "active", True
        if all(s.status not in OPEN for s in route.stops):
            route.status, route.dirty = "done", True

    def _drove_to(self, route: RouteState, stop: StopState, t: int) -> None:
        """The leg that ended at ``stop``: recorded for the depot to learn circuity and traffic from."""
        track = self.track
        if track.leg_from is None:
            return
        left, lat, lon = track.leg_from
        track.leg_from = None
        if t <= left:
            return
        straight = distance_m(lat, lon, stop.plan.lat, stop.plan.lon)
        self.legs.append({"route_id": route.id, "stop_id": stop.id, "departed_ms": left, "arrived_ms": t,
                          "driven_m": round(max(track.leg_driven_m, straight), 1), "straight_m": round(straight, 1),
                          "road_s": self.tracker.roads.leg_free_s(track.follower, (lat, lon),
                                                                  (stop.plan.lat, stop.plan.lon))})

    # -- ETAs and delays ----------------------------------------------------------------------------------

    def update_etas(self, route: RouteState, now: int | None = None) -> None:
        """Predict from the last fix; ``now`` (a sweep) when the fix is stale: the van left from there at the
        latest now, and the window widens by the fix's age."""
        track, rules = self.track, self.rules
        if route.status == "done" or track.last_fix is None:
            return
        t, lat, lon = track.last_fix
        track.last_eta_ms, track.last_eta_at = t, (lat, lon)
        stale_s = 0.0
        if now is None:
            now = t if self.tracker.clock is None else self.tracker.clock()
        else:
            stale_s = max(0.0, (now - t) / 1000)
        open_stops = [s for s in route.stops if s.status in OPEN]
        busy_s = _busy_s(open_stops, t, stale_s)
        pending = [s for s in open_stops if s.status == "pending"]
        start = t + stale_s * 1000
        if route.departed_ms is None and route.planned_start_ms is not None:
            start = max(start, route.planned_start_ms)  # not before the planned start; after it, late
        plans = [s.plan for s in pending]
        learned = self.tracker.learned
        driving = route.departed_ms is not None and not track.detector.at_stop and stale_s == 0  # not a sweep
        travel = self.tracker.roads.travel(track.follower, (lat, lon), t, plans, track.learner.speed_mps,
                                           learned.circuity or rules.circuity, learned,
                                           times.at_depot(t, rules.timezone).hour, driving)
        route.rests_on(travel.basis, travel.straight)
        etas = predict(plans, travel.legs_s, int(start), busy_s=busy_s, stale_s=stale_s,
                       spread=learned.spread)
        news = is_news(t, now, rules)
        for before, (stop, eta) in enumerate(zip(pending, etas, strict=True)):
            stops_before = before + len(open_stops) - len(pending)
            changed = self._record_eta(stop, eta, t)
            self._judge_lateness(route, stop, eta.expected_ms, t, now, news)
            if route.departed_ms is None:
                continue
            # What the customer is told moves with the stored prediction, not with every wobble.
            if changed and news and eta_notice_due(stop.told_eta_ms, stop.told_at_ms, eta.expected_ms, now, rules):
                self._event(stop, t, "eta_updated", times.hhmm(eta.expected_ms, rules.timezone), now, t)
                stop.tell_eta(eta.expected_ms, now)
            if "arriving_soon" not in stop.told and arriving_soon_due(stops_before, eta.expected_ms, t, rules):
                self._event(stop, t, "arriving_soon", _stops_text(stops_before), now, t)

    def silent(self, route: RouteState, now: int) -> None:
        """The unit has said nothing for a while: flag the route, hold its ETAs, judge lateness by the clock."""
        if self.track.last_fix is None:
            return
        t = self.track.last_fix[0]
        if route.silent_since_ms is None:
            route.silent_since_ms, route.dirty = t, True
        for stop in route.stops:
            if stop.status == "pending" and stop.eta_ms is not None:  # held where it was, unless time ran out
                self._judge_lateness(route, stop, max(stop.eta_ms, now), now, now, True)

    def _record_eta(self, stop: StopState, eta: EtaWindow, t: int) -> bool:
        """Store a new prediction if it moved materially; returns whether it did."""
        step = max(ETA_CHANGE_MS, ETA_CHANGE_SHARE * (eta.expected_ms - t))
        expected, earliest, latest = stop.eta_ms, stop.eta_earliest_ms, stop.eta_latest_ms
        if (expected is not None and earliest is not None and latest is not None
                and abs(eta.expected_ms - expected) < step and abs(eta.latest_ms - latest) < step
                and abs(eta.earliest_ms - earliest) < step):
            return False
        stop.predict(eta, t)
        self.history.append({"stop_id": stop.id, "predicted_at_ms": t, "eta_ms": eta.expected_ms,
                             "earliest_ms": eta.earliest_ms, "latest_ms": eta.latest_ms})
        return True

    def _judge_lateness(self, route: RouteState, stop: StopState, expected_ms: int, t: int, now: int,
                        news: bool) -> None:
        """Late (by more than the threshold), or back on time, against the stop's window end."""
        late_s = (expected_ms - stop.plan.window_end_ms) / 1000
        was_late = stop.late
        if late_s > self.rules.late_threshold_s:
            minutes = max(1, round(late_s / 60))
            if route.silent_since_ms is not None:
                reason = f"GPS unit silent since {times.hhmm(route.silent_since_ms, self.rules.timezone)}"
            else:  # as things stand now, not frozen when first flagged; one episode, one 'delayed' event
                reason = revised_reason(stop.delay_reason if was_late else None,
                                        delay_causes(route.planned_start_ms, route.departed_ms, t, route.stops,
                                                     stop, self.track.learner.speed_mps, self.rules))
            stop.run_late(minutes, reason)
            if not was_late:
                self._event(stop, t, "delayed", f"about {minutes} min late: {reason}", now, t, news)
        elif was_late and late_s < self.rules.late_threshold_s / 2:  # hysteresis: one episode, not a flicker
            stop.back_on_time()
            self._event(stop, t, "back_on_time", None, now, t)

    # -- writing ------------------------------------------------------------------------------------------

    def _event(self, stop: StopState, time_ms: int, kind: str, detail: str | None, now: int, fix_ms: int,
               news: bool | None = None) -> None:
        if kind in stop.told and (kind in ONCE or kind == "arrived"):
            return
        stop.told.add(kind)
        facing = kind in CUSTOMER_FACING and (is_news(fix_ms, now, self.rules) if news is None else news)
        self.events.append({"stop_id": stop.id, "time_ms": time_ms, "type": kind, "detail": detail,
                            "source": self.source, "customer_facing": facing})
        if facing and self.tracker.policy is not None:
            self.notices.append(self._notice(stop, kind, time_ms))
        self.now = now

    def _notice(self, stop: StopState, kind: str, time_ms: int) -> Notice:
        o, route = stop.order, stop.route
        open_before = (sum(1 for s in route.stops if s.status in OPEN and s.sequence < stop.sequence)
                       if route is not None else 0)
        fix = self.track.last_fix
        is_open = stop.status in OPEN
        return Notice(
            kind=kind, occurred_ms=time_ms, stop_id=stop.id, order_id=o.order_id,
            tracking_number=o.tracking_number, window=(stop.plan.window_start_ms, stop.plan.window_end_ms),
            eta=(stop.eta_ms, stop.eta_earliest_ms, stop.eta_latest_ms)
            if stop.eta_ms and is_open and stop.eta_earliest_ms is not None and stop.eta_latest_ms is not None
            else None,
            delay=(stop.delay_minutes, stop.delay_reason)
            if stop.late and stop.delay_minutes is not None and stop.delay_reason is not None else None,
            stops_before=open_before if is_open else None,
            vehicle=(self.vehicle_id, route.vehicle if route is not None else ""),
            position=(fix[1], fix[2], fix[0]) if fix else None,
            customer=(o.customer_name, o.phone, o.email),
        )

    def _merged(self, merged: Merged | None) -> None:
        """Another desk or a dispatcher changed the route meanwhile: re-read it on the next fix, and record
        nothing this batch said of the stops whose status they decided."""
        if merged is None:
            return
        self.track.checked_at = float("-inf")
        if merged.overruled:
            self.events = [e for e in self.events if e["stop_id"] not in merged.overruled]
            self.notices = [n for n in self.notices if n.stop_id not in merged.overruled]

    def write(self) -> None:
        conn, route = self.conn, self.track.route
        if route is not None:  # first: what another writer decided voids this batch's news of it
            self._merged(write_route(conn, route, self.track.learner.speed_mps, self.tracker.desk))
        if self.events:
            insert_events(conn, self.events)
        if self.notices and self.tracker.policy is not None:  # the outbox rows commit with what they describe
            enqueue(conn, self.notices, self.tracker.policy, self.now, self.tracker.desk)
        if self.history:
            insert_predictions(conn, self.history)
        if self.legs:
            insert_driven_legs(conn, self.legs)


def _busy_s(open_stops: Sequence[StopState], t: int, stale_s: float) -> float:
    """Seconds the van will still spend where it is before it drives on, as of the fix at ``t`` (``stale_s``
    old): what is left of the service time at a stop it is at, and once that is used up (a stop that runs
    long), at least `AT_STOP_LEFT_S` more from now: it has not left, so the stops after it slip with every
    minute it stays. Zero when it is at no stop."""
    at = [s for s in open_stops if s.status == "arrived" and s.arrived_ms is not None]
    if not at:
        return 0.0
    left = max(s.plan.service_s - (t - (s.arrived_ms or t)) / 1000 for s in at) - stale_s
    return max(left, AT_STOP_LEFT_S)


def _stops_text(n: int) -> str:
    return "next stop" if n == 0 else f"{n} stop{'s' if n > 1 else ''} before"
