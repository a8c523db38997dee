"""Opening the depot database and keeping its schema current.

SQLite (the default, one file in the per-user data directory) runs in WAL
mode with foreign keys on and a busy timeout, so the UI can read while
ingestion writes. PostgreSQL serves depots where several workstations share
one database. Alembic owns the schema; `open_database` upgrades on start.
Alembic is imported only when a database needs upgrading: a quarter of a
second saved on every start of the command line and the app.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from sqlalchemy import Engine, create_engine, event, inspect, text

import migrations

ENV_VAR = "FLEET_DESK_DB"
MIGRATIONS = Path(migrations.__file__).resolve().parent
#: The newest revision in migrations/versions. A test holds it to what Alembic finds there; bump it with
#: every new migration.
HEAD = "0006"
#: Where Alembic records a database's revision (its default table).
VERSION_TABLE = "alembic_version"


class DatabaseError(RuntimeError):
    """The database cannot be opened or upgraded; the message says which and why."""


def default_url() -> str:
    data = Path(platformdirs.user_data_dir("fleet-desk", appauthor=False))
    return f"sqlite:///{data / 'fleet-desk.db'}"


def resolve_url(url: str | None = None) -> str:
    """``--db`` wins, then ``FLEET_DESK_DB``, then the per-user default."""
    return url or os.environ.get(ENV_VAR) or default_url()


def describe(url: str) -> str:
    """The URL without its password, for status bars and messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine with the per-backend settings, without touching the schema."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def alembic_config(engine: Engine):  # noqa: ANN201 - alembic.config.Config, imported when needed
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: no schema yet), read as Alembic records it."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def head_revision(engine: Engine) -> str | None:
    """The newest revision as Alembic reads it from migrations/versions."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision; returns (before, after)."""
    from alembic import command

    before = current_revision(engine)
    command.upgrade(alembic_config(engine), "head")
    return before, current_revision(engine)


def open_database(url: str | None = None, migrate: bool = True) -> Engine:
    """Open (creating if needed) and upgrade the database at ``url``."""
    url = resolve_url(url)
    try:
        engine = create_db_engine(url)
        if migrate and current_revision(engine) != HEAD:
            upgrade(engine)
    except Exception as exc:  # driver errors differ per backend
        raise DatabaseError(f"cannot open database {describe(url)}: {exc}") from exc
    return engine
