"""The engines know nothing of Tcl.

tclbridge/smtp and tclbridge/mime return and raise their own results; only
the Tcl command layer (tclbridge/tcl, interp, tcl_module, pycall) turns them
into Tcl return codes and errorCodes. This walks every engine module's
syntax tree, imports inside functions and `if TYPE_CHECKING:` blocks
included, and fails on an import of Tcl-specific code or a name for a Tcl
return code or errorCode. It then imports every engine module in a fresh
Python and fails if any Tcl module got loaded, however indirectly (through a
non-engine module of tclbridge, say, which the syntax walk does not follow).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.support.import_graph import absolute_module, module_name

PACKAGE = Path(__file__).resolve().parent.parent / "tclbridge"

# Modules that are Tcl: importing any of them (or from them) is forbidden.
# tclbridge.errors is the Tcl layer's errors (TclFailure, ScriptError); the
# engine's own are in tclbridge.engine_errors.
TCL_MODULES = ("tkinter", "_tkinter", "tclbridge.tcl", "tclbridge.interp", "tclbridge.tcllist",
               "tclbridge.tcl_module", "tclbridge.pycall", "tclbridge.errors")
# Names that are Tcl return codes or errorCodes.
TCL_NAMES = ("TCL_OK", "TCL_ERROR", "TCL_BREAK", "SMTP_FAILURE", "ERRORCODE")


def _is_tcl(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in TCL_MODULES)


def offences(source: str, module: str, is_package: bool = False) -> list[str]:
    """What in `source` (module `module`) is Tcl-specific, one line each."""
    found = []
    for node in ast.walk(ast.parse(source)):
        where = f"{module}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_tcl(alias.name):
                    found.append(f"{where} imports {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            source_module = absolute_module(node, module, is_package)
            for alias in node.names:
                full = f"{source_module}.{alias.name}"
                if _is_tcl(source_module) or _is_tcl(full):
                    found.append(f"{where} imports {full}")
        elif isinstance(node, (ast.Name, ast.Attribute)):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if isinstance(node, ast.Attribute) and ast.unparse(node) == "errno.errorcode":
                continue  # the standard library's errno names, not Tcl's
            if name.upper().endswith(TCL_NAMES) or name.lower() == "errorcode":
                found.append(f"{where} names {name}")
    return found


def package_offences(package: str) -> dict[str, list[str]]:
    result = {}
    for path in sorted((PACKAGE / package).rglob("*.py")):
        module = module_name(PACKAGE.parent, path)
        found = offences(path.read_text(encoding="utf-8"), module, path.name == "__init__.py")
        if found:
            result[module] = found
    return result


def test_the_check_sees_what_it_must() -> None:
    """Guards the walk itself: each form of a Tcl import is caught, inside a
    function too, and the engine's own errors pass."""
    source = '''
import tkinter
from tclbridge.engine_errors import MimeError, UsageError
from tclbridge.errors import UsageError
import tclbridge.errors
from tclbridge import errors
from tclbridge import interp
from ..tcl.boundary import to_tcl
from tclbridge.smtp.protocol import Reply
import errno

def later():
    from tclbridge.tcllist import split_list
    return errno.errorcode, SMTP_FAILURE, POLICY_TLS_ERRORCODE
'''
    found = offences(source, "tclbridge.smtp.example")
    assert [line.split(" ", 1)[1] for line in found] == [
        "imports tkinter",
        "imports tclbridge.errors.UsageError",
        "imports tclbridge.errors",
        "imports tclbridge.errors",
        "imports tclbridge.interp",
        "imports tclbridge.tcl.boundary.to_tcl",
        "imports tclbridge.tcllist.split_list",
        "names SMTP_FAILURE",
        "names POLICY_TLS_ERRORCODE",
    ]


def test_smtp_engine_imports_nothing_of_tcl() -> None:
    assert package_offences("smtp") == {}


def test_mime_engine_imports_nothing_of_tcl() -> None:
    assert package_offences("mime") == {}


# What a fresh Python must not have loaded after importing the engine: these
# modules and their submodules, and any module whose name starts with
# "tclbridge.tcl" (tclbridge.tcl, tclbridge.tcllist, tclbridge.tcl_module...).
RUNTIME_TCL = ("tkinter", "_tkinter", "tclbridge.interp", "tclbridge.errors", "tclbridge.pycall")
RUNTIME_TCL_PREFIX = "tclbridge.tcl"
_IMPORT_EACH = """
import importlib, json, sys
prefix, *names = sys.argv[1].split(",")
modules = sys.argv[2:]
def tcl_loaded():
    return {m for m in sys.modules
            if m.startswith(prefix) or any(m == n or m.startswith(n + ".") for n in names)}
report = {}
for module in modules:
    before = tcl_loaded()
    importlib.import_module(module)
    report[module] = sorted(tcl_loaded() - before)
print(json.dumps({"missing": sorted(set(modules) - set(sys.modules)), "tcl": report}))
"""


def engine_modules() -> list[str]:
    return [module_name(PACKAGE.parent, path)
            for package in ("smtp", "mime") for path in sorted((PACKAGE / package).rglob("*.py"))]


def tcl_loaded_by(modules: list[str]) -> dict[str, list[str]]:
    """Imports `modules` in order in a fresh Python: each one that made Tcl
    modules (RUNTIME_TCL, RUNTIME_TCL_PREFIX) appear in sys.modules, with them."""
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, ",".join([RUNTIME_TCL_PREFIX, *RUNTIME_TCL]),
         *modules],
        capture_output=True, text=True, timeout=60, cwd=PACKAGE.parent,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["missing"] == []  # every module named was really imported
    return {name: found for name, found in result["tcl"].items() if found}


def test_importing_the_engine_loads_nothing_of_tcl() -> None:
    modules = engine_modules()
    assert len(modules) > 20 and "tclbridge.smtp.session" in modules
    assert tcl_loaded_by(modules) == {}


def test_the_runtime_check_sees_a_tcl_import() -> None:
    """Guards the child itself: a module that loads Tcl code is named with what it loaded."""
    found = tcl_loaded_by(["tclbridge.smtp.results", "tclbridge.tcllist", "tclbridge.interp"])
    assert "tclbridge.tcllist" in found["tclbridge.tcllist"]
    assert {"tkinter", "_tkinter", "tclbridge.interp"} <= set(found["tclbridge.interp"])
    assert "tclbridge.smtp.results" not in found
