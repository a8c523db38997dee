"""The PyInstaller bundle: built from installer.spec, it runs the demo and takes its screenshot, and it carries
the road engine: osrm-bindings' native module, its graph tools and car profile, and osmium, with which the
bundled app imports central Helsinki as its road map and the bundled demo builds its town's and drives on it.

Marked slow (about a minute to build, in the background while the rest of the suite runs: see
tests/integration/conftest.py); `pytest -m "not slow"` leaves it out while iterating.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.helpers.bundle import BundleBuild
from tests.helpers.roadmaps import helsinki_pbf


@pytest.mark.slow
def test_bundle_builds_and_runs_the_demo(bundle_build: BundleBuild, tmp_path: Path) -> None:
    code, said = bundle_build.finish(timeout=900)
    assert code == 0, said[-3000:]
    app = bundle_build.app
    assert app.is_file()
    bundled = app.parent / "_internal"
    assert (bundled / "resources" / "map" / "fleet_map.js").is_file()
    assert (bundled / "resources" / "icons" / "fleet-desk.svg").is_file()
    assert list((bundled / "migrations" / "versions").glob("0001_*.py"))
    assert list(bundled.glob("xstatic/pkg/leaflet/data/leaflet.js"))
    _the_road_engine_is_inside(bundled)

    # Run from elsewhere, so nothing can come from the checkout; logs and the demo's road map in folders of
    # this test's own, to read back.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = "/usr/bin:/bin"
    env["FLEET_DESK_LOG_DIR"] = str(tmp_path / "logs")
    env["FLEET_DESK_CACHE_DIR"] = str(tmp_path / "cache")
    env["FLEET_DESK_DATA_DIR"] = str(tmp_path / "data")
    db = tmp_path / "depot.db"
    upgrade = subprocess.run([str(app), "--db", f"sqlite:///{db}", "db", "upgrade"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    assert db.stat().st_size > 0

    shot = tmp_path / "shot.png"
    run = subprocess.run([str(app), "--demo", "--screenshot", str(shot), "--after", "60"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "vehicles on the map" in run.stderr
    image = QImage(str(shot))
    assert not image.isNull() and image.width() >= 800

    # The demo's vans drive a road map the bundle built (osmium read the town, the bundled osrm-extract,
    # -partition and -customize made the graph with the bundled car.lua) and opened (import osrm, MLD).
    log = (tmp_path / "logs" / "fleet-desk.log").read_text(encoding="utf-8")
    assert "drive straight lines" not in log, log[-3000:]
    assert "demo town's road map built" in log, log[-3000:]
    graphs = list((tmp_path / "cache" / "demo-roads").glob("town-*/map.osrm.mldgr"))
    assert len(graphs) == 1 and graphs[0].stat().st_size > 0

    # `roads import` of a real extract (osmium reads it, the bundled tools build it) and `roads status`.
    imported = subprocess.run([str(app), "roads", "import", str(helsinki_pbf())], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stdout[-2000:] + imported.stderr[-2000:]
    status = subprocess.run([str(app), "roads", "status", "--format", "json"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert status.returncode == 0, status.stderr[-2000:]
    in_use = json.loads(status.stdout)["map"]
    assert in_use["name"] == "Helsinki", in_use
    folder = Path(in_use["directory"])
    assert folder.is_relative_to(tmp_path / "data") and (folder / "map.osrm.mldgr").stat().st_size > 0


def _the_road_engine_is_inside(bundled: Path) -> None:
    """osrm's native module, its graph tools (executable) and its car profile with the Lua it loads, and
    osmium's native modules."""
    osrm = bundled / "osrm"
    assert list(osrm.glob("osrm_ext*.so")), sorted(p.name for p in osrm.iterdir())
    for tool in ("osrm-extract", "osrm-partition", "osrm-customize"):
        assert os.access(osrm / "bin" / tool, os.X_OK), f"{tool} missing or not executable in the bundle"
    car = osrm / "share" / "profiles" / "car.lua"
    assert car.is_file() and (car.parent / "lib" / "way_handlers.lua").is_file()
    assert list((bundled / "osmium").glob("_osmium*.so"))
