"""Alembic migrations: the only way the depot database schema changes."""
