"""Opening the depot database and keeping its schema current.

SQLite (the default, one file in the per-user data directory) runs in WAL
mode with foreign keys on and a busy timeout, so the UI can read while
ingestion writes. PostgreSQL serves depots where several workstations share
one database. Alembic owns the schema; `open_database` upgrades on start.
Alembic is imported only when a database needs upgrading: a quarter of a
second saved on every start of the command line and the app.

A database is never left half-made: on SQLite every migration of a run goes
in one transaction (pysqlite would commit each CREATE TABLE on its own), and
a half-made one from an older version is rebuilt when it holds nothing (holding
rows, it is refused, saying how to put it aside and make a new one). A
file that cannot be written is opened read-only, so lookups and exports work
from a read-only disk. Storage failures are said in one line by `explain`.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.pool import ConnectionPoolEntry

import migrations

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

ENV_VAR = "FLEET_DESK_DB"
MIGRATIONS = Path(migrations.__file__).resolve().parent
#: The newest revision in migrations/versions. A test holds it to what Alembic finds there; bump it with
#: every new migration.
HEAD = "0010"
#: Where Alembic records a database's revision (its default table).
VERSION_TABLE = "alembic_version"
#: Marks an engine opened read-only (an engine-wide execution option; SQLAlchemy passes unknown ones along).
READ_ONLY = "fleet_desk_read_only"


class DatabaseError(RuntimeError):
    """The database cannot be opened or upgraded; the message says which and why."""


def default_url() -> str:
    """The per-user SQLite database, used when neither ``--db`` nor ``FLEET_DESK_DB`` names one."""
    data = Path(platformdirs.user_data_dir("fleet-desk", appauthor=False))
    return f"sqlite:///{data / 'fleet-desk.db'}"


def resolve_url(url: str | None = None) -> str:
    """``--db`` wins, then ``FLEET_DESK_DB``, then the per-user default."""
    return url or os.environ.get(ENV_VAR) or default_url()


def describe(url: str) -> str:
    """The URL without its password, for status bars and messages."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL at all: still no password shown
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None: another backend, or an in-memory database)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def _where(url: str) -> str:
    path = sqlite_file(url)
    return f"database {path}" if path is not None else f"database {describe(url)}"


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _read_only_pragmas(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _cannot_write(path: Path) -> bool:
    """An existing file that this process may not change (permissions, a read-only mount), or that sits in a
    folder where SQLite cannot make its WAL files and has none yet."""
    if not path.exists():
        return False
    if not os.access(path, os.W_OK):
        return True
    return not os.access(path.parent, os.W_OK) and not Path(f"{path}-shm").exists()


def _read_only_connect(path: Path) -> Callable[[], sqlite3.Connection]:
    """SQLite's own read-only mode; ``immutable`` when the folder cannot hold the WAL index SQLite would make
    (then nothing else can write either), unless a WAL file holds changes it would miss."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    if not os.access(path.parent, os.W_OK) and not Path(f"{path}-shm").exists():
        wal = Path(f"{path}-wal")
        if not wal.exists() or wal.stat().st_size == 0:
            uri += "&immutable=1"
    return lambda: sqlite3.connect(uri, uri=True, timeout=10, check_same_thread=False)


def create_db_engine(url: str, read_only: bool = False) -> Engine:
    """An engine with the per-backend settings, without touching the schema (``read_only``: SQLite only)."""
    path = sqlite_file(url)
    if url.startswith("sqlite") and read_only and path is not None:
        engine = create_engine(url, creator=_read_only_connect(path), execution_options={READ_ONLY: True})
        event.listen(engine, "connect", _read_only_pragmas)
        return engine
    if url.startswith("sqlite"):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if not url.startswith("postgresql"):
        raise DatabaseError(f"{describe(url)}: Fleet Desk keeps its data in SQLite (sqlite:///FILE) or PostgreSQL "
                            "(postgresql+psycopg://USER@HOST/DB); give --db one of those")
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})


def is_read_only(engine: Engine) -> bool:
    """Whether ``engine`` was opened read-only (its file could not be written)."""
    return bool(engine.get_execution_options().get(READ_ONLY))


def migration_engine(url: str) -> Engine:
    """An engine for running migrations: on SQLite each transaction is a real one, DDL included.

    pysqlite begins a transaction only before INSERT/UPDATE/DELETE, so each
    CREATE TABLE committed on its own and a kill left a half-made schema.
    SQLAlchemy's recipe (docs: "Serializable isolation / Savepoints /
    Transactional DDL"): the driver's own handling off, BEGIN emitted by
    SQLAlchemy. IMMEDIATE takes the write lock first, so two programs
    creating one database at once wait for each other. Foreign keys stay off,
    as Alembic advises for batch migrations that copy and drop tables.
    """
    if not url.startswith("sqlite"):
        return create_db_engine(url)
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 10})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config(engine: Engine | None = None, connection: Connection | None = None) -> Config:
    """Alembic's configuration (imported when needed) for ``engine`` or ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    config.attributes["connection"] = connection
    return config


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: no schema yet), read as Alembic records it."""
    with engine.connect() as conn:
        return _revision(conn)


def head_revision(engine: Engine) -> str | None:
    """The newest revision as Alembic reads it from migrations/versions."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def _clear_half_made(conn: Connection, url: str) -> None:
    """Tables of ours with no revision recorded: a creation an older version did not finish.

    Empty, they are dropped (the migrations make them again in the same
    transaction); holding rows, they are nobody's to guess about.
    """
    from fleet_desk.store.models import Base

    present = set(inspect(conn).get_table_names())
    ours = [t for t in reversed(Base.metadata.sorted_tables) if t.name in present]
    if not ours:
        return
    held = [t.name for t in ours if conn.execute(text(f"SELECT 1 FROM {t.name} LIMIT 1")).first() is not None]
    if held:
        raise DatabaseError(f"{_where(url)} has tables with data ({', '.join(held)}) but no record of its schema "
                            f"version, so it was not changed: {_half_made_advice(url)}")
    log.warning("%s: %d empty table(s) left by a creation that did not finish; building it again",
                _where(url), len(ours))
    for table in ours:
        table.drop(conn)


