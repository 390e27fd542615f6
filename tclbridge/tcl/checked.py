"""Calling Tcl from Python with errors that say what Tcl said.

tkinter raises `tkinter.TclError` with the message alone; the errorCode and
errorInfo are left in Tcl's globals, where the next command may change
them. `call` and `evaluate` read them at once and raise `TclError`, a
subclass of tkinter's (so `except tkinter.TclError` still catches it).
"""

from __future__ import annotations

import tkinter

from tclbridge.tcl import errorcodes
from tclbridge.tcl.errorcodes import ErrorCode

# typing is for type checkers only: importing it costs every `tclbridge run`.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class TclError(tkinter.TclError):
    """A Tcl error: the message, `errorcode` (::errorCode as a tuple of
    words) and `errorinfo` (Tcl's stack trace, ::errorInfo)."""

    def __init__(self, message: str, errorcode: ErrorCode = errorcodes.NONE,
                 errorinfo: str = "") -> None:
        super().__init__(message)
        self.errorcode = errorcode
        self.errorinfo = errorinfo


def _error(tk: Any, exc: tkinter.TclError) -> TclError:
    try:
        errorcode = tuple(str(w) for w in tk.splitlist(tk.globalgetvar("errorCode")))
        errorinfo = str(tk.globalgetvar("errorInfo"))
    except tkinter.TclError:  # the script unset them
        errorcode, errorinfo = errorcodes.NONE, ""
    return TclError(str(exc), errorcode, errorinfo)


def call(tk: Any, *args: Any) -> Any:
    """`tk.call(*args)` (tk: a Tcl app, `tkinter.Tcl().tk`)."""
    try:
        return tk.call(*args)
    except TclError:
        raise
    except tkinter.TclError as exc:
        raise _error(tk, exc) from None


def evaluate(tk: Any, script: str) -> str:
    """`tk.eval(script)`."""
    try:
        return tk.eval(script)
    except TclError:
        raise
    except tkinter.TclError as exc:
        raise _error(tk, exc) from None
