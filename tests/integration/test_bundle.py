"""The PyInstaller bundle: built from installer.spec, it runs the demo and takes its screenshot.

Marked slow (about a minute to build); it runs with the rest of the suite,
`pytest -m "not slow"` leaves it out while iterating.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtGui import QImage

from tests.helpers.paths import ROOT


@pytest.mark.slow
def test_bundle_builds_and_runs_the_demo(tmp_path):  # noqa: ANN001
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath", str(dist),
         "--workpath", str(tmp_path / "build"), str(ROOT / "installer.spec")],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    app = dist / "fleet-desk" / "fleet-desk"
    assert app.is_file()
    bundled = dist / "fleet-desk" / "_internal"
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
