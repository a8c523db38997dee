"""The PyInstaller bundle: built from installer.spec, it runs the demo and takes its screenshot.

Marked slow (about a minute to build, in the background while the rest of the suite runs: see
tests/integration/conftest.py); `pytest -m "not slow"` leaves it out while iterating.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests.helpers.bundle import BundleBuild


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

    # Run from elsewhere, so nothing can come from the checkout.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = "/usr/bin:/bin"
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
