"""The fleet watch supervises itself, on both backends: a read that raises something nobody expected, or a
report of changes that raises, is told once and the watch goes on reporting vehicles."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from fleet_desk.fleet import watch as watch_module
from fleet_desk.fleet.vehicles import FleetVehicle
from fleet_desk.fleet.watch import FleetWatch, load_fleet
from fleet_desk.gps.fix import Fix
from fleet_desk.store import PositionWriter, ensure_device
from tests.helpers.waiting import wait_until


def _store_fix(engine: Engine, vehicle: str, lat: float) -> None:
    ref = ensure_device(engine, f"unit {vehicle}", vehicle)
    PositionWriter(engine, ref, "live").write([Fix(datetime.now(UTC), lat, 24.94, 7.5)])


def _seen(reports: list[list[FleetVehicle]]) -> dict[str, float | None]:
    """Each vehicle's latest latitude, as the watch's reports have said it so far."""
    out: dict[str, float | None] = {}
    for changed in reports:
        out.update({v.vehicle: v.lat for v in changed})
    return out


def test_a_read_that_raises_is_told_once_and_the_watch_goes_on(engine, monkeypatch):
    """Fault injection: the watch's first three reads raise RuntimeError."""
    _store_fix(engine, "Van 1", 60.17)
    reads = 0

    def failing_load(engine: Engine) -> list[FleetVehicle]:
        nonlocal reads
        reads += 1
        if reads <= 3:
            raise RuntimeError("injected read fault")
        return load_fleet(engine)

    monkeypatch.setattr(watch_module, "load_fleet", failing_load)
    reports: list[list[FleetVehicle]] = []
    errors: list[str] = []
    watch = FleetWatch(engine, on_change=lambda changed, removed: reports.append(changed), on_error=errors.append,
                       interval_s=0.1)
    watch.start()
    try:
        wait_until(lambda: _seen(reports).get("Van 1") == 60.17, state=lambda: (reads, errors))
        _store_fix(engine, "Van 2", 60.18)
        watch.poll_now()
        wait_until(lambda: _seen(reports).get("Van 2") == 60.18, state=lambda: (reads, errors))
    finally:
        watch.stop()
    assert reads > 3
    assert errors == ["Reading the fleet from the database failed (RuntimeError: injected read fault); retrying."]


def test_a_report_that_raises_is_told_once_and_every_vehicle_is_reported_again(engine):
    """Fault injection: the first two reports of changes raise RuntimeError; what they carried is not lost."""
    _store_fix(engine, "Van 1", 60.17)
    reports: list[list[FleetVehicle]] = []
    errors: list[str] = []

    def on_change(changed: list[FleetVehicle], removed: list[int]) -> None:
        reports.append(changed)
        if len(reports) <= 2:
            raise RuntimeError("injected report fault")

    watch = FleetWatch(engine, on_change=on_change, on_error=errors.append, interval_s=0.1)
    watch.start()
    try:
        wait_until(lambda: len(reports) >= 3, state=lambda: errors)
        assert _seen(reports[2:]) == {"Van 1": 60.17}  # told again in full after the failed reports
        _store_fix(engine, "Van 1", 60.19)
        watch.poll_now()
        wait_until(lambda: _seen(reports).get("Van 1") == 60.19, state=lambda: errors)
    finally:
        watch.stop()
    assert errors == ["Showing the fleet's changes failed (RuntimeError: injected report fault); retrying."]
