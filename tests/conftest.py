"""Shared fixtures: real SQLite files and the real PostgreSQL, recorded logs."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
NMEA_LOGS = sorted((TESTDATA / "nmea-receivers").glob("*.log"))
PG_URL = os.environ.get("FLEET_DESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):  # noqa: ANN001, ANN201
    """A fresh, empty database URL on each backend (PostgreSQL: its own schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'depot.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def engine(db_url):  # noqa: ANN001, ANN201
    from fleet_desk.store import open_database

    eng = open_database(db_url)
    yield eng
    eng.dispose()
