"""The real PostgreSQL the tests run against (FLEET_DESK_TEST_PG, else the local test server)."""

from __future__ import annotations

import os

from sqlalchemy import make_url

PG_URL = os.environ.get("FLEET_DESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_PORT = make_url(PG_URL).port or 5432
