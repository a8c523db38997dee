"""Fixtures of the UI tests: the app offscreen on a fresh SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.helpers.desk import Desk, close_window, open_window


@pytest.fixture(scope="session", autouse=True)
def _web_engine_started(qapp: QApplication, request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> None:
    """One window opened and closed before the first UI test, so what Qt and QtWebEngine open once per
    process (their resource files, the helper processes' sockets and pipes, the MIME database) is open
    before that test's leak check looks, and is not counted against it."""
    window, engine = open_window(QtBot(request), f"sqlite:///{tmp_path_factory.mktemp('warm-up') / 'depot.db'}")
    close_window(window, engine)


@pytest.fixture
def desk(qtbot: QtBot, tmp_path: Path) -> Iterator[Desk]:
    """The main window on an empty depot database, closed after the test."""
    window, engine = open_window(qtbot, f"sqlite:///{tmp_path / 'depot.db'}")
    yield window, engine
    close_window(window, engine)
