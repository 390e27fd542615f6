"""Errors, in two parts.

The engine's part: `UsageError`, a call that is wrong (a bad option,
address or header), with tcllib's exact text as data and a `kind`. The
engines (tclbridge.smtp, tclbridge.mime) raise it and know nothing of Tcl;
`tclbridge.tcl.boundary` decides the Tcl error and errorCode it becomes,
`tclbridge.smtp.api` the Python exception.

The Tcl part: `TclFailure` and `TclError`, an outcome already in Tcl's terms
(a return code, a result, an errorCode), for the Tcl command layer. The
engines must not use it (tests/test_engine_imports.py); the mime engine still
does until its errors are domain errors too.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

# -- the engine's part ---------------------------------------------------------


class UsageKind(enum.Enum):
    """What is wrong with a call; the boundary maps each to an errorCode."""

    # tcllib's own option, address and header errors, and the bridge's
    # refusals of the same sort (header injection): errorCode NONE.
    INVALID = "invalid"
    # A lone surrogate where it would go into an SMTP command (COMPAT
    # lone-surrogate): no character a server could read.
    NOT_A_CHARACTER = "not-a-character"


class UsageError(Exception):
    """The call itself is wrong; `text` is what tcllib says (or the bridge,
    where it refuses more than tcllib does)."""

    def __init__(self, text: str, kind: UsageKind = UsageKind.INVALID) -> None:
        super().__init__(text)
        self.text = text
        self.kind = kind


# -- the Tcl part ----------------------------------------------------------------


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
        errorcode: Sequence[str] = ("NONE",),
    ) -> None:
        Exception.__init__(self, result)
        self.result = result
        self.code = code
        self.errorcode = tuple(errorcode)


class TclError(TclFailure, UsageError):
    """A plain Tcl error with a message, as tcllib's `error "..."`.

    It is a `UsageError` too, for as long as the mime engine raises it: to
    the smtp engine and the Python API, an error from building or checking
    a message is a usage error, and they need not know this class. The
    boundary looks `TclFailure` up first, so its errorCode is kept."""

    def __init__(self, message: str, errorcode: Sequence[str] = ("NONE",)) -> None:
        TclFailure.__init__(self, message, errorcode=errorcode)
        self.text = message
        self.kind = UsageKind.INVALID
