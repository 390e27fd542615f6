"""The single place where Python outcomes become Tcl outcomes.

tkinter turns a Python exception in a command callback into an empty Tcl
error (errorCode NONE) and re-raises it later, and turns `None` into the
string "None". So every bridge command is wrapped here: it returns a
three-element list `{code result errorcode}` which the Tcl shim re-raises with
`return -code $code -errorcode $errorcode $result`.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Callable
from typing import Any

from tclbridge.errors import TCL_ERROR, TclFailure
from tclbridge.tcl.text import from_tk, to_tk

log = logging.getLogger("tclbridge")

TCL_OK = 0


class Converted:
    """A result already made with `to_tcl` (by a command that must convert
    inside its own error handling); passed on as it is, since converting
    twice would escape its surrogates twice."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def to_tcl(value: Any) -> Any:
    """Convert a Python result to something tkinter passes as a Tcl value."""
    if isinstance(value, Converted):
        return value.value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (bytes, bytearray)):
        # Tcl "byte strings": one character per byte.
        return bytes(value).decode("latin-1")
    if isinstance(value, dict):
        return tuple(x for k, v in value.items() for x in (to_tk(str(k)), to_tcl(v)))
    if isinstance(value, (list, tuple)):
        return tuple(to_tcl(v) for v in value)
    if isinstance(value, str):
        return to_tk(value)
    if isinstance(value, (int, float)):
        return value
    return to_tk(str(value))


def tcl_command(func: Callable[..., Any]) -> Callable[..., tuple]:
    """Wrap `func` so it never raises into tkinter. Its arguments reach it
    as Tcl's characters (see tclbridge.tcl.text)."""

    @functools.wraps(func)
    def wrapper(*args: str) -> tuple:
        try:
            return (TCL_OK, to_tcl(func(*map(from_tk, args))), "")
        except TclFailure as exc:
            return (exc.code, to_tcl(exc.result), to_tcl(exc.errorcode))
        except RecursionError:
            # A structure nested past what a recursive walk can take (a
            # -parts tree thousands deep): Tcl's own error for that, as
            # tcllib gives it once Tcl's stack runs out.
            return (TCL_ERROR, "too many nested evaluations (infinite loop?)",
                    ("TCL", "LIMIT", "STACK"))
        except Exception as exc:  # noqa: BLE001 - this is the boundary
            log.debug("internal error in %s", func.__name__, exc_info=True)
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            return (
                TCL_ERROR,
                to_tk(f"tclbridge internal error in {func.__name__}: {detail}"),
                ("TCLBRIDGE", "INTERNAL", type(exc).__name__),
            )

    return wrapper
