"""Errors that cross the Tcl boundary.

Python code raises these; `tclbridge.tcl.boundary` is the one place that turns
them (and anything unexpected) into a Tcl return code, result and errorCode.
"""

from __future__ import annotations

from collections.abc import Sequence

TCL_ERROR = 1
SMTP_FAILURE = 7  # tcllib's return code for a refused MAIL/DATA or a timeout


class TclFailure(Exception):
    """An outcome a Tcl script should see as a non-OK return code.

    `result` is what the script gets (a string or a list); `errorcode` the
    value of ::errorCode (tcllib's own errors use NONE).
    """

    def __init__(
        self,
        result: object,
        *,
        code: int = TCL_ERROR,
        errorcode: Sequence[str] = ("NONE",),
    ) -> None:
        super().__init__(result)
        self.result = result
        self.code = code
        self.errorcode = tuple(errorcode)


class TclError(TclFailure):
    """A plain Tcl error with a message, as tcllib's `error "..."`."""

    def __init__(self, message: str, errorcode: Sequence[str] = ("NONE",)) -> None:
        super().__init__(message, code=TCL_ERROR, errorcode=errorcode)
