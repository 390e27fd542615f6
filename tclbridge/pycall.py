"""`tclbridge::call module.function ?arg ...?`: Tcl scripts calling Python.

Present in every bridge interpreter (`package require tclbridge` works but
is not needed). The arguments arrive as Python strings; the result goes
back as a Tcl value: None -> "", bool -> 1/0, str/int/float -> their
string, list/tuple -> a Tcl list, dict -> a Tcl dict (nested values
converted the same way). A Python exception becomes a Tcl error whose
message is "module.function: Type: text" and whose errorCode is
{PYTHON Type text}; the script never sees a traceback. SystemExit and
KeyboardInterrupt too ("module.function: SystemExit: 3", errorCode
{PYTHON SystemExit 3}): a called function cannot end the script's process
or leave it a stale result.

Modules are imported from sys.path and from the directory of the Tcl
script being run (as Python does for its main script), so a script can
call a module that sits beside it.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tclbridge.errors import TclError

if TYPE_CHECKING:
    from tclbridge.interp import Interp

COMMAND = "::tclbridge::call"
_IMPL = "::tclbridge::py::call"
PACKAGE_VERSION = "0.1.0"


def resolve(target: str) -> Callable[..., Any]:
    """The function named "module.function" (or "package.module.Class.method")."""
    module_name, _, attr = target.rpartition(".")
    if not module_name:
        raise ValueError(f"expected module.function, got {target!r}")
    path: list[str] = [attr]
    while True:
        try:
            obj: Any = importlib.import_module(module_name)
            break
        except ModuleNotFoundError as exc:
            # Maybe "module.Class.method": import the shorter name (but a
            # module that failed to import its own dependency is an error).
            if exc.name != module_name or "." not in module_name:
                raise
            module_name, _, outer = module_name.rpartition(".")
            path.insert(0, outer)
    for name in path:
        obj = getattr(obj, name)
    if not callable(obj):
        raise TypeError(f"{target} is not callable")
    return obj


def python_error(target: str, exc: BaseException) -> TclError:
    """The Tcl error a script sees for a Python exception."""
    kind = type(exc).__name__
    text = str(exc)
    return TclError(f"{target}: {kind}: {text}" if text else f"{target}: {kind}",
                    ("PYTHON", kind, text))


class PythonCaller:
    def __init__(self, bridge: Interp) -> None:
        self.bridge = bridge
        bridge.register(_IMPL, self.call)
        bridge.eval(f"::tclbridge::forward {COMMAND} {_IMPL}")
        bridge.eval(f"package provide tclbridge {PACKAGE_VERSION}")

    def call(self, *words: str) -> Any:
        if not words:
            raise TclError(
                f'wrong # args: should be "{COMMAND} module.function ?arg ...?"',
                ("TCL", "WRONGARGS"),
            )
        target, args = words[0], words[1:]
        self._add_script_dir()
        try:
            return resolve(target)(*args)
        except BaseException as exc:  # noqa: BLE001 - even SystemExit becomes a Tcl error
            raise python_error(target, exc) from None

    def _add_script_dir(self) -> None:
        script = str(self.bridge.call("info", "script"))
        if not script:
            return
        folder = os.path.dirname(os.path.abspath(script))
        if folder not in sys.path:
            sys.path.append(folder)


def install(bridge: Interp) -> PythonCaller:
    return PythonCaller(bridge)
