"""Why a stop will be late, in words a dispatcher (and, shortened, a customer) understands.

The causes are weighed by the minutes each one costs and the biggest is
named: a late departure from the depot, a long stop earlier on the route,
or driving slower than planned. When none stands out the route is simply
behind its plan.
"""

from __future__ import annotations

from collections.abc import Sequence

from fleet_desk.tracking.rules import TrackingRules
from fleet_desk.tracking.state import StopState

SIGNIFICANT_S = 5 * 60  # a cause must cost at least this much to be named


def delay_reason(planned_start_ms: int | None, departed_ms: int | None, now_ms: int, stops: Sequence[StopState],
                 late_stop: StopState, speed_mps: float, rules: TrackingRules) -> str:
    """The biggest cause of ``late_stop``'s delay, in words; ``stops``: the route's, in sequence."""
    causes: list[tuple[float, str]] = []
    if planned_start_ms is not None:
        left = departed_ms if departed_ms is not None else now_ms
        late_start = (left - planned_start_ms) / 1000
        if late_start > 0:
            still = " (still at the depot)" if departed_ms is None else ""
            causes.append((late_start, f"late departure from the depot, {round(late_start / 60)} min after "
                                       f"the planned start{still}"))
    for stop in stops:
        arrived = stop.arrived_ms
        if stop.sequence >= late_stop.sequence or arrived is None:
            continue
        end = stop.departed_ms if stop.departed_ms is not None else now_ms
        extra = (end - arrived) / 1000 - stop.plan.service_s
        if extra > 0:
            causes.append((extra, f"a long stop earlier on the route (stop {stop.sequence}: "
                                  f"{round((end - arrived) / 60000)} min instead of "
                                  f"{round(stop.plan.service_s / 60)})"))
    if speed_mps < rules.default_speed_mps * 0.85:
        # Minutes lost so far are unknown here; weigh it by how much slower the rest of the day will be.
        share = 1 - speed_mps / rules.default_speed_mps
        causes.append((share * 3600, f"slower traffic than planned ({speed_mps * 3.6:.0f} km/h against "
                                     f"{rules.default_speed_mps * 3.6:.0f})"))
    causes = [c for c in causes if c[0] >= SIGNIFICANT_S]
    if not causes:
        return "running behind the planned schedule"
    return max(causes)[1]
