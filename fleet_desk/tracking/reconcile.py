"""A docked (or imported) track reconciled with the day's stops, through the same tracker as live fixes.

Live tracking may have missed part of a day: a unit that only logs, a gap in
the stream. Once such a track is stored, the vehicle's stored positions over
its time span (every unit and source merged, in time order) go through a
fresh `RouteTracker` whose clock is now: arrivals and departures the track
shows are filled in at the times they happened, what the stops already
record stays, and since the fixes are old, no customer is told old news
(the same rule as for live fixes; a track docked minutes after the last
stop may still tell that stop's customer).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection, Engine, select

from fleet_desk.gps.fix import Fix
from fleet_desk.store.models import Position
from fleet_desk.store.registry import DeviceRef
from fleet_desk.times import from_ms
from fleet_desk.tracking.tracker import RouteTracker

BATCH = 5000


def reconcile_track(engine: Engine, live: RouteTracker, device: DeviceRef, first_ms: int, last_ms: int,
                    source: str = "dock") -> int:
    """Run the vehicle's stored track from ``first_ms`` to ``last_ms`` through a tracker made like ``live``
    (the desk's live tracker: its rules, clock and payload policy), which then carries on from it; returns
    the fixes looked at. A unit with no vehicle has no stops to reconcile."""
    if device.vehicle_id is None or first_ms > last_ms:
        return 0
    tracker = RouteTracker(live.rules, live.clock, live.policy, from_track=True, road_map=live.roads.road_map,
                           desk=live.desk)
    n = 0
    with engine.begin() as conn:
        for fixes in _track(conn, device.vehicle_id, first_ms, last_ms):
            tracker(conn, device, fixes, source)
            n += len(fixes)
    live.adopt(device.vehicle_id, tracker)  # live tracking carries on from here, re-reading the stops
    return n


def _track(conn: Connection, vehicle_id: int, first_ms: int, last_ms: int) -> Iterator[list[Fix]]:
    """The vehicle's fixes in pages (keyset, not a cursor held open while the tracker writes)."""
    after = first_ms - 1
    while True:
        rows = conn.execute(
            select(Position.fix_time_ms, Position.lat, Position.lon, Position.speed_mps, Position.course_deg,
                   Position.alt_m, Position.fix_quality, Position.sats, Position.hdop)
            .where(Position.vehicle_id == vehicle_id, Position.fix_time_ms > after,
                   Position.fix_time_ms <= last_ms)
            .order_by(Position.fix_time_ms).limit(BATCH)
        ).all()
        if not rows:
            return
        after = rows[-1].fix_time_ms
        yield [Fix(time=from_ms(r.fix_time_ms), lat=r.lat, lon=r.lon, speed_mps=r.speed_mps,
                   course_deg=r.course_deg, alt_m=r.alt_m, fix_quality=r.fix_quality, sats=r.sats, hdop=r.hdop)
               for r in rows]
