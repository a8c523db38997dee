"""Alembic revisions, one file each (a package only so the layer contract can read their imports)."""
