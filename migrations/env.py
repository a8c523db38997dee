"""Alembic environment: runs on the engine Fleet Desk hands over."""

from alembic import context

from fleet_desk.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line
    from fleet_desk.store.database import create_db_engine, resolve_url

    engine = create_db_engine(resolve_url(config.get_main_option("sqlalchemy.url")))

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
