"""A manifest imported in the app on an installation with a road map: each stop the map cannot route is named
in the message bar, with why."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from fleet_desk.roads.library import ENV_DIR
from tests.helpers.desk import close_window, open_window
from tests.helpers.roadmaps import install_map, manifest_across_the_town


def test_stops_the_road_map_cannot_route_are_named_in_the_message_bar(qtbot: QtBot, tmp_path: Path,
                                                                      monkeypatch) -> None:
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "data"))
    install_map("town")
    path = manifest_across_the_town(tmp_path / "day.csv")
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
