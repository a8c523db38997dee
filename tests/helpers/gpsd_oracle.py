"""gpsd's expected fixes for a recorded log, read from its ``.chk`` file.

The last TPV of an epoch that has a time, mode >= 2, lat and lon is gpsd's
fix for that epoch (see ../shared/testdata/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path


def gpsd_fixes(chk: Path) -> dict[str, tuple[float, float]]:
    fixes: dict[str, tuple[float, float]] = {}
    for raw in chk.read_bytes().splitlines():
        if not raw.startswith(b'{"class":"TPV"'):
            continue
        tpv = json.loads(raw)
        if "time" in tpv and tpv.get("mode", 0) >= 2 and "lat" in tpv and "lon" in tpv:
            fixes[tpv["time"]] = (tpv["lat"], tpv["lon"])
    return fixes
