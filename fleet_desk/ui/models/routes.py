"""The Routes panel's models: the day's routes with progress and an on-time or late badge; one route's stops."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from fleet_desk.clock import now_ms
from fleet_desk.ui.models.rows import RowsModel
from fleet_desk.ui.style import BADGE_COLORS

if TYPE_CHECKING:  # the database layer loads after the window shows
    from fleet_desk.tracking.board import RouteView, StopView

STATUS_TEXT = {"pending": "to do", "arrived": "at stop", "delivered": "delivered", "failed": "failed"}
ROUTE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex


class RoutesModel(RowsModel["RouteView"]):
    """The day's routes: progress, on time or late (and why, in the tooltip), the next stop and its ETA (or since
    when the van is at it). Sorted by the Status column, the routes that need a look come first (`urgency`)."""

    COLUMNS = ("Route", "Vehicle", "Driver", "Progress", "Status", "Next stop", "Next ETA", "ETAs on")
    STATUS, NEXT_ETA, ETAS_ON = 4, 6, 7

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        col = index.column()
        if role == ROUTE_ID_ROLE:
            return r.id
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            nxt = r.next_stop
            if col == 0:
                return r.key
            if col == 1:
                return r.vehicle
            if col == 2:
                return r.driver or ""
            if col == 3:
                share = r.planned_share(now_ms())
                if role == SORT_ROLE:
                    return r.done_count / max(1, len(r.stops))
                planned = f" · {share:.0%}" if share is not None else ""
                return f"{r.done_count}/{len(r.stops)}{planned}"
            if col == self.STATUS:
                if role == SORT_ROLE:
                    return urgency(r)
                late = r.late_stops
                return f"Late ({len(late)})" if late and r.badge() == "Late" else r.badge()
            if col == 5:
                if nxt is None:
                    return ""
                at = "at " if nxt.status == "arrived" and nxt.arrived_ms else ""
                return f"{at}#{nxt.sequence} {nxt.customer_name}"
            if col == self.NEXT_ETA:
                if role == SORT_ROLE:
                    return next_time(nxt) or 0
                return next_eta_text(nxt, now_ms(), self.hhmm)
            if col == self.ETAS_ON:
                return eta_basis_text(r)
        if role == Qt.ItemDataRole.ForegroundRole and col == self.ETAS_ON and r.straight_legs:
            return QBrush(QColor(BADGE_COLORS["Late"]))
        if role == Qt.ItemDataRole.ToolTipRole and col == self.NEXT_ETA:
            nxt = r.next_stop
            tip = eta_basis_tip(r)
            if nxt is not None and nxt.status == "arrived":
                here = at_stop_tip(r.vehicle, nxt, now_ms(), self.hhmm)
                return f"{here}\n{tip}" if tip else here
            return tip
        if role == Qt.ItemDataRole.ToolTipRole and col == self.ETAS_ON:
            return eta_basis_tip(r)
        if role == Qt.ItemDataRole.ToolTipRole and col in (1, 2, 5):
            return self.data(index)  # what elides in a narrow panel reads in full
        if role == Qt.ItemDataRole.ForegroundRole and col == self.STATUS:
            return QBrush(QColor(BADGE_COLORS.get(r.badge(), "#000000")))
        if role == Qt.ItemDataRole.ToolTipRole and col == 3:
            share = r.planned_share(now_ms())
            planned = f"; {share:.0%} of the planned working time has gone by" if share is not None else ""
            return f"{r.done_count} of {len(r.stops)} stops done{planned}"
        if role == Qt.ItemDataRole.ToolTipRole and col == self.STATUS:
            late = r.late_stops
            if r.silent_since_ms is not None:
                return f"No fix since {self.hhmm(r.silent_since_ms)}: ETAs are held, not extrapolated"
            if late:
                return "\n".join(f"#{s.sequence} {s.customer_name}: about {s.delay_minutes} min late, "
                                 f"{s.delay_reason}" for s in late)
        return None


#: The order routes come in when sorted by status: who needs a look first.
URGENCY = {"Late": 0, "GPS silent": 1, "Not started": 2, "On time": 3, "Done": 4}


def urgency(route: RouteView) -> list[int]:
    """The route's place when sorted by status: late routes first (the most late stops first), then GPS silent,
    not started, on time, done; within each, the soonest next stop first."""
    badge = route.badge()
    late = len(route.late_stops) if badge == "Late" else 0
    return [URGENCY.get(badge, len(URGENCY)), -late, next_time(route.next_stop) or 2**62]


def next_time(stop: StopView | None) -> int | None:
    """When the next stop is next on: since when the van is at it, or its ETA."""
    if stop is None:
        return None
    return stop.arrived_ms if stop.status == "arrived" and stop.arrived_ms else stop.eta_ms


def next_eta_text(stop: StopView | None, now: int, hhmm: Callable[[int | None], str]) -> str:
    """The Next ETA cell: "07:56"; "since 07:16" for a van at its next stop (the Next stop cell says "at #4 ..."; its
    ETA is past); "overdue (07:16)" for an ETA that went by without the van (held while its unit is silent)."""
    if stop is None:
        return ""
    if stop.status == "arrived" and stop.arrived_ms:
        return f"since {hhmm(stop.arrived_ms)}"
    if stop.eta_ms is None:
        return ""
    if stop.eta_ms < now - OVERDUE_MS:
        return f"overdue ({hhmm(stop.eta_ms)})"
    return hhmm(stop.eta_ms)


OVERDUE_MS = 60_000  # an ETA more than this in the past is said to be overdue, not shown as a time to come


def at_stop_tip(vehicle: str, stop: StopView, now: int, hhmm: Callable[[int | None], str]) -> str:
    """ "Van 8 has been at stop #4 (Zoé Petit) since 07:16: 12 min so far, 4 min expected"."""
    so_far = max(0, round((now - (stop.arrived_ms or now)) / 60_000))
    expected = f", {stop.expected_service_s / 60:.0f} min expected" if stop.expected_service_s else ""
    return (f"{vehicle} has been at stop #{stop.sequence} ({stop.customer_name}) since {hhmm(stop.arrived_ms)}: "
            f"{so_far} min so far{expected}")


class StopsModel(RowsModel["StopView"]):
    """One route's stops in sequence: window, ETA or arrival, status, how late and why."""

    COLUMNS = ("#", "Customer", "Window", "ETA", "Service", "Status", "Late")
    SERVICE, STATUS, LATE = 4, 5, 6

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        s = self.rows[index.row()]
        col, hhmm = index.column(), self.hhmm
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return str(s.sequence)
            if col == 1:
                return s.customer_name
            if col == 2:
                return f"{hhmm(s.window_start_ms)}–{hhmm(s.window_end_ms)}"
            if col == 3:
                if s.arrived_ms and s.status != "pending":  # at the stop or done: when it came, not an ETA
                    return f"arrived {hhmm(s.arrived_ms)}"
                if s.eta_ms is None or not s.open:
                    return ""
                return f"{hhmm(s.eta_ms)} ({hhmm(s.eta_earliest_ms)}–{hhmm(s.eta_latest_ms)})"
            if col == self.SERVICE:
                return service_text(s)
            if col == self.STATUS:
                text = STATUS_TEXT.get(s.status, s.status)
                return f"{text}: {s.failure_reason}" if s.failure_reason else text
            if col == self.LATE:
                return f"+{s.delay_minutes} min {short_reason(s.delay_reason)}" if s.open and s.late else ""
        if role == Qt.ItemDataRole.ForegroundRole and col == self.LATE and s.late:
            return QBrush(QColor(BADGE_COLORS["Late"]))
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 1:
                return f"Order {s.order_id} (tracking {s.tracking_number})\n{s.customer_name}, {s.address}"
            if col == self.SERVICE and s.expected_service_s is not None:
                return service_tip(s)
            if col == self.LATE and s.open and s.late:
                return f"About {s.delay_minutes} min late: {s.delay_reason}"
            if col == self.STATUS and s.status == "arrived" and s.arrived_ms:
                so_far = max(0, round((now_ms() - s.arrived_ms) / 60_000))
                return f"The van has been at this stop since {hhmm(s.arrived_ms)}: {so_far} min so far" + (
                    f", {s.expected_service_s / 60:.0f} min expected" if s.expected_service_s else "")
            if col == self.STATUS and s.failure_reason:
                return self.data(index)
        return None


