"""What this depot has learned from its own history, for ETAs: circuity, traffic by hour, dwell, window spread.

Read from the database (the driven legs the tracker records at each
arrival, the stops' arrival and departure times, the ETA history) by
`learn`, on the connection of the transaction the tracker runs in; the
tracker learns again every little while and when a new service day starts.
Every figure has a floor of samples below which the rule of thumb stands.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, select

from fleet_desk.store.models import DrivenLeg, EtaPrediction, Stop
from fleet_desk.tracking.eta import Spread
from fleet_desk.tracking.rules import TrackingRules

HISTORY_DAYS = 56  # learn from the last eight weeks
MIN_LEGS = 5  # driven legs before the circuity or a traffic factor counts
MIN_DWELLS = 10  # visits before the depot's median dwell counts
EXIT_ACCELERATION = 1.5  # m/s²: a van pulling away, to tell the time it stood from the time it took to leave
PRIOR_VISITS = 2  # an address's or customer's few visits are weighed against the depot's median as this many
MIN_ERRORS = 40  # measured errors in a horizon bucket before its window is calibrated
MAX_ROWS = 20_000  # the newest rows of each kind are plenty

#: Where a stop's service time comes from, most specific first.
THIS_ADDRESS, THIS_CUSTOMER, DEPOT_MEDIAN, MANIFEST, DEFAULT = (
    "this address", "this customer", "depot median", "manifest", "default")


@dataclass(frozen=True)
class Learned:
    """The depot's learned figures (empty: nothing learned yet, the rules of thumb stand)."""

    circuity: float | None = None  # driven over straight-line distance between consecutive stops
    traffic_by_hour: dict[int, float] = field(default_factory=dict)  # local hour -> real / free-flow time
    traffic: float | None = None  # the same over all hours
    dwell_by_address: dict[tuple[str, float, float], float] = field(default_factory=dict)  # seconds at the stop
    dwell_by_customer: dict[str, float] = field(default_factory=dict)
    depot_dwell: float | None = None
    spread: Spread = field(default_factory=Spread)

    def traffic_at(self, hour: int) -> float | None:
        """The fleet's real over free-flow driving time at this hour of the day (else over all hours)."""
        return self.traffic_by_hour.get(hour, self.traffic)

    def service(self, address: str, lat: float, lon: float, customer: str | None, planned_s: float,
                rules: TrackingRules) -> tuple[float, str]:
        """A stop's expected service time and where it comes from: the same address before, else the same
        customer, else the depot's median, else the manifest's, else the default."""
        if (dwell := self.dwell_by_address.get(address_key(address, lat, lon))) is not None:
            return dwell, THIS_ADDRESS
        if customer and (dwell := self.dwell_by_customer.get(customer)) is not None:
            return dwell, THIS_CUSTOMER
        if self.depot_dwell is not None:
            return self.depot_dwell, DEPOT_MEDIAN
        return planned_s, DEFAULT if planned_s == rules.service_s else MANIFEST


def address_key(address: str, lat: float, lon: float) -> tuple[str, float, float]:
    """An address as compared across days: case and spacing do not matter, and the same words ~100 m apart
    are another place (a street name found in two towns)."""
    return " ".join(address.casefold().split()), round(lat, 3), round(lon, 3)


def customer_key(phone_key: str | None, email_key: str | None, name: str) -> str:
    """Who a customer is across orders: the phone, else the e-mail, else the name."""
    return phone_key or email_key or " ".join(name.casefold().split())


def learn(conn: Connection, now_ms: int, rules: TrackingRules) -> Learned:
    """What the last `HISTORY_DAYS` of this depot's history say."""
    since = now_ms - HISTORY_DAYS * 86_400_000
    circuity, traffic_by_hour, traffic = _legs(conn, since, rules)
    by_address, by_customer, depot_dwell = _dwells(conn, since, rules)
    return Learned(circuity, traffic_by_hour, traffic, by_address, by_customer, depot_dwell,
                   _spread(conn, since))


