"""The test suite's own layout: helpers live in tests/support/, fixtures in
conftest.py, and no module under tests/ imports a test module (test_*.py,
conftest.py, or a helper left beside them) or the benchmarks (`bench`).
Imports inside functions count, and so do importlib.import_module("...")
and __import__("...") with a literal name.

Fixtures: a fixture name is defined in one place only. A fixture more than one
module uses lives in conftest.py; a test module may keep a fixture of its own,
under a name no other module (conftest.py included) defines, so no module
redefines a conftest fixture with another meaning and none copies another's.

Names: no module of the package, the tests or the benchmarks has a standard
library module's name (tests/support/mailbox.py hid `mailbox`, bench/profile.py
`profile`, from whoever ran with that directory first on sys.path)."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# What may sit directly in tests/ besides test modules.
TOP_LEVEL = {"__init__.py", "conftest.py"}
REPO = TESTS.parent


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


def _is_fixture(decorator: ast.expr) -> bool:
    """@pytest.fixture, @pytest.fixture(...), @fixture and @fixture(...)."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Attribute):
        return target.attr == "fixture"
    return isinstance(target, ast.Name) and target.id == "fixture"


def _fixture_name(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    for decorator in node.decorator_list:
        if _is_fixture(decorator):
            if isinstance(decorator, ast.Call):
                for keyword in decorator.keywords:  # @pytest.fixture(name="...")
                    if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                        return str(keyword.value.value)
            return node.name
    return None


def fixture_definitions(tests: Path = TESTS) -> dict[str, list[str]]:
    """Each fixture name -> where it is defined ("path:line"), in every module under tests/."""
    places: dict[str, list[str]] = defaultdict(list)
    for path in sorted(tests.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = _fixture_name(node)
                if name:
                    places[name].append(f"{path.relative_to(tests.parent)}:{node.lineno}")
    return dict(places)


def fixtures_defined_twice(tests: Path = TESTS) -> dict[str, list[str]]:
    return {name: where for name, where in fixture_definitions(tests).items() if len(where) > 1}


def test_each_fixture_is_defined_once() -> None:
    assert fixtures_defined_twice() == {}


def test_the_fixture_check_sees_every_form(tmp_path: Path) -> None:
    """The check itself: a test module redefining a conftest fixture, two modules
    writing the same fixture, and each way of declaring one are found."""
    tree = tmp_path / "tests"
    tree.mkdir()
    (tree / "conftest.py").write_text(
        "import pytest\n@pytest.fixture\ndef tcl(): ...\n"
        "@pytest.fixture(scope='session')\ndef cafile(): ...\n")
    (tree / "test_a.py").write_text(
        "import pytest\nfrom pytest import fixture\n"
        "@fixture\ndef tcl(): ...\n"
        "@pytest.fixture(scope='module')\ndef ca(): ...\n"
        "@pytest.fixture(name='cafile')\ndef _cafile(): ...\n"
        "def helper(): ...\n")
    (tree / "test_b.py").write_text(
        "import pytest\n@pytest.fixture\nasync def ca(): ...\n"
        "@pytest.fixture\ndef own(): ...\n")
    assert fixtures_defined_twice(tree) == {
        "tcl": ["tests/conftest.py:3", "tests/test_a.py:4"],
        "cafile": ["tests/conftest.py:5", "tests/test_a.py:8"],
        "ca": ["tests/test_a.py:6", "tests/test_b.py:3"],
    }


def stdlib_namesakes(roots: list[Path]) -> list[str]:
    """Modules and packages under `roots` named like a standard-library module."""
    found = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix == ".py":
                name = path.stem
            elif path.is_dir() and (path / "__init__.py").exists():
                name = path.name
            else:
                continue
            if name in sys.stdlib_module_names:
                found.append(str(path.relative_to(root.parent)))
    return found


def test_no_module_is_named_like_a_stdlib_one() -> None:
    assert stdlib_namesakes([REPO / "tclbridge", TESTS, REPO / "bench"]) == []


def test_the_namesake_check_sees_modules_and_packages(tmp_path: Path) -> None:
    (tmp_path / "bench" / "email").mkdir(parents=True)
    (tmp_path / "bench" / "email" / "__init__.py").write_text("")
    (tmp_path / "bench" / "profile.py").write_text("")
    (tmp_path / "bench" / "profiling.py").write_text("")
    (tmp_path / "bench" / "data").mkdir()  # not a package
    (tmp_path / "bench" / "json.txt").write_text("")
    assert stdlib_namesakes([tmp_path / "bench"]) == ["bench/email", "bench/profile.py"]
