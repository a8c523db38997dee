"""Shared fixtures: real SQLite files and the real PostgreSQL, recorded logs."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator

import pytest

from tests.helpers.paths import TESTDATA
from tests.helpers.postgres import schema_url

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox")
# Settings, window layout and the log file of the app under test stay out of the user's home.
_HOME = tempfile.mkdtemp(prefix="fleet-desk-tests-")
os.environ["FLEET_DESK_CONFIG_DIR"] = os.path.join(_HOME, "config")
os.environ["FLEET_DESK_LOG_DIR"] = os.path.join(_HOME, "log")
os.environ["FLEET_DESK_CACHE_DIR"] = os.path.join(_HOME, "cache")
os.environ["FLEET_DESK_DATA_DIR"] = os.path.join(_HOME, "data")  # road maps

def pytest_configure(config: pytest.Config) -> None:
    """The recorded hardware data must be beside the checkout: said in one line, not as a collection error."""
    if not (TESTDATA / "nmea-receivers").is_dir():
        raise pytest.UsageError(f"the recorded GPS data is not at {TESTDATA}: the suite needs ../shared/testdata "
                                "beside this checkout (see the README)")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database URL on each backend (PostgreSQL: its own schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'depot.db'}"
        return
    with schema_url() as url:
        yield url


@pytest.fixture
def engine(db_url):
    from fleet_desk.store import open_database

    eng = open_database(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(autouse=True)
def _nothing_left_running(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that leaves a thread, an active QTimer, a Qt pool task or an open port, pipe or socket fails,
    naming what it left (tests/helpers/leaks.py says what is not counted, and why)."""
    from tests.helpers.leaks import Snapshot, tracking_timers

    before = Snapshot.take()
    with tracking_timers() as timers:
        yield
        left = before.left_behind(timers)
        timers.stop_all()
    if left:
        pytest.fail(f"{request.node.nodeid} left behind:\n  " + "\n  ".join(left), pytrace=False)


@pytest.fixture(autouse=True)
def _no_unexpected_error_logs(request, caplog):
    """An error logged by Fleet Desk during a test fails it, unless the test expects errors."""
    caplog.set_level(logging.INFO, logger="fleet_desk")
    yield
    if request.node.get_closest_marker("expected_errors"):
        return
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR and r.name.startswith("fleet_desk")]
    assert not errors, "unexpected error log: " + "; ".join(r.getMessage() for r in errors)


@pytest.fixture
def no_keyring():
    """An OS without a keyring, whatever this machine has (and the user's real keyring left alone)."""
    import keyring
    from keyring.backends import fail

    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(before)


@pytest.fixture
def receiver():
    """A real tracking endpoint on 127.0.0.1 that checks every request and misbehaves on request."""
    from tests.helpers.outbox import ENDPOINT_TOKEN, SECRET
    from tests.helpers.receiver import Receiver

    r = Receiver(SECRET, token=ENDPOINT_TOKEN)
    yield r
    r.close()
