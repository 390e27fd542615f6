"""The engine's results and their two faces: the boundary's one table
(tclbridge.tcl.boundary: Tcl return code, result, errorCode) and the Python
API's exceptions (tclbridge.smtp.api.python_error), smtplib's where the
meaning is the same. End to end, through real servers: test_python_api.py."""

from __future__ import annotations

import smtplib
import tkinter

import pytest

from tclbridge.engine_errors import MimeError, MimeFileError, MimeKind, UsageError, UsageKind
from tclbridge.errors import ScriptError
from tclbridge.smtp.api import python_error
from tclbridge.smtp.exceptions import (
    SMTPConnectError,
    SMTPDataRefusedError,
    SMTPRefusedError,
    SMTPSenderRefusedError,
    SMTPUsageError,
)
from tclbridge.smtp.protocol import Reply
from tclbridge.smtp.results import ConnectCause, ConnectFailed, Refused, SendFailure, Step
from tclbridge.tcl.boundary import tcl_outcome
from tclbridge.tcl_module import refused_from_tcl

GREETING = Reply(220, "mx ready", ("PIPELINING",))
REFUSED = Reply(553, "5.7.1 go away")
LOST = Reply(400, "premature end-of-file from server", plain=True)

# outcome -> (return code, result, errorCode) a script sees.
TCL_TABLE = [
    (UsageError('need -header "To ..."'), (1, 'need -header "To ..."', ("NONE",))),
    (UsageError("error in -client: lone surrogate U+D800 is not a character",
                UsageKind.NOT_A_CHARACTER),
     (1, "error in -client: lone surrogate U+D800 is not a character",
      ("TCLBRIDGE", "TEXT", "SURROGATE"))),
    (ScriptError("no such part", ("MIME", "NOPART")), (1, "no such part", ("MIME", "NOPART"))),
    (MimeError("key X not in header"), (1, "key X not in header", ("NONE",))),
    (MimeError('invalid base64 character "R" at position 4', MimeKind.BAD_BASE64),
     (1, 'invalid base64 character "R" at position 4', ("TCL", "BINARY", "DECODE", "INVALID"))),
    (MimeError('can\'t read "state(header)": no such variable', MimeKind.GONE_PART),
     (1, 'can\'t read "state(header)": no such variable', ("TCL", "LOOKUP", "VARNAME"))),
    (MimeError("MIME parts nested too deeply (more than 250 levels)", MimeKind.TOO_DEEP),
     (1, "MIME parts nested too deeply (more than 250 levels)", ("MIME", "PARSE", "DEPTH"))),
    (MimeFileError('couldn\'t open "/x": no such file or directory', 2,
                   "no such file or directory"),
     (1, 'couldn\'t open "/x": no such file or directory',
      ("POSIX", "ENOENT", "no such file or directory"))),
    (Refused(REFUSED, Step.MAIL),
     (7, ["diagnostic", "5.7.1 go away", "args", [], "code", "553"], ("NONE",))),
    (Refused(LOST, Step.END_OF_DATA),
     (7, ["code", "400", "diagnostic", "premature end-of-file from server"], ("NONE",))),
    (Refused(None, Step.END_OF_DATA), (7, "", ("NONE",))),
    (ConnectFailed("couldn't open socket: connection refused"),
     (1, "couldn't open socket: connection refused", ("NONE",))),
    (ConnectFailed('can\'t read "code": no such variable', ConnectCause.NO_SERVER),
     (1, 'can\'t read "code": no such variable', ("TCL", "READ", "VARNAME"))),
    (ConnectFailed("site policy requires TLS, but mx does not offer STARTTLS",
                   ConnectCause.SITE_POLICY_TLS),
     (1, "site policy requires TLS, but mx does not offer STARTTLS",
      ("TCLBRIDGE", "POLICY", "TLS"))),
    (ConnectFailed.starttls_refused(GREETING, 454),
     (1, ["diagnostic", "mx ready", "args", ["PIPELINING"], "code", "220"], ("454",))),
    (RecursionError("deep"),
     (1, "too many nested evaluations (infinite loop?)", ("TCL", "LIMIT", "STACK"))),
    (KeyError("x"), (1, "tclbridge internal error in here: KeyError: 'x'",
                     ("TCLBRIDGE", "INTERNAL", "KeyError"))),
]


