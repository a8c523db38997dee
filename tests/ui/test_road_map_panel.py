"""The Routes panel's models say what ETAs rest on: the road map or the straight line, and the service time."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt

from fleet_desk.tracking.board import RouteView, StopView
from fleet_desk.ui.models.routes import RoutesModel, StopsModel, etas_summary

TIP = Qt.ItemDataRole.ToolTipRole


def stop(number: int, service_s: float | None, basis: str | None) -> StopView:
    """An open stop with the service time ETAs count on there."""
    start = 1_700_000_000_000 + number * 600_000
    return StopView(number, number, f"ORD-{number}", f"TRK-{number}", f"Customer {number}", "Mannerheimintie 1",
                    60.17, 24.94, start, start + 3_600_000, None, "pending", None, None, None, None, None, False,
                    None, None, None, service_s, basis)


def route(number: int, basis: str | None, straight_legs: int | None) -> RouteView:
    """An active route whose ETAs rest on ``basis``."""
    return RouteView(number, f"R{number:02d}", "2024-05-02", number, f"Van {number}", None, "active", None, None,
                     None, (stop(1, 360.0, "this address"),), basis, straight_legs)


def test_each_route_says_what_its_etas_rest_on(qapp: object) -> None:
    model = RoutesModel(lambda: None)
    model.set_rows([route(1, "roads (Helsinki)", 0), route(2, "roads (Helsinki)", 2), route(3, "straight line", None),
                    route(4, None, None)])
    column = model.COLUMNS.index("ETAs on")
    texts = [model.index(r, column).data() for r in range(4)]
    assert texts == ["roads", "roads · 2 straight", "straight line", ""]  # compact; the tooltip names the map
    assert "ETAs: roads (Helsinki)" in model.index(0, column).data(TIP)
    assert "driving times along the streets" in model.index(0, column).data(TIP)
    assert "2 legs could not be routed on the road map" in model.index(1, column).data(TIP)
    assert "No road map is in use" in model.index(2, column).data(TIP)
    assert model.index(3, column).data(TIP) is None  # the tracker has not said yet
    # The next ETA's tooltip says it too.
    assert model.index(1, model.COLUMNS.index("Next ETA")).data(TIP) == model.index(1, column).data(TIP)
    # A route with legs on the straight line stands out.
    assert model.index(1, column).data(Qt.ItemDataRole.ForegroundRole) is not None
    assert model.index(0, column).data(Qt.ItemDataRole.ForegroundRole) is None


def test_the_panel_summary_names_the_basis_and_the_straight_legs() -> None:
    assert etas_summary([route(1, "roads (Helsinki)", 0)]) == "ETAs on roads (Helsinki)."
    assert etas_summary([route(1, "roads (Helsinki)", 1), route(2, "roads (Helsinki)", 2)]) == \
        "ETAs on roads (Helsinki) (3 legs on the straight line, off the road map's streets)."
    assert etas_summary([route(1, "straight line", None)]) == "ETAs on straight line (no road map: Tools > Road map)."
    assert etas_summary([route(1, None, None)]) == ""


def test_the_stops_table_has_a_service_column(qapp: object) -> None:
    model = StopsModel(lambda: None)
    model.set_rows([stop(1, 360.0, "this address"), stop(2, 250.0, "depot median"), stop(3, None, None),
                    stop(4, 300.0, None)])
    column = model.COLUMNS.index("Service")
    assert column == model.SERVICE
    assert [model.index(r, column).data() for r in range(4)] == ["6 min", "4 min", "", "5 min"]  # why: the tooltip
    assert model.index(0, column).data(TIP) == \
        "ETAs count 6.0 min at this stop: the median of earlier deliveries to this address"
    assert "the depot's median stop" in model.index(1, column).data(TIP)
    assert model.index(2, column).data(TIP) is None
    # The columns after it moved along: status and lateness still where the model says.
    late = replace(stop(5, 120.0, "manifest"), late=True, delay_minutes=7, delay_reason="traffic (1.5x)")
    model.set_rows([late])
    assert model.index(0, model.STATUS).data() == "to do" and model.index(0, model.LATE).data() == "+7 min traffic"
