"""What a dock did, in the words a driver and a dispatcher use."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from fleet_desk.gps.fix import Fix
from fleet_desk.ingest.pipeline import IngestSummary
from fleet_desk.store.models import OrderEvent, Route, Stop
from fleet_desk.times import iso_z
from fleet_desk.tracking.geo import distance_m

MOVE_M = 10.0  # GPS jitter while parked is not distance driven


class TrackDistance:
    """Distance driven along a track, counting a step only once the vehicle is MOVE_M from where it was."""

    def __init__(self) -> None:
        self.metres = 0.0
        self._anchor: tuple[float, float] | None = None

    def add(self, fixes: list[Fix]) -> None:
        """Take the next fixes of the track, in order, adding the steps driven."""
        for f in fixes:
            if self._anchor is None:
                self._anchor = (f.lat, f.lon)
                continue
            d = distance_m(self._anchor[0], self._anchor[1], f.lat, f.lon)
            if d >= MOVE_M:
                self.metres += d
                self._anchor = (f.lat, f.lon)


@dataclass(frozen=True, slots=True)
class VisitedStop:
    """A stop the docked track shows the van arriving at, and whether this dock filled it in because live
    tracking had missed it."""

    service_date: str
    sequence: int
    order_id: str
    address: str
    arrived_ms: int
    departed_ms: int | None
    filled_in: bool  # live tracking had missed it; this dock recorded it


@dataclass
class DockSummary:
    """What one dock did, for the driver and the dispatcher: what was downloaded and stored, the distance
    driven, the stops visited, whether the unit was erased, and why it stopped early if it did.

    `report` words it the same for the CLI and the Dock panel; `complete` is False when the dock was cancelled
    or stopped early (what was read is stored; docking again finishes).
    """

    device: str
    vehicle: str | None
    family: str
    identity: str = ""
    bytes_read: int = 0  # from the unit this time (an MTK dock resumed from earlier reads fewer)
    resumed_from: int = 0
    seconds: float = 0.0
    ingest: IngestSummary = field(default_factory=IngestSummary)
    records: int = 0
    no_fix: int = 0
    distance_m: float = 0.0
    stops: list[VisitedStop] = field(default_factory=list)
    erased: bool = False
    cancelled: bool = False
    problem: str | None = None  # why the download stopped early (unplugged, no answer), if it did
    note: str | None = None  # e.g. why the unit was not erased

    @property
    def complete(self) -> bool:
        """Whether the whole download was read: not cancelled and not cut short (only then is the unit erased)."""
        return not self.cancelled and self.problem is None

    def report(self) -> list[tuple[str, str]]:
        """The summary as (label, value) lines, for the CLI and the Dock view alike."""
        r = self.ingest.result
        rate = f", {self.bytes_read / self.seconds:,.0f} bytes/s" if self.seconds > 0 and self.bytes_read else ""
        lines = [
            ("unit", f"{self.device}" + (f" ({self.identity})" if self.identity else "")),
            ("vehicle", self.vehicle or "- (no vehicle: no stops to reconcile)"),
            ("downloaded", f"{self.bytes_read:,} bytes in {self.seconds:.1f} s{rate}"
             + (f", resumed at {self.resumed_from:,}" if self.resumed_from else "")),
            ("fixes stored", f"{r.stored:,}"),
            ("duplicates skipped", f"{r.duplicates:,}  (stored before, or twice in the log)"),
        ]
        if self.no_fix:
            lines.append(("logged without a fix", f"{self.no_fix:,} (not positions)"))
        first, last = self.ingest.first_ms, self.ingest.last_ms
        span = "-" if first is None or last is None else f"{iso_z(first)} .. {iso_z(last)}"
        lines += [("time range", span), ("distance driven", f"{self.distance_m / 1000:.1f} km")]
        filled = sum(1 for s in self.stops if s.filled_in)
        lines.append(("stops visited", f"{len(self.stops)}" + (f" ({filled} filled in by this dock)" * bool(filled))))
        if self.problem:
            lines.append(("stopped early", f"{self.problem}; what was read is stored, dock again to finish"))
        if self.cancelled:
            lines.append(("cancelled", "what was read is stored; dock again to finish"))
        lines.append(("unit memory", "erased" if self.erased else (self.note or "kept")))
        return lines


def stops_visited(engine: Engine, vehicle_id: int | None, first_ms: int | None,
                  last_ms: int | None) -> list[VisitedStop]:
    """The stops of the vehicle's routes that the track shows arriving at, in time order."""
    if vehicle_id is None or first_ms is None or last_ms is None:
        return []
    with Session(engine) as s:
        rows = s.execute(
            select(Stop, Route.service_date).join(Route, Route.id == Stop.route_id)
            .where(Route.vehicle_id == vehicle_id, Stop.arrived_ms.between(first_ms, last_ms))
            .order_by(Stop.arrived_ms)
        ).all()
        by_dock = set(s.scalars(
            select(OrderEvent.stop_id).where(OrderEvent.stop_id.in_([stop.id for stop, _ in rows]),
                                             OrderEvent.type == "arrived", OrderEvent.source == "dock")
        ))
        return [VisitedStop(day, stop.sequence, stop.order_id, stop.address, stop.arrived_ms, stop.departed_ms,
                            stop.id in by_dock) for stop, day in rows if stop.arrived_ms is not None]
