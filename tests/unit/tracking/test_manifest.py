"""Manifest import: validation with line, column and reason; all or nothing; updates in place; CSV and JSON."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fleet_desk.cli import main
from fleet_desk.settings import Settings
from fleet_desk.store import open_database
from fleet_desk.store.models import Driver, OrderEvent, Route, Stop

HEADER = ("route_id,vehicle,driver,stop_sequence,order_id,tracking_number,customer_name,phone,email,address,lat,lon,"
          "window_start,window_end,service_minutes,radius_m")
GOOD = [
    "R1,Van 7,Anna Keller,1,O-1,TRK1,Élodie Martin,+33 4 12 34 56 78,e@example.com,1 rue A,45.75,4.85,"
    "2026-11-20T09:00:00+01:00,2026-11-20T11:00:00+01:00,5,150",
    "R1,Van 7,Anna Keller,2,O-2,TRK2,Zoé Dubois,,,2 rue B,45.76,4.86,10:00,12:00,,",
    "R2,Van 8,,1,O-3,TRK3,Jürgen Groß,0412345678,,3 rue C,45.77,4.87,13:00,15:00,,",
]


def _write(tmp_path, lines: list[str], name: str = "manifest.csv"):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _paris() -> None:
    settings = Settings.load()
    settings.depot_timezone = "Europe/Paris"
    settings.save()


def test_import_keeps_names_exactly_and_converts_local_times(capsys, tmp_path, db_url):
    _paris()
    path = _write(tmp_path, GOOD)
    code, out, err = _run(capsys, "--db", db_url, "manifest", "import", str(path), "--date", "2026-11-20")
    assert code == 0, err
    assert "2 routes (2 new), 3 stops (3 new, 0 updated)" in out
    engine = open_database(db_url)
    with Session(engine) as s:
        stops = {st.order_id: st for st in s.scalars(select(Stop))}
        assert stops["O-1"].customer_name == "Élodie Martin" and stops["O-3"].customer_name == "Jürgen Groß"
        assert stops["O-1"].service_s == 300 and stops["O-2"].service_s == 240  # the default: 4 min
        assert stops["O-1"].radius_m == 150 and stops["O-2"].radius_m is None  # None: the setting's 60 m
        # 10:00 in Paris on 20 November is 09:00 UTC; the ISO time with its offset is kept as given.
        assert stops["O-2"].window_start_ms == 1_795_165_200_000
        assert stops["O-1"].window_start_ms == 1_795_161_600_000
        route = s.scalar(select(Route).where(Route.route_key == "R1"))
        assert route.vehicle.name == "Van 7" and route.driver.name == "Anna Keller"
        assert route.service_date == "2026-11-20"
        assert s.scalar(select(func.count()).select_from(OrderEvent).where(OrderEvent.type == "confirmed")) == 3
    engine.dispose()


def test_bad_rows_are_named_and_nothing_is_imported_unless_skipped(capsys, tmp_path):
    db = f"sqlite:///{tmp_path / 'd.db'}"
    bad = [
        GOOD[0],
        "R1,Van 7,,2,O-2,TRK2,Zoé,,,2 rue B,,4.86,10:00,12:00,,",  # line 3: missing lat
        "R1,Van 7,,3,O-4,TRK4,Zoé,,,2 rue B,45.7,4.86,12:00,11:00,,",  # line 4: window end before start
        "R1,Van 7,,4,O-1,TRK5,Zoé,,,2 rue B,45.7,4.86,10:00,12:00,,",  # line 5: duplicate order id
        "R1,Van 7,,5,O-6,TRK6,Zoé,,,2 rue B,45.7,4.86,half past ten,12:00,,",  # line 6: unparsable time
        "R1,Van 9,,6,O-7,TRK7,Zoé,,,2 rue B,45.7,4.86,10:00,12:00,,",  # line 7: route R1 on another vehicle
        GOOD[2],
    ]
    path = _write(tmp_path, bad)
    code, out, err = _run(capsys, "--db", db, "manifest", "import", str(path), "--date", "2026-11-20")
    assert code == 1
    assert "line 3, lat: missing" in err
    assert "line 4, window_end: window end is not after its start" in err
    assert "line 5, order_id: duplicate O-1 (first on line 2)" in err
    assert "line 6, window_start: not an ISO 8601 time or HH:MM: 'half past ten'" in err
    assert "line 7, vehicle: route R1 is 'Van 7' on line 2, here 'Van 9'" in err
    assert "nothing was imported" in err
    engine = open_database(db)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Stop)) == 0

    code, out, err = _run(capsys, "--db", db, "manifest", "import", str(path), "--date", "2026-11-20",
                          "--skip-invalid")
    assert code == 0
    assert "skipped 5 invalid row(s): lines 3, 4, 5, 6, 7" in out
    with Session(engine) as s:
        assert sorted(s.scalars(select(Stop.order_id))) == ["O-1", "O-3"]
    engine.dispose()


def test_hhmm_needs_a_date_and_a_missing_column_is_named(capsys, tmp_path):
    db = f"sqlite:///{tmp_path / 'd.db'}"
    code, _, err = _run(capsys, "--db", db, "manifest", "import", str(_write(tmp_path, GOOD[1:2])))
    assert code == 1 and "line 2, window_start: '10:00' has no date: give the day with --date" in err
    path = tmp_path / "short.csv"
    path.write_text("route_id,vehicle,order_id\nR1,Van 1,O-1\n", encoding="utf-8")
    code, _, err = _run(capsys, "--db", db, "manifest", "import", str(path))
    assert code == 1
    assert "line 1 (header): missing columns stop_sequence, tracking_number" in err and "Traceback" not in err


def test_reimport_updates_in_place_and_json_reads_the_same(capsys, tmp_path):
    db = f"sqlite:///{tmp_path / 'd.db'}"
    _paris()
    assert _run(capsys, "--db", db, "manifest", "import", str(_write(tmp_path, GOOD)), "--date", "2026-11-20")[0] == 0
    rows = list(csv.DictReader(io.StringIO("\n".join([HEADER, *GOOD]))))
    rows[1]["address"] = "22 rue B (back door)"
    rows[1]["window_start"], rows[1]["window_end"] = "2026-11-20T10:30:00+01:00", "2026-11-20T12:30:00+01:00"
    for row in rows:
        row["stop_sequence"] = int(row["stop_sequence"])
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"stops": rows}, ensure_ascii=False), encoding="utf-8")
    code, out, err = _run(capsys, "--db", db, "manifest", "import", str(path), "--date", "2026-11-20")
    assert code == 0, err
    assert "3 stops (0 new, 3 updated)" in out
    engine = open_database(db)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Stop)) == 3
        assert s.scalar(select(func.count()).select_from(Route)) == 2
        assert s.scalar(select(func.count()).select_from(Driver)) == 1
        stop = s.scalar(select(Stop).where(Stop.order_id == "O-2"))
        assert stop.address == "22 rue B (back door)" and stop.window_start_ms == 1_795_167_000_000
        assert s.scalar(select(func.count()).select_from(OrderEvent)) == 3  # confirmed once each
    engine.dispose()


def test_tracking_number_stored_for_another_order_names_line_and_column(capsys, tmp_path, db_url):
    """A new order given a tracking number the depot already has for another: the row is named by line and
    column, nothing is imported (or, with --skip-invalid, the other rows are); no IntegrityError reaches anyone."""
    today = _write(tmp_path, GOOD)
    assert _run(capsys, "--db", db_url, "manifest", "import", str(today), "--date", "2026-11-20")[0] == 0
    tomorrow = [
        "R5,Van 7,,1,O-8,TRK8,Anna,,,8 rue H,45.75,4.85,10:00,12:00,,",
        "R5,Van 7,,2,O-9,TRK2,Zoé,,,9 rue I,45.76,4.86,10:00,12:00,,",  # line 3: TRK2 is O-2's
        "R5,Van 7,,3,O-1,TRK1,Élodie,,,1 rue A,45.75,4.85,13:00,15:00,,",  # O-1 keeps its own: an update
    ]
    path = _write(tmp_path, tomorrow, "tomorrow.csv")
    code, out, err = _run(capsys, "--db", db_url, "manifest", "import", str(path), "--date", "2026-11-21")
    assert code == 1
    assert "Traceback" not in err and "IntegrityError" not in err
    assert f"{path}: line 3, tracking_number: TRK2 is already stored for order O-2" in err
    assert "1 problem(s) in 1 row(s); nothing was imported" in err
    engine = open_database(db_url)
    with Session(engine) as s:
        assert sorted(s.scalars(select(Stop.order_id))) == ["O-1", "O-2", "O-3"]
    code, out, err = _run(capsys, "--db", db_url, "manifest", "import", str(path), "--date", "2026-11-21",
                          "--skip-invalid")
    assert code == 0, err
    assert "skipped 1 invalid row(s): lines 3" in out
    with Session(engine) as s:
        numbers = dict(s.execute(select(Stop.order_id, Stop.tracking_number)).all())
    assert numbers == {"O-1": "TRK1", "O-2": "TRK2", "O-3": "TRK3", "O-8": "TRK8"}
    engine.dispose()


def test_the_import_report_says_one_route_and_one_stop_in_the_singular():
    from fleet_desk.tracking.routes import ManifestResult

    assert ManifestResult(routes_new=1, stops_new=1).report() == "1 route (1 new), 1 stop (1 new, 0 updated)"
    assert ManifestResult(routes_new=2, stops_new=3).report() == "2 routes (2 new), 3 stops (3 new, 0 updated)"