def _half_made_advice(url: str) -> str:
    """What to do with a half-made database holding rows: no command can tell what its rows belong to, so it is
    restored, or put aside and a new one made where it was (`fleet-desk db upgrade`)."""
    path = sqlite_file(url)
    if path is not None:
        return (f"restore it from a backup, or move it aside (rename {path.name}, with any -wal and -shm file of it) "
                f"and run `fleet-desk --db {describe(url)} db upgrade` to make a new, empty one there")
    return ("restore it from a backup, or run `fleet-desk --db URL db upgrade` with the URL of an empty database to "
            "make a new one there and use that")


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision in one transaction; returns (before, after)."""
    from alembic import command
    from alembic.util import CommandError

    url = engine.url.render_as_string(hide_password=False)
    if is_read_only(engine):
        revision = current_revision(engine)
        if revision == HEAD:
            return revision, revision
        raise DatabaseError(f"{_where(url)} is read-only, so its schema ({revision or 'empty'}) cannot be upgraded: "
                            f"{_READ_ONLY_ADVICE}")
    migrating = migration_engine(url) if engine.dialect.name == "sqlite" else engine
    try:
        with migrating.begin() as conn:
            before = _revision(conn)
            if before is None:
                _clear_half_made(conn, url)
            try:
                command.upgrade(alembic_config(connection=conn), "head")
            except CommandError as exc:
                raise DatabaseError(f"{_where(url)} is at schema {before}, which this version of Fleet Desk does "
                                    f"not know ({exc}): use a newer Fleet Desk") from None
            after = _revision(conn)
    finally:
        if migrating is not engine:
            migrating.dispose()
    return before, after


def check_integrity(engine: Engine) -> str | None:
    """SQLite's quick check of every page (None: sound); reads the whole file, so for maintenance only."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as conn:
        found = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check")]
    return None if found == ["ok"] else "; ".join(found[:3])


