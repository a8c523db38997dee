"""The real PostgreSQL the tests run against (FLEET_DESK_TEST_PG, else the local test server)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url, text

PG_URL = os.environ.get("FLEET_DESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_PORT = make_url(PG_URL).port or 5432


@contextmanager
def schema_url() -> Iterator[str]:
    """The URL of a schema of its own on the real PostgreSQL, dropped with all it holds afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
