"""Phones as callers give them: a depot's national numbers found by their international form and back, whatever
the computer's locale says, and never stored under a country code guessed for them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from fleet_desk.cli import main
from fleet_desk.settings import Settings
from fleet_desk.store.search_index import phone_key

HEADER = "route_id,vehicle,stop_sequence,order_id,tracking_number,customer_name,address,lat,lon,window_start," \
         "window_end,phone\n"
ROWS = ["R1,Van 1,1,O-1,TRK001,Élodie Martin,12 rue de la République Lyon,45.76,4.835,09:00,11:00,04 78 11 22 33",
        "R1,Van 1,2,O-2,TRK002,Jean Dupré,3 quai Saint-Antoine Lyon,45.763,4.83,10:00,12:00,06.12.34.56.78"]
CALLER_SAYS = {"+33 4 78 11 22 33": "O-1", "04 78 11 22 33": "O-1", "0478112233": "O-1", "+33478112233": "O-1",
               "0033 4 78 11 22 33": "O-1", "+33 (0)4 78 11 22 33": "O-1", "+33 6 12 34 56 78": "O-2",
               "06 12 34 56 78": "O-2"}


def _import(tmp_path: Path, rows: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    db = tmp_path / "depot.db"
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    assert main(["--db", f"sqlite:///{db}", "manifest", "import", str(manifest), "--date", "2026-12-01"]) == 0
    capsys.readouterr()
    return f"sqlite:///{db}"


def _found(url: str, query: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    code = main(["--db", url, "lookup", query, "--format", "json"])
    out = capsys.readouterr().out
    return [m["order_id"] for m in json.loads(out)] if code == 0 else []


def _keys(url: str) -> list[str | None]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return [k for (k,) in conn.execute("SELECT phone_key FROM stops ORDER BY id")]


@pytest.mark.parametrize("locale_says", ["US", None])
def test_national_numbers_with_no_region_set_are_found_in_every_format(tmp_path, capsys, monkeypatch, locale_says):
    """phone_region empty and the computer set up for the United States (or saying nothing): French national
    numbers are kept as dialled, never as +1..., and the international form finds them."""
    monkeypatch.setattr("fleet_desk.tracking.routes.locale_region", lambda: locale_says)
    monkeypatch.setattr("fleet_desk.lookup.search.locale_region", lambda: locale_says)
    url = _import(tmp_path, ROWS, capsys)
    keys = _keys(url)
    assert keys == ["0478112233", "0612345678"]
    assert not any(k and k.startswith("+1") for k in keys)
    for query, order in CALLER_SAYS.items():
        assert _found(url, query, capsys)[:1] == [order], query


def test_with_the_region_set_numbers_are_e164_and_found_in_every_format(tmp_path, capsys):
    Settings(phone_region="fr").save()
    url = _import(tmp_path, ROWS, capsys)
    assert _keys(url) == ["+33478112233", "+33612345678"]
    for query, order in CALLER_SAYS.items():
        assert _found(url, query, capsys)[:1] == [order], query


def test_a_manifests_own_international_numbers_say_how_to_read_its_national_ones(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("fleet_desk.tracking.routes.locale_region", lambda: "US")
    rows = [*ROWS, "R1,Van 1,3,O-3,TRK003,Anna Keller,3 rue Créqui Lyon,45.76,4.84,10:00,12:00,+33 4 72 00 00 01"]
    url = _import(tmp_path, rows, capsys)
    assert _keys(url) == ["+33478112233", "+33612345678", "+33472000001"]
    assert _found(url, "04 72 00 00 01", capsys) == ["O-3"]


def test_what_is_no_phone_number_has_no_key():
    from fleet_desk.store.search_index import phone_keys

    assert phone_key("FD01003001", "FR") is None  # a tracking number
    assert phone_key("12345", "FR") is None  # too short: a house or a postcode
    assert phone_key("+999 1234567", None) is None  # no such country code
    assert phone_key("", "FR") is None and phone_keys(None, "FR") == []
    assert phone_keys("+1 202 555 0100", None) == ["+12025550100", "2025550100"]
