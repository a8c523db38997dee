"""A manifest imported in the app on an installation with a road map: each stop the map cannot route is named
in the message bar, with why."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from fleet_desk.roads.library import ENV_DIR
from tests.helpers.desk import close_window, open_window
from tests.helpers.roadmaps import ISLAND, OUTSIDE, TOWN_EAST, TOWN_WEST, install_map


def test_stops_the_road_map_cannot_route_are_named_in_the_message_bar(qtbot: QtBot, tmp_path: Path,
                                                                      monkeypatch) -> None:
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "data"))
    install_map("town")
    rows = ["route_id,vehicle,stop_sequence,order_id,tracking_number,customer_name,address,lat,lon,"
            "window_start,window_end"]
    for sequence, (lat, lon) in enumerate((TOWN_EAST, ISLAND, TOWN_WEST, OUTSIDE), start=1):
        rows.append(f"R1,Van 1,{sequence},ORD-{sequence},T-{sequence},A. Client,{sequence} Mill Street,{lat},{lon},"
                    "2026-11-20T09:00:00+00:00,2026-11-20T10:00:00+00:00")
    path = tmp_path / "day.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}")
    try:
        assert window.depot.road_map is not None
        window.import_manifest(path)
        qtbot.waitUntil(lambda: any("4 stops" in t for t in window.message_bar.texts()), timeout=15000)
        named = [t for t in window.message_bar.texts() if "use the straight line" in t]
        assert len(named) == 2
        assert any("stop 2 of R1 (ORD-2, 2 Mill Street)" in t and "not connected" in t for t in named)
        assert any("stop 4 of R1 (ORD-4, 4 Mill Street)" in t and "outside the road map's area" in t for t in named)
        # The customer lookup's small map draws the same streets where tiles cannot load.
        view = window.show_lookup("ORD-1")
        assert view.map.road_map is not None and view.map.road_map == window.depot.road_info
    finally:
        close_window(window, engine)
