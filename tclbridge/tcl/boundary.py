"""The one place where outcomes become Tcl outcomes.

The engines (tclbridge.smtp, tclbridge.mime) speak their own language:
`Sent`, `Refused`, `ConnectFailed`, and errors with a kind (`UsageError`,
`MimeError`: tclbridge.engine_errors). `TCL_OUTCOMES` below is the one
table that gives each a Tcl return code, result and errorCode; a new domain
error gets its row there (looked up along the class's MRO, so a subclass
shares its base's row unless it has its own), a new kind its errorCode in
`ENGINE_ERRORCODES` (the errorCodes themselves are named in
`tclbridge.tcl.errorcodes`).

tkinter turns a Python exception in a command callback into an empty Tcl
error (errorCode NONE) and re-raises it later, and turns `None` into the
string "None". So every bridge command is wrapped here: it returns a
three-element list `{code result errorcode}` which the Tcl shim re-raises with
`return -code $code -errorcode $errorcode $result`.
"""

from __future__ import annotations

import enum
import errno
import functools
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tclbridge.engine_errors import EngineError, MimeKind, UsageKind
from tclbridge.errors import TclFailure
from tclbridge.smtp.protocol import reply_list
from tclbridge.smtp.results import ConnectCause, ConnectFailed, Refused, Sent
from tclbridge.tcl import errorcodes
from tclbridge.tcl.errorcodes import ErrorCode
from tclbridge.tcl.text import from_tk, to_tk

log = logging.getLogger("tclbridge")

TCL_OK = 0
TCL_ERROR = 1
TCL_BREAK = 3
SMTP_FAILURE = 7  # tcllib's return code for a refused MAIL/DATA or a lost connection


@dataclass(frozen=True)
class TclOutcome:
    code: int
    result: Any
    errorcode: ErrorCode = errorcodes.NONE


# The errorCode of each kind of engine error (a function of the error where
# it holds part of the errorCode).
ENGINE_ERRORCODES: dict[enum.Enum, ErrorCode | Callable[[Any], ErrorCode]] = {
    UsageKind.INVALID: errorcodes.NONE,
    UsageKind.NOT_A_CHARACTER: errorcodes.NOT_A_CHARACTER,
    MimeKind.INVALID: errorcodes.NONE,
    # Tcl's `binary decode base64 -strict`, which tcllib's base64 uses.
    MimeKind.BAD_BASE64: errorcodes.BAD_BASE64,
    # tcllib reading `state(...)` of a part that is gone.
    MimeKind.GONE_PART: errorcodes.LOOKUP_VARNAME,
    MimeKind.TOO_DEEP: errorcodes.MIME_TOO_DEEP,
    # Tcl's `open` and `file size`.
    MimeKind.FILE: lambda exc: errorcodes.posix(errno.errorcode.get(exc.errno, "EIO"), exc.reason),
}


def _engine_error(exc: EngineError) -> TclOutcome:
    errorcode = ENGINE_ERRORCODES[exc.kind]
    return TclOutcome(TCL_ERROR, exc.text, errorcode(exc) if callable(errorcode) else errorcode)


def _refused(exc: Refused) -> TclOutcome:
    # tcllib's reply list, or "" where it read no reply (-maxsecs 0).
    return TclOutcome(SMTP_FAILURE, reply_list(exc.reply) if exc.reply else "")


def _connect_failed(exc: ConnectFailed) -> TclOutcome:
    # tcllib's text, or (-tlspolicy giving up) the greeting's reply list.
    result = reply_list(exc.greeting) if exc.greeting is not None else exc.reason
    if exc.starttls_code is not None:
        # tcllib: the STARTTLS code as errorCode.
        return TclOutcome(TCL_ERROR, result, errorcodes.smtp_reply(exc.starttls_code))
    errorcode = {
        # tcllib, with no server to try, reads a variable it never set.
        ConnectCause.NO_SERVER: errorcodes.READ_VARNAME,
        ConnectCause.SITE_POLICY_TLS: errorcodes.POLICY_TLS,
    }.get(exc.cause, errorcodes.NONE)
    return TclOutcome(TCL_ERROR, result, errorcode)


# The table: what a script sees for each outcome the Python side raises.
TCL_OUTCOMES: dict[type[BaseException], Callable[[Any], TclOutcome]] = {
    # Already in Tcl's terms (the command layer's own errors).
    TclFailure: lambda exc: TclOutcome(exc.code, exc.result, exc.errorcode),
    # The engines' errors (UsageError, MimeError), by kind.
    EngineError: _engine_error,
    Refused: _refused,
    ConnectFailed: _connect_failed,
    # A structure nested past what a recursive walk can take (a -parts tree
    # thousands deep): Tcl's own error for that, as tcllib gives it once
    # Tcl's stack runs out.
    RecursionError: lambda exc: TclOutcome(
        TCL_ERROR, "too many nested evaluations (infinite loop?)", errorcodes.STACK_LIMIT
    ),
}


def tcl_outcome(exc: BaseException, where: str = "") -> TclOutcome:
    """The Tcl outcome of `exc`: its row in the table, or (anything else)
    an internal error that names it, never a traceback."""
    for kind in type(exc).__mro__:
        row = TCL_OUTCOMES.get(kind)
        if row is not None:
            return row(exc)
    log.debug("internal error in %s", where, exc_info=exc)
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return TclOutcome(
        TCL_ERROR,
        f"tclbridge internal error in {where}: {detail}",
        errorcodes.internal(type(exc).__name__),
    )


def sent_result(sent: Sent, concat: Callable[[list[tuple]], str]) -> Any:
    """tcllib's result for a send that ended in code 0: its refused
    `{address code text}` items. With a Bcc transaction tcllib appends its
    list to the first as a string; `concat` is Tcl's `string cat`."""
    lists = [
        tuple((r.address, str(r.code), r.diagnostic) for r in transaction)
        for transaction in sent.transactions
        if transaction
    ]
    if len(lists) > 1:
        return concat(lists)
    return lists[0] if lists else ""


# -- values and commands ---------------------------------------------------------


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
        except Exception as exc:  # noqa: BLE001 - this is the boundary
            outcome = tcl_outcome(exc, func.__name__)
            return (outcome.code, to_tcl(outcome.result), to_tcl(outcome.errorcode))

    return wrapper
