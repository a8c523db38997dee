"""The bundle test's build starts with the session (tests/helpers/bundle.py says why)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.bundle import BundleBuild

_BUILD = pytest.StashKey[BundleBuild]()
_BUNDLE_TEST = "test_bundle_builds_and_runs_the_demo"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start building when the bundle test is among the selected tests (not for --collect-only)."""
    if session.config.option.collectonly:
        return
    if any(item.originalname == _BUNDLE_TEST for item in session.items if isinstance(item, pytest.Function)):
        session.stash[_BUILD] = BundleBuild()


def pytest_sessionfinish(session: pytest.Session) -> None:
    build = session.stash.get(_BUILD, None)
    if build is not None:
        build.discard()


@pytest.fixture
def bundle_build(request: pytest.FixtureRequest) -> Iterator[BundleBuild]:
    """The session's build of the bundle (started here if the session did not start one)."""
    build = request.session.stash.get(_BUILD, None)
    if build is None:
        build = request.session.stash[_BUILD] = BundleBuild()
    yield build
