"""`fleet-desk lookup`: a customer's order found by tracking number, phone or name, on a day replayed up to now."""

from __future__ import annotations

import json

from fleet_desk.cli import main
from fleet_desk.depot import Depot
from fleet_desk.settings import Settings
from fleet_desk.sim.day import DayTrouble
from fleet_desk.store import open_database
from tests.helpers.days import day_so_far, first_open_stop


def test_lookup_command_line_text_and_json(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'depot.db'}"
    engine = open_database(url)
    day_so_far(engine, Depot(engine, Settings()).tracker, tmp_path, 1, DayTrouble(late_departure_s=3600), 50)
    stop = first_open_stop(engine, "R02")
    engine.dispose()
    assert main(["--db", url, "lookup", stop.tracking_number]) == 0
    out = capsys.readouterr().out
    assert "Not yet out for delivery" in out or "Out for delivery" in out
    assert "late departure from the depot" in out and stop.phone not in out
    assert main(["--db", url, "lookup", "0" + stop.phone.replace(" ", "")[3:], "--format", "json"]) == 0
    matches = json.loads(capsys.readouterr().out)
    first = matches[0]
    assert first["order_id"] == stop.order_id and first["delay"]["reason"].startswith("late departure")
    assert set(first) >= {"order_id", "tracking_number", "customer_name", "status", "stops_before", "eta", "window",
                          "delay", "vehicle", "timeline"}
    assert first["vehicle"]["label"] == "Van 2" and first["vehicle"]["fix_age_s"] < 60
    assert first["timeline"][0]["type"] in ("confirmed", "delayed")
    assert main(["--db", url, "lookup", "nobody-by-this-name"]) == 1
    assert "no order matches" in capsys.readouterr().err
