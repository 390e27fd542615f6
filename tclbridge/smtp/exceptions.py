"""The Python exceptions for what tcllib reports as a Tcl error or return code 7.

tcllib's `smtp::sendmessage` has three ways to fail, and each has a class
(`tclbridge.smtp.api` maps the engine's results to them):

- a Tcl error before any connection (bad option, address or header)
  -> `SMTPUsageError` (also a `ValueError`);
- a Tcl error because no server took the connection (refused, greeting
  not 220, TLS failure or -tlspolicy said no) -> `SMTPConnectError` (also
  `smtplib.SMTPConnectError`);
- return code 7 with a reply list: MAIL FROM, DATA or the end of the data
  refused, or the connection lost during the transaction -> `SMTPRefusedError`
  (an `smtplib.SMTPResponseException`): `SMTPSenderRefusedError` (also
  `smtplib.SMTPSenderRefused`) for MAIL FROM, `SMTPDataRefusedError` (also
  `smtplib.SMTPDataError`) for DATA and the end of the data.

So code written for smtplib keeps working: `except smtplib.SMTPException`
catches the last two kinds, with smtplib's `smtp_code` (-1 where there is no
SMTP code) and `smtp_error` (bytes). Refused recipients are no exception:
tcllib returns them, and so does `sendmessage`.

Each carries the SMTP `code` (None where there is none) and `diagnostic`,
and `tcl_result`: what a Tcl script would have seen.
"""

from __future__ import annotations

import smtplib


def _reply_bytes(text: str) -> bytes:
    """A diagnostic as smtplib keeps replies: bytes (a server's are Latin-1
    decoded here, so this gives its bytes back)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


class SMTPError(Exception):
    """Base class: `code` (int or None), `diagnostic` (str), `tcl_result`."""

    # smtplib's types for its names (always bytes here): the subclasses
    # that are smtplib exceptions must agree with their smtplib base.
    smtp_code: int
    smtp_error: bytes | str

    def __init__(self, diagnostic: str, code: int | None = None, tcl_result: object = "") -> None:
        # Not super().__init__: the smtplib bases each want other arguments,
        # and OSError's would read (code, text) as (errno, strerror).
        Exception.__init__(self, diagnostic if code is None else f"{code} {diagnostic}")
        self.code = code
        self.diagnostic = diagnostic
        self.tcl_result = tcl_result
        # smtplib's names, for the subclasses that are smtplib exceptions.
        self.smtp_code = -1 if code is None else code
        self.smtp_error = _reply_bytes(diagnostic)


class SMTPUsageError(SMTPError, ValueError):
    """The call itself is wrong: tcllib's option, address and header errors."""


class SMTPConnectError(SMTPError, smtplib.SMTPConnectError):
    """No server took the connection; the diagnostic is tcllib's error text."""


class SMTPRefusedError(SMTPError, smtplib.SMTPResponseException):
    """tcllib's return code 7: the transaction failed after connecting."""


class SMTPSenderRefusedError(SMTPRefusedError, smtplib.SMTPSenderRefused):
    """MAIL FROM was refused (or the connection lost there); `sender` is
    the envelope sender."""

    smtp_error: bytes  # as smtplib.SMTPSenderRefused has it

    def __init__(self, diagnostic: str, code: int | None = None, tcl_result: object = "",
                 sender: str = "") -> None:
        super().__init__(diagnostic, code, tcl_result)
        self.sender = sender


class SMTPDataRefusedError(SMTPRefusedError, smtplib.SMTPDataError):
    """DATA or the end of the data was refused, or the connection was lost
    or timed out while the message went out or its reply was awaited."""