@contextmanager
def said_in_one_line(url: str) -> Iterator[None]:
    """Driver and file-system errors become a DatabaseError carrying `explain`'s one line."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except DatabaseError:
        raise
    except (SQLAlchemyError, OSError, sqlite3.Error) as exc:
        raise DatabaseError(explain(exc, url)) from exc


def upgrade_database(url: str) -> tuple[str | None, str | None]:
    """`fleet-desk db upgrade`: check every page first (a damaged file is not built on), then upgrade."""
    path = sqlite_file(url)
    with said_in_one_line(url):
        engine = create_db_engine(url, read_only=path is not None and _cannot_write(path))
        try:
            damage = check_integrity(engine)
            if damage is not None:
                raise DatabaseError(f"{_where(url)} is damaged ({damage}): {DAMAGED_ADVICE}")
            return upgrade(engine)
        finally:
            engine.dispose()


def open_database(url: str | None = None, migrate: bool = True) -> Engine:
    """Open (creating if needed) and upgrade the database at ``url``.

    A SQLite file this process cannot write is opened read-only for reading;
    one that needs upgrading is then refused with what to do.
    """
    url = resolve_url(url)
    path = sqlite_file(url)
    if path is not None and not path.exists() and not path.parent.is_dir() and url != default_url():
        # A mistyped path is not a new, empty depot; the user's own default folder is made on first use.
        folder = path.parent
        missing = f"{folder} is a file, not a folder" if folder.exists() else f"there is no folder {folder}"
        raise DatabaseError(f"{path}: {missing}; check the database path given (--db or {ENV_VAR}): a new "
                            "database is made only in a folder that exists")
    read_only = path is not None and _cannot_write(path)
    with said_in_one_line(url):
        engine = create_db_engine(url, read_only=read_only)
        revision = current_revision(engine)
        if migrate and revision != HEAD:
            if read_only:
                engine.dispose()
                raise DatabaseError(
                    f"{_where(url)} is read-only and its schema ({revision or 'empty'}) is older than this version "
                    f"needs ({HEAD}): make it writable (permissions of the file and its folder, or a disk mounted "
                    f"read-only), then run `fleet-desk --db {describe(url)} db upgrade`")
            upgrade(engine)
        if read_only:
            log.info("%s cannot be written: opened read-only", _where(url))
    return engine


# -- one line for a storage failure ------------------------------------------------------------------------

_SQLITE_FULL, _SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM = 13, 8, 14, 3
_SQLITE_CORRUPT, _SQLITE_NOTADB, _SQLITE_IOERR, _SQLITE_BUSY, _SQLITE_LOCKED = 11, 26, 10, 5, 6
_PG_DISK_FULL, _PG_READ_ONLY, _PG_NO_PRIVILEGE = "53100", "25006", "42501"
#: Ends every message about a damaged database: nothing run again helps it.
DAMAGED_ADVICE = "restore from a backup or move it aside"
_READ_ONLY_ADVICE = "check the permissions of the file and its folder (or whether its disk is mounted read-only)"


def _driver_error(exc: BaseException) -> BaseException:
    return getattr(exc, "orig", None) or exc


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def explain(exc: BaseException, url: str) -> str:
    """What went wrong with the database at ``url`` and what to do, in one line (for users, not a traceback)."""
    where, error = _where(url), _driver_error(exc)
    detail = _first_line(error)
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        code &= 0xFF  # the primary result code under an extended one
        if code == _SQLITE_FULL:
            return f"{where}: the disk is full; free space on it, then run the command again"
        if code in (_SQLITE_READONLY, _SQLITE_PERM):
            return f"{where} is read-only: {_READ_ONLY_ADVICE}"
        if code == _SQLITE_CORRUPT:
            return f"{where} is damaged ({detail}): {DAMAGED_ADVICE}"
        if code == _SQLITE_NOTADB:
            return f"{where} is damaged or not a database ({detail}): {DAMAGED_ADVICE}"
        if code == _SQLITE_CANTOPEN:
            path = sqlite_file(url)
            if path is not None and not path.exists() and path.parent.exists():
                return (f"{where} cannot be created: its folder {path.parent} is read-only; check its permissions "
                        "or give --db another place")
            return f"{where} cannot be opened: {_READ_ONLY_ADVICE}"
        if code == _SQLITE_IOERR:
            return (f"{where}: the disk reported an input/output error ({detail}); check that it is present and not "
                    "full, then run the command again")
        if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return f"{where} is busy: another program is writing to it; try again in a moment"
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    if state == _PG_DISK_FULL:
        return f"{where}: the database server's disk is full ({detail}); free space on it, then run the command again"
    if state in (_PG_READ_ONLY, _PG_NO_PRIVILEGE):
        return f"{where} refuses changes ({detail}): check the database user's rights, or whether it is a standby"
    if isinstance(error, OSError):
        import errno

        what = error.filename or where
        if error.errno == errno.ENOSPC:
            return f"{what}: the disk is full; free space on it, then run the command again"
        if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return f"{what} is read-only: {_READ_ONLY_ADVICE}"
        return f"cannot open {where}: {what}: {error.strerror or detail}"
    return f"cannot open {where}: {detail}"
