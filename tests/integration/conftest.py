"""The bundle test's build starts with the session and the test runs last (tests/helpers/bundle.py says why)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.bundle import BundleBuild

_BUILD = pytest.StashKey[BundleBuild]()
_BUNDLE_TEST = "test_bundle_builds_and_runs_the_demo"


def _is_bundle_test(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and item.originalname == _BUNDLE_TEST


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The bundle test runs last, so its build has the whole run to go on beside the other tests."""
    items.sort(key=_is_bundle_test)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start building when the bundle test is among the selected tests (not for --collect-only)."""
    if session.config.option.collectonly:
        return
    if any(_is_bundle_test(item) for item in session.items):
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
