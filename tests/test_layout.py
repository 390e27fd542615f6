"""The test suite's own layout: helpers live in tests/support/, fixtures in
conftest.py, and no module under tests/ imports a test module (test_*.py,
conftest.py, or a helper left beside them) or the benchmarks (`bench`).
Imports inside functions count, and so do importlib.import_module("...")
and __import__("...") with a literal name."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# What may sit directly in tests/ besides test modules.
TOP_LEVEL = {"__init__.py", "conftest.py"}


def _imported(path: Path, tests: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in the file at `path`."""
    package = ["tests", *path.relative_to(tests).parent.parts]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            yield node.lineno, base
            for alias in node.names:  # `from tests import test_x` imports a module too
                yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            first = node.args[0]
            if name in ("import_module", "__import__") and isinstance(first, ast.Constant) \
                    and isinstance(first.value, str):
                yield node.lineno, first.value


def _forbidden(name: str) -> str | None:
    """Why importing module `name` from under tests/ is not allowed, if it is not."""
    parts = name.split(".")
    if parts[0] == "bench":
        return "the benchmarks (run them as `python -m bench...` in a child)"
    if parts[0] == "conftest" or parts[0].startswith("test_"):
        return "a test module"
    if parts[0] == "tests" and len(parts) > 1 and parts[1] != "support":
        return "a test module (helpers belong in tests/support/)"
    return None


def forbidden_imports(tests: Path = TESTS) -> list[str]:
    found = []
    for path in sorted(tests.rglob("*.py")):
        for line, name in _imported(path, tests):
            why = _forbidden(name)
            if why:
                found.append(f"{path.relative_to(tests.parent)}:{line}: imports {name}: {why}")
    return found


def test_no_test_module_imports_another_or_bench() -> None:
    assert forbidden_imports() == []


def test_helpers_live_in_support() -> None:
    stray = [path.name for path in TESTS.glob("*.py")
             if path.name not in TOP_LEVEL and not path.name.startswith("test_")]
    assert stray == []
    # A module named like a test module holds tests: a helper is not named test_*.
    assert [p.name for p in (TESTS / "support").glob("test_*.py")] == []


def test_the_check_sees_every_form(tmp_path: Path) -> None:
    """The check itself: each way of importing a test module or bench is found."""
    tree = tmp_path / "tests"
    (tree / "support").mkdir(parents=True)
    (tree / "support" / "helper.py").write_text(
        "from .. import test_a\nfrom ..conftest import x\nimport tests.support.ok\n")
    (tree / "test_b.py").write_text(
        "import bench.sink\n"
        "def f():\n    from tests.test_a import y\n"
        "    import importlib\n    importlib.import_module('tests.fault_server')\n"
        "from tests.support import ok\nfrom tests import support\n")
    found = forbidden_imports(tree)
    assert [entry.split(": imports ")[1].split(":")[0] for entry in found] == [
        "tests.test_a", "tests.conftest", "tests.conftest.x",
        "bench.sink", "tests.test_a", "tests.test_a.y", "tests.fault_server",
    ]