#: A delay's reason in a few words for the Late column (the tooltip has it whole), by how the reason begins.
SHORT_REASONS = (
    (re.compile(r"late departure from the depot"), "late start"),
    (re.compile(r"a long stop earlier on the route \(stop (\d+)"), "long stop #{0}"),
    (re.compile(r"slower traffic than planned"), "slow traffic"),
    (re.compile(r"GPS unit silent since (\S+)"), "GPS silent"),
    (re.compile(r"running behind the planned schedule"), "behind plan"),
)


def short_reason(reason: str | None) -> str:
    """ "late departure from the depot, 25 min after ..." -> "late start"; "a long stop earlier on the route
    (stop 4: ...)" -> "long stop #4"; words not known: up to the first comma or bracket."""
    text = reason or ""
    for pattern, short in SHORT_REASONS:
        found = pattern.match(text)
        if found:
            return short.format(*found.groups())
    return text.split(" (")[0].split(", ")[0]


SERVICE_BASIS_TEXT = {
    "this address": "the median of earlier deliveries to this address",
    "this customer": "the median of this customer's earlier deliveries",
    "depot median": "the depot's median stop (no delivery here before)",
    "manifest": "the manifest's service_minutes (no history to learn from)",
    "default": "the default service time (no history, none in the manifest)",
}


