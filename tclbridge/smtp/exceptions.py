"""The Python exceptions for what tcllib reports as a Tcl error or return code 7.

tcllib's `smtp::sendmessage` has three ways to fail, and each has a class:

- a Tcl error before any connection (bad option, address or header)
  -> `SMTPUsageError` (also a `ValueError`);
- a Tcl error because no server took the connection (refused, greeting
  not 220, TLS failure or -tlspolicy said no) -> `SMTPConnectError`;
- return code 7 with a reply list: MAIL FROM, DATA or the end of the data
  refused, or the connection lost during the transaction -> `SMTPRefusedError`.

Each carries the SMTP `code` (None where there is none) and `diagnostic`,
and `tcl_result`: what a Tcl script would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence


class SMTPError(Exception):
    """Base class: `code` (int or None), `diagnostic` (str), `tcl_result`."""

    def __init__(self, diagnostic: str, code: int | None = None, tcl_result: object = "") -> None:
        super().__init__(diagnostic if code is None else f"{code} {diagnostic}")
        self.code = code
        self.diagnostic = diagnostic
        self.tcl_result = tcl_result


class SMTPUsageError(SMTPError, ValueError):
    """The call itself is wrong: tcllib's option, address and header errors."""


class SMTPConnectError(SMTPError):
    """No server took the connection; the diagnostic is tcllib's error text."""


class SMTPRefusedError(SMTPError):
    """tcllib's return code 7: the transaction failed after connecting."""


def reply_fields(result: object) -> tuple[int | None, str]:
    """(code, diagnostic) of a reply list as tcllib returns it
    (`diagnostic TEXT args {...} code N` or `code N diagnostic TEXT`); a
    plain string is a diagnostic without a code."""
    if isinstance(result, Sequence) and not isinstance(result, str) and len(result) % 2 == 0:
        fields = {str(k): v for k, v in zip(result[::2], result[1::2], strict=True)}
        if "code" in fields:
            try:
                code: int | None = int(str(fields["code"]))
            except ValueError:
                code = None
            return code, str(fields.get("diagnostic", ""))
    return None, str(result)


def refused(result: object) -> SMTPRefusedError:
    """The exception for a return code 7 with this result."""
    code, diagnostic = reply_fields(result)
    return SMTPRefusedError(diagnostic, code, result)


def connect_failed(result: object, errorcode: Sequence[str]) -> SMTPConnectError:
    """The exception for tcllib's connection error: its text, or (when
    -tlspolicy refused a failed STARTTLS) the greeting's reply list with the
    STARTTLS code as errorCode."""
    code, diagnostic = reply_fields(result)
    if errorcode and errorcode[0].isdigit():
        code = int(errorcode[0])
    return SMTPConnectError(diagnostic, code, result)
