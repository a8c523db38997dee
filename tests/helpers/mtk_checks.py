"""Checks on the MTK decoder shared by its tests and its fuzzing."""

from __future__ import annotations

import pytest

from fleet_desk.gps import mtk
from fleet_desk.gps.mtk import MtkPoint, MtkStats


def decoded_both_ways(memory: bytes, holux: bool | None = None) -> tuple[list[MtkPoint], MtkStats]:
    """Decoded in numpy runs and record by record; asserts both give the same points and counts."""
    fast_stats, slow_stats = MtkStats(), MtkStats()
    fast = list(mtk.decode(memory, holux, stats=fast_stats))
    with pytest.MonkeyPatch.context() as m:
        m.setattr(mtk, "_record_dtype", lambda *layout: None)  # every record through `_record`
        slow = list(mtk.decode(memory, holux, stats=slow_stats))
    assert fast == slow and fast_stats == slow_stats
    return fast, fast_stats
