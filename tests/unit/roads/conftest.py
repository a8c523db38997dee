"""Each road-map test builds into a road maps folder of its own."""

from __future__ import annotations

import pytest

from fleet_desk.roads.library import ENV_DIR


@pytest.fixture(autouse=True)
def _own_roads_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_DIR, str(tmp_path / "data"))