def _legs(conn: Connection, since: int, rules: TrackingRules) -> tuple[float | None, dict[int, float], float | None]:
    rows = conn.execute(
        select(DrivenLeg.departed_ms, DrivenLeg.arrived_ms, DrivenLeg.driven_m, DrivenLeg.straight_m, DrivenLeg.road_s)
        .where(DrivenLeg.arrived_ms >= since).order_by(DrivenLeg.arrived_ms.desc()).limit(MAX_ROWS)
    ).all()
    ratios = [min(3.0, max(1.0, r.driven_m / r.straight_m)) for r in rows if r.straight_m >= 300]
    circuity = statistics.median(ratios) if len(ratios) >= MIN_LEGS else None
    by_hour: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        if r.road_s is not None and r.road_s >= 60:
            hour = datetime.fromtimestamp(r.departed_ms / 1000, rules.timezone).hour
            by_hour[hour].append(min(4.0, max(0.5, (r.arrived_ms - r.departed_ms) / 1000 / r.road_s)))
    every = [x for xs in by_hour.values() for x in xs]
    traffic = statistics.median(every) if len(every) >= MIN_LEGS else None
    return circuity, {h: statistics.median(xs) for h, xs in by_hour.items() if len(xs) >= MIN_LEGS}, traffic


Dwells = tuple[dict[tuple[str, float, float], float], dict[str, float], float | None]


def _dwells(conn: Connection, since: int, rules: TrackingRules) -> Dwells:
    rows = conn.execute(
        select(Stop.address, Stop.lat, Stop.lon, Stop.phone_key, Stop.email_key, Stop.customer_name, Stop.arrived_ms,
               Stop.departed_ms, Stop.radius_m)
        .where(Stop.status == "delivered", Stop.arrived_ms >= since, Stop.departed_ms.is_not(None))
        .order_by(Stop.arrived_ms.desc()).limit(MAX_ROWS)
    ).all()
    by_address: dict[tuple[str, float, float], list[float]] = defaultdict(list)
    by_customer: dict[str, list[float]] = defaultdict(list)
    every = []
    for r in rows:
        # A stop is departed once the van is out of its radius and margin: the drive out is part of the next
        # leg's road time, so it is taken off what the van spent there.
        exit_m = (r.radius_m or rules.stop_radius_m) + rules.exit_margin_m
        exit_s = math.sqrt(2 * exit_m / EXIT_ACCELERATION)
        dwell = min(3 * 3600.0, max(0.0, (r.departed_ms - r.arrived_ms) / 1000 - exit_s))
        every.append(dwell)
        by_address[address_key(r.address, r.lat, r.lon)].append(dwell)
        by_customer[customer_key(r.phone_key, r.email_key, r.customer_name)].append(dwell)
    depot = statistics.median(every) if len(every) >= MIN_DWELLS else None

    def estimate(visits: list[float]) -> float:
        """The median of a place's visits, pulled towards the depot's while they are few (one long stop
        there once is not what every visit will take)."""
        if depot is None:
            return statistics.median(visits)
        return (statistics.median(visits) * len(visits) + depot * PRIOR_VISITS) / (len(visits) + PRIOR_VISITS)

    return ({k: estimate(v) for k, v in by_address.items()}, {k: estimate(v) for k, v in by_customer.items()},
            depot)


def _spread(conn: Connection, since: int) -> Spread:
    rows = conn.execute(
        select(EtaPrediction.predicted_at_ms, EtaPrediction.eta_ms, Stop.arrived_ms)
        .join(Stop, Stop.id == EtaPrediction.stop_id)
        .where(Stop.arrived_ms.is_not(None), EtaPrediction.predicted_at_ms >= since,
               EtaPrediction.predicted_at_ms < Stop.arrived_ms)
        .order_by(EtaPrediction.predicted_at_ms.desc()).limit(MAX_ROWS)
    ).all()
    errors: dict[int, list[float]] = defaultdict(list)
    for r in rows:
        ahead_s = (r.eta_ms - r.predicted_at_ms) / 1000
        errors[Spread.bucket(max(0.0, ahead_s))].append((r.arrived_ms - r.eta_ms) / 1000)
    quantiles = {}
    for bucket, errs in errors.items():
        if len(errs) >= MIN_ERRORS:
            deciles = statistics.quantiles(errs, n=10)
            quantiles[bucket] = (deciles[0], deciles[-1])
    return Spread(quantiles)