def eta_basis_text(route: RouteView) -> str:
    """What the route's ETAs rest on, in a word or two (the tooltip and the panel's summary name the map):
    "roads", "roads · 2 straight", "straight line"; empty before the tracker has said."""
    basis = route.eta_basis or ""
    short = "roads" if basis.startswith("roads") else basis
    legs = route.straight_legs or 0
    if legs > 0:
        return f"{short} · {legs} straight" if short else f"{legs} straight"
    return short


def eta_basis_tip(route: RouteView) -> str | None:
    """The tooltip that explains `eta_basis_text`."""
    if not route.eta_basis:
        return None
    if route.straight_legs is None:
        return (f"ETAs: {route.eta_basis}. No road map is in use (Tools > Road map): the straight line, "
                "stretched by the circuity learned from the fleet's driving.")
    text = f"ETAs: {route.eta_basis}: driving times along the streets, at the van's learned traffic factor."
    if route.straight_legs:
        legs = route.straight_legs
        text += (f"\n{legs} leg{'s' if legs != 1 else ''} could not be routed on the road map (a stop outside "
                 "its area or away from its streets): the straight line for those.")
    return text


def service_text(stop: StopView) -> str:
    """ "6 min": the service time ETAs count on at the stop (where it comes from is in `service_tip`)."""
    if stop.expected_service_s is None:
        return ""
    return f"{stop.expected_service_s / 60:.0f} min"


def service_tip(stop: StopView) -> str:
    """The tooltip that explains `service_text`."""
    why = SERVICE_BASIS_TEXT.get(stop.service_basis or "", stop.service_basis or "")
    seconds = stop.expected_service_s or 0.0
    text = f"ETAs count {seconds / 60:.1f} min at this stop"
    return f"{text}: {why}" if why else text


def etas_summary(routes: list[RouteView]) -> str:
    """What the day's ETAs rest on, in a sentence for the panel's summary: "ETAs on roads (Helsinki)", with the
    legs left on the straight line; empty before the tracker has said."""
    bases = sorted({r.eta_basis for r in routes if r.eta_basis})
    if not bases:
        return ""
    legs = sum(r.straight_legs or 0 for r in routes)
    text = "ETAs on " + " and ".join(bases)
    if legs:
        text += f" ({legs} leg{'s' if legs != 1 else ''} on the straight line, off the road map's streets)"
    elif bases == ["straight line"]:
        text += " (no road map: Tools > Road map)"
    return text + "."