@pytest.mark.parametrize(("outcome", "tcl"), TCL_TABLE, ids=lambda v: type(v).__name__)
def test_the_boundary_table(outcome: BaseException, tcl: tuple) -> None:
    got = tcl_outcome(outcome, "here")
    assert (got.code, got.result, got.errorcode) == tcl


@pytest.mark.parametrize(("outcome", "tcl"), [
    row for row in TCL_TABLE if isinstance(row[0], (UsageError, MimeError, SendFailure))
], ids=lambda v: type(v).__name__)
def test_a_python_exception_carries_what_a_script_sees(outcome: BaseException,
                                                       tcl: tuple) -> None:
    """Each face builds tcllib's result from the engine's data: the Python
    exception's `tcl_result` is the boundary's result for the same outcome."""
    assert python_error(outcome).tcl_result == tcl[1]


def test_python_exceptions_are_smtplibs_where_the_meaning_is_the_same() -> None:
    sender = python_error(Refused(REFUSED, Step.MAIL, sender="me@x.y"))
    assert type(sender) is SMTPSenderRefusedError
    assert isinstance(sender, SMTPRefusedError) and isinstance(sender, smtplib.SMTPSenderRefused)
    assert (sender.code, sender.diagnostic, sender.sender) == (553, "5.7.1 go away", "me@x.y")
    assert (sender.smtp_code, sender.smtp_error, str(sender)) == (
        553, b"5.7.1 go away", "553 5.7.1 go away")
    for step in (Step.DATA, Step.END_OF_DATA):
        data = python_error(Refused(LOST, step))
        assert type(data) is SMTPDataRefusedError and isinstance(data, smtplib.SMTPDataError)
        assert data.tcl_result == ["code", "400", "diagnostic", LOST.diagnostic]
    unread = python_error(Refused(None, Step.END_OF_DATA))
    assert (unread.code, unread.diagnostic, unread.smtp_code, unread.tcl_result) == (
        None, "", -1, "")
    connect = python_error(ConnectFailed.starttls_refused(GREETING, 454))
    assert type(connect) is SMTPConnectError and isinstance(connect, smtplib.SMTPConnectError)
    assert (connect.code, connect.diagnostic, connect.smtp_code) == (454, "mx ready", 454)
    usage = python_error(UsageError("unknown option -x"))
    assert type(usage) is SMTPUsageError and isinstance(usage, ValueError)
    assert not isinstance(usage, smtplib.SMTPException)  # a usage error is no I/O error
    assert (str(usage), usage.tcl_result) == ("unknown option -x", "unknown option -x")
    # A message that cannot be built is a usage error too: nothing was sent.
    mime = python_error(MimeFileError('couldn\'t open "/x": no such file or directory', 2,
                                      "no such file or directory"))
    assert type(mime) is SMTPUsageError
    assert str(mime) == 'couldn\'t open "/x": no such file or directory'


def test_an_existing_smtplib_except_clause_catches_a_refused_sender() -> None:
    def send() -> None:
        raise python_error(Refused(REFUSED, Step.MAIL, sender="me@x.y"))

    try:
        send()
    except smtplib.SMTPSenderRefused as exc:
        caught = (exc.smtp_code, exc.smtp_error, exc.sender)
    assert caught == (553, b"5.7.1 go away", "me@x.y")
    with pytest.raises(smtplib.SMTPResponseException):
        raise python_error(Refused(LOST, Step.DATA))


@pytest.mark.parametrize(("result", "code", "diagnostic"), [
    ("diagnostic {5.7.1 go away} args {} code 553", 553, "5.7.1 go away"),
    ("code 400 diagnostic {timed out}", 400, "timed out"),
    ("", None, ""),
])
def test_a_code_7_from_tcl_reads_back(result: str, code: int | None, diagnostic: str) -> None:
    tcl = tkinter.Tcl()
    error = refused_from_tcl(7, result, lambda text: list(tcl.tk.splitlist(text)))
    assert error is not None
    assert type(error) is SMTPRefusedError  # where it was refused is not said
    assert (error.code, error.diagnostic) == (code, diagnostic)
    assert refused_from_tcl(1, result, str.split) is None
