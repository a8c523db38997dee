"""Where the tests find the project and the recorded hardware data.

``../shared/testdata`` sits beside the clone (the repository root's parent), not inside it.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT.parent / "shared" / "testdata"
NMEA_LOGS = sorted((TESTDATA / "nmea-receivers").glob("*.log"))
