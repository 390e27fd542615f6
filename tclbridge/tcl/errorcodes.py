"""The errorCodes the Tcl layer gives, written here and nowhere else.

Where the bridge raises an error that Tcl or tcllib would raise, it gives
Tcl's errorCode for it (Tcl's manual, `tclvars`: the first word says what
kind of error, NONE for a plain `error "..."`); its own errors start with
TCLBRIDGE, MIME or PYTHON. `tests/test_errorcodes.py` fails when an
errorCode is written as a literal elsewhere in tclbridge/.
"""

from __future__ import annotations

ErrorCode = tuple[str, ...]

# A plain `error "..."` (tcllib's own errors), and what ::errorCode holds
# when no errorCode was given.
NONE: ErrorCode = ("NONE",)

# -- Tcl's own, where the bridge stands in for the Tcl command that fails -------

WRONG_ARGS: ErrorCode = ("TCL", "WRONGARGS")  # wrong # args: should be "..."
# `array set` (tcllib reading options) given an odd-length list.
ODD_LIST: ErrorCode = ("TCL", "ARGUMENT", "FORMAT")
NOT_A_BOOLEAN: ErrorCode = ("TCL", "VALUE", "NUMBER")  # expected boolean value
NOT_AN_INTEGER: ErrorCode = ("TCL", "VALUE", "INTEGER")  # `incr` on a non-integer
# can't read "var(element)": no such element / variable.
READ_VARNAME: ErrorCode = ("TCL", "READ", "VARNAME")
LOOKUP_VARNAME: ErrorCode = ("TCL", "LOOKUP", "VARNAME")  # an array that is gone
# `binary decode base64 -strict`, which tcllib's base64 uses.
BAD_BASE64: ErrorCode = ("TCL", "BINARY", "DECODE", "INVALID")
# too many nested evaluations: Tcl's stack ran out.
STACK_LIMIT: ErrorCode = ("TCL", "LIMIT", "STACK")


def posix(errno_name: str, message: str) -> ErrorCode:
    """Tcl's `open`, `file size`...: POSIX, the errno's name, the message."""
    return ("POSIX", errno_name, message)


def smtp_reply(code: int) -> ErrorCode:
    """tcllib's refused STARTTLS under `-tlspolicy`: the reply code alone."""
    return (str(code),)


# -- the bridge's own ---------------------------------------------------------------

NOT_A_CHARACTER: ErrorCode = ("TCLBRIDGE", "TEXT", "SURROGATE")  # a lone surrogate
POLICY_TLS: ErrorCode = ("TCLBRIDGE", "POLICY", "TLS")  # the site policy requires TLS
MIME_TOO_DEEP: ErrorCode = ("MIME", "PARSE", "DEPTH")  # parts nested past the limit
# load_tcl's `exit N`: these two words, then N.
EXIT_PREFIX: ErrorCode = ("TCLBRIDGE", "EXIT")


def internal(exception_type: str) -> ErrorCode:
    """A Python exception with no row in boundary's table: a bridge bug."""
    return ("TCLBRIDGE", "INTERNAL", exception_type)


def python_exception(exception_type: str, text: str) -> ErrorCode:
    """A Python exception in a function called with `tclbridge::call`."""
    return ("PYTHON", exception_type, text)
