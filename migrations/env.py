"""Alembic environment: runs on the connection (or engine) Fleet Desk hands over.

`fleet_desk.store.database.upgrade` hands over a connection already in the
transaction that holds the whole run; from the plain `alembic` command line
the engine is made here, with SQLite's DDL inside the transaction too.
"""

from alembic import context

from fleet_desk.store.models import Base
from fleet_desk.store.partitions import include_name


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_name=include_name,  # the monthly partitions of positions are not tables of the models
    )
    context.run_migrations()


config = context.config
connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from fleet_desk.store.database import migration_engine, resolve_url

    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic` command line
        engine = migration_engine(resolve_url(config.get_main_option("sqlalchemy.url")))
    else:
        engine = migration_engine(engine.url.render_as_string(hide_password=False))
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()
