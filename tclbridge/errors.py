"""The Tcl layer's errors: outcomes already in Tcl's terms, raised by a
command's Python side towards the Tcl script that called it.

`TclFailure` and `ScriptError` carry a return code, a result and an
errorCode, for the Tcl command layer (tclbridge/tcl, pycall) and nothing
else. The engines (tclbridge.smtp, tclbridge.mime) raise their own errors,
`tclbridge.engine_errors`, and must not use these
(tests/test_engine_imports.py).

The other direction, Python calling Tcl and Tcl failing, raises
`tclbridge.tcl.checked.TclError` (public as `tclbridge.TclError`).
"""

from __future__ import annotations

from collections.abc import Sequence

from tclbridge.tcl import checked, errorcodes
from tclbridge.tcl.text import from_tk


class TclFailure(Exception):
    """An outcome a Tcl script should see as a non-OK return code.

    `result` is what the script gets (a string or a list); `errorcode` the
    value of ::errorCode (tcllib's own errors use NONE); `code` Tcl's return
    code (1, an error, unless a command layer says otherwise).
    """

    def __init__(
        self,
        result: object,
        *,
        code: int = 1,
        errorcode: Sequence[str] = errorcodes.NONE,
    ) -> None:
        Exception.__init__(self, result)
        self.result = result
        self.code = code
        self.errorcode = tuple(errorcode)


class ScriptError(TclFailure):
    """A plain Tcl error with a message, as tcllib's `error "..."`: what the
    script calling a bridge command sees."""

    def __init__(self, message: str, errorcode: Sequence[str] = errorcodes.NONE) -> None:
        super().__init__(message, errorcode=errorcode)

    @classmethod
    def passing_on(cls, error: checked.TclError) -> ScriptError:
        """The error a command's own call of Tcl met, passed on to the
        script as Tcl gave it: its message and errorCode (NONE if empty),
        in Tcl's characters."""
        return cls(from_tk(str(error)), from_tk(error.errorcode) or errorcodes.NONE)
