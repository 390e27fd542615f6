"""`tclbridge::call module.function ?arg ...?`: Tcl scripts calling Python.

Present in every bridge interpreter (`package require tclbridge` works but
is not needed). The arguments arrive as Python strings; the result goes
back as a Tcl value: None -> "", bool -> 1/0, str/int/float -> their
string, bytes -> a Tcl byte string, list/tuple -> a Tcl list, dict -> a Tcl
dict (nested values converted the same way; keys str/int/float). Any other
result (a set, a generator, an object) is a Tcl error "module.function
returned a set, which has no Tcl value", errorCode {PYTHON TypeError ...},
rather than its repr. A Python exception becomes a Tcl error whose
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
from typing import Any

from tclbridge.errors import ScriptError
from tclbridge.tcl import errorcodes
from tclbridge.tcl.boundary import Converted, to_tcl
from tclbridge.tcl.command_sets import PYTHON_CALL
from tclbridge.tcl.host import CommandHost

COMMAND = "::tclbridge::call"


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


def python_error(target: str, exc: BaseException) -> ScriptError:
    """The Tcl error a script sees for a Python exception."""
    kind = type(exc).__name__
    text = str(exc)
    return ScriptError(f"{target}: {kind}: {text}" if text else f"{target}: {kind}",
                       errorcodes.python_exception(kind, text))


_SCALARS = (str, int, float, bytes, bytearray)  # bool is an int


def _unsupported(value: Any) -> str:
    """"" if `value` has a documented Tcl value, else what it is ("a set",
    "a list holding a generator"); anything else would reach Tcl as its repr."""
    if value is None or isinstance(value, _SCALARS):
        return ""
    if isinstance(value, (list, tuple)):
        items: list[Any] = list(value)
    elif isinstance(value, dict):
        odd_key = next((k for k in value if not isinstance(k, (str, int, float))), None)
        if odd_key is not None:
            return f"a dict with {_a(odd_key)} key"
        items = list(value.values())
    else:
        return _a(value)
    for item in items:
        inner = _unsupported(item)
        if inner:
            return f"{_a(value)} holding {inner}"
    return ""


def _a(value: Any) -> str:
    name = type(value).__name__
    return f"{'an' if name[0].lower() in 'aeiou' else 'a'} {name}"


class PythonCaller:
    def __init__(self, host: CommandHost) -> None:
        self.host = host
        # `tclbridge::call` itself, the proc forwarding here, and the
        # `tclbridge` package are the interpreter's (tclbridge.interp).
        host.register(PYTHON_CALL, self.call)

    def call(self, *words: str) -> Any:
        if not words:
            raise ScriptError(
                f'wrong # args: should be "{COMMAND} module.function ?arg ...?"',
                errorcodes.WRONG_ARGS,
            )
        target, args = words[0], words[1:]
        self._add_script_dir()
        try:
            result = resolve(target)(*args)
            # Checked and converted inside the try: a list that holds itself
            # (RecursionError) is a Python error like any other.
            unsupported = _unsupported(result)
            if not unsupported:
                return Converted(to_tcl(result))
        except BaseException as exc:  # noqa: BLE001 - even SystemExit becomes a Tcl error
            raise python_error(target, exc) from None
        text = f"{target} returned {unsupported}, which has no Tcl value"
        raise ScriptError(text, errorcodes.python_exception("TypeError", text))

    def _add_script_dir(self) -> None:
        script = str(self.host.call("info", "script"))
        if not script:
            return
        folder = os.path.dirname(os.path.abspath(script))
        if folder not in sys.path:
            sys.path.append(folder)


def install(host: CommandHost) -> PythonCaller:
    return PythonCaller(host)
