"""The tests' own layout: shared code lives in tests/helpers and conftest files, never in a test module."""

from __future__ import annotations

import ast
from collections import Counter

from tests.helpers.paths import ROOT

TESTS = ROOT / "tests"


def _imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_tests_import_only_helpers_from_tests():
    wrong = {}
    for path in sorted(TESTS.rglob("*.py")):
        bad = {name for name in _imported(ast.parse(path.read_text(encoding="utf-8")))
               if name.split(".")[0] == "tests" and not name.startswith("tests.helpers")}
        if bad:
            wrong[str(path.relative_to(ROOT))] = sorted(bad)
    assert not wrong, f"shared code belongs in tests/helpers or a conftest fixture: {wrong}"


def test_test_module_names_are_unique():
    """pytest imports test modules by their file name (no __init__.py in tests/): two of one name collide."""
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert [name for name, n in names.items() if n > 1] == []
