"""Why a stop will be late, in words a dispatcher (and, shortened, a customer) understands.

The causes are weighed by the minutes each one costs and the biggest is
named: a late departure from the depot, a long stop earlier on the route,
or driving slower than planned. When none stands out the route is simply
behind its plan.

A reason follows the day: its figures are those of now ("33 min after the
planned start", not the 27 of when it was first flagged), but it is not
rewritten for every small wobble (`revised_reason`): the cause named stays
until another costs clearly more, and its figures are brought up to date
once they have moved by a couple of minutes (or km/h).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fleet_desk.tracking.rules import TrackingRules
from fleet_desk.tracking.state import StopState

SIGNIFICANT_S = 5 * 60  # a cause must cost at least this much to be named
SWITCH_S = 5 * 60  # another cause is named instead only when it costs this much more
FIGURE_STEP = 2  # a reason's figures are brought up to date once one has moved by this much
BEHIND = "running behind the planned schedule"
_NUMBER = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class DelayCause:
    """One cause of a stop's delay: what it is (``kind``: "departure", "stop 4", "traffic"), what it costs
    (seconds) and how it reads."""

    kind: str
    cost_s: float
    text: str


def delay_causes(planned_start_ms: int | None, departed_ms: int | None, now_ms: int, stops: Sequence[StopState],
                 late_stop: StopState, speed_mps: float, rules: TrackingRules) -> list[DelayCause]:
    """What makes ``late_stop`` late, as of ``now_ms``, biggest first; only causes that cost at least
    `SIGNIFICANT_S`. ``stops``: the route's, in sequence."""
    causes: list[DelayCause] = []
    if planned_start_ms is not None:
        left = departed_ms if departed_ms is not None else now_ms
        late_start = (left - planned_start_ms) / 1000
        if late_start > 0:
            still = " (still at the depot)" if departed_ms is None else ""
            causes.append(DelayCause("departure", late_start,
                                     f"late departure from the depot, {round(late_start / 60)} min after "
                                     f"the planned start{still}"))
    for stop in stops:
        arrived = stop.arrived_ms
        if stop.sequence >= late_stop.sequence or arrived is None:
            continue
        end = stop.departed_ms if stop.departed_ms is not None else now_ms
        extra = (end - arrived) / 1000 - stop.plan.service_s
        if extra > 0:
            causes.append(DelayCause(f"stop {stop.sequence}", extra,
                                     f"a long stop earlier on the route (stop {stop.sequence}: "
                                     f"{round((end - arrived) / 60000)} min instead of "
                                     f"{round(stop.plan.service_s / 60)})"))
    if speed_mps < rules.default_speed_mps * 0.85:
        # Minutes lost so far are unknown here; weigh it by how much slower the rest of the day will be.
        share = 1 - speed_mps / rules.default_speed_mps
        causes.append(DelayCause("traffic", share * 3600,
                                 f"slower traffic than planned ({speed_mps * 3.6:.0f} km/h against "
                                 f"{rules.default_speed_mps * 3.6:.0f})"))
    return sorted((c for c in causes if c.cost_s >= SIGNIFICANT_S), key=lambda c: (-c.cost_s, c.text))


def delay_reason(planned_start_ms: int | None, departed_ms: int | None, now_ms: int, stops: Sequence[StopState],
                 late_stop: StopState, speed_mps: float, rules: TrackingRules) -> str:
    """The biggest cause of ``late_stop``'s delay, in words; ``stops``: the route's, in sequence."""
    causes = delay_causes(planned_start_ms, departed_ms, now_ms, stops, late_stop, speed_mps, rules)
    return causes[0].text if causes else BEHIND


def cause_kind(reason: str | None) -> str | None:
    """The kind of cause a reason's words name ("departure", "stop 4", "traffic", "behind"); None for any other
    (a silent unit, or a reason of an older version)."""
    if not reason:
        return None
    if reason.startswith("late departure from the depot"):
        return "departure"
    if reason.startswith("a long stop earlier on the route (stop "):
        number = _NUMBER.search(reason)
        return f"stop {number.group()}" if number else None
    if reason.startswith("slower traffic than planned"):
        return "traffic"
    if reason == BEHIND:
        return "behind"
    return None


def revised_reason(current: str | None, causes: Sequence[DelayCause]) -> str:
    """The reason to show now, given the one shown (``current``) and today's ``causes`` (as `delay_causes`
    gives them): the same cause while it still counts and no other costs `SWITCH_S` more; its words
    rewritten only when a figure moved by `FIGURE_STEP` or more (or it went from "still at the depot" to
    left), so the reason follows the day without flickering."""
    best = causes[0] if causes else DelayCause("behind", 0.0, BEHIND)
    kind = cause_kind(current)
    same = next((c for c in causes if c.kind == kind), None)
    if same is None or best.cost_s > same.cost_s + SWITCH_S:
        return best.text if current is None or best.kind != kind or _moved(current, best.text) else current
    return same.text if current is None or _moved(current, same.text) else current


def _moved(old: str, new: str) -> bool:
    """Whether ``new`` says something materially different from ``old`` (same kind of cause)."""
    if old == new:
        return False
    a, b = _NUMBER.findall(old), _NUMBER.findall(new)
    if len(a) != len(b) or _NUMBER.sub("#", old) != _NUMBER.sub("#", new):
        return True  # other words: e.g. it has left the depot
    return any(abs(int(x) - int(y)) >= FIGURE_STEP for x, y in zip(a, b, strict=True))
