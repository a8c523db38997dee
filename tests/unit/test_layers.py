"""The core runs with Qt blocked: gps, store, tracking and drivers import no Qt."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers.paths import ROOT

BLOCK_QT = """
import sys
class BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'shiboken6'):
            raise ImportError('Qt imported by the core: ' + name)
sys.meta_path.insert(0, BlockQt())
import fleet_desk.gps, fleet_desk.store, fleet_desk.ingest.pipeline, fleet_desk.ingest.live, fleet_desk.store.export
import fleet_desk.sim.vans, fleet_desk.cli, drivers.nmea, drivers.base
import fleet_desk.fleet.vehicles, fleet_desk.fleet.watch, fleet_desk.settings, fleet_desk.logs, fleet_desk.messages
import fleet_desk.sim.demo, fleet_desk.store.units, drivers.hub
import fleet_desk.tracking.manifest, fleet_desk.tracking, fleet_desk.tracking.routes, fleet_desk.tracking.board
import fleet_desk.clock, fleet_desk.push.sender, fleet_desk.push.endpoint, fleet_desk.sim.day
print('ok')
"""


def test_core_imports_without_qt():
    done = subprocess.run([sys.executable, "-c", BLOCK_QT], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
