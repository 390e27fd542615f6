"""The engines know nothing of Tcl.

tclbridge/smtp and tclbridge/mime return and raise their own results; only
the Tcl command layer (tclbridge/tcl, interp, tcl_module, pycall) turns them
into Tcl return codes and errorCodes. This walks every engine module's
syntax tree, imports inside functions and `if TYPE_CHECKING:` blocks
included, and fails on an import of Tcl-specific code or a name for a Tcl
return code or errorCode.
"""

from __future__ import annotations

import ast
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
