"""Fixtures of the UI tests: the app offscreen on a fresh SQLite file."""

from __future__ import annotations

import pytest

from tests.helpers.desk import close_window, open_window


@pytest.fixture
def desk(qtbot, tmp_path):  # noqa: ANN001, ANN201
    """The main window on an empty depot database, closed after the test."""
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}")
    yield window, engine
    close_window(window, engine)
