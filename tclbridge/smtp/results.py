"""What a send ends in, in the engine's own terms.

`Session.run` returns `Sent` or raises `Refused` or `ConnectFailed`; option,
address and header errors are `UsageError` (tclbridge.engine_errors), raised
before any connection. None of them knows Tcl: `tclbridge.tcl.boundary`
makes each a Tcl result, return code and errorCode, and
`tclbridge.smtp.api` makes each a Python exception.

`tcl_result` is what tcllib's sendmessage returns or raises for each, as
plain data (tcllib's reply lists are part of its behaviour, not of Tcl's).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from tclbridge.engine_errors import UsageError, UsageKind
from tclbridge.smtp.protocol import Reply, reply_list

__all__ = [
    "ConnectCause",
    "ConnectFailed",
    "RefusedRecipient",
    "Refused",
    "SendFailure",
    "Sent",
    "Step",
    "UsageError",
    "UsageKind",
]


class RefusedRecipient(NamedTuple):
    """One `{address code diagnostic}` item of tcllib's result."""

    address: str
    code: int
    diagnostic: str


@dataclass(frozen=True)
class Sent:
    """The send ended in tcllib's return code 0: the refused recipients of
    each transaction (the message's, then the Bcc digest's if there was
    one). With refusals and no -atleastone the message was not sent
    (tcllib's RSET)."""

    transactions: tuple[tuple[RefusedRecipient, ...], ...] = ((),)

    @property
    def refused(self) -> list[RefusedRecipient]:
        """Every refused recipient, in tcllib's order."""
        return [item for transaction in self.transactions for item in transaction]


class Step(enum.Enum):
    """Where a transaction was refused."""

    MAIL = "MAIL FROM"
    DATA = "DATA"
    END_OF_DATA = "the end of the data"  # the body, the final dot, or its reply


class SendFailure(Exception):
    """The send failed after its options were accepted."""

    @property
    def tcl_result(self) -> object:
        raise NotImplementedError


class Refused(SendFailure):
    """MAIL FROM, DATA or the end of the data was refused, or the connection
    was lost there (a reply with code 400, as tcllib makes one). `reply` is
    None where tcllib reads no reply (-maxsecs 0); `sender` is the envelope
    sender. `reported` is set only for an outcome that came back from Tcl,
    as it was given there."""

    def __init__(
        self,
        reply: Reply | None,
        step: Step | None = None,
        *,
        sender: str = "",
        reported: object = None,
    ) -> None:
        super().__init__(reply.diagnostic if reply else "")
        self.reply = reply
        self.step = step
        self.sender = sender
        self._reported = reported

    @property
    def tcl_result(self) -> object:
        """tcllib's result: the reply list, or "" where it read no reply."""
        if self._reported is not None:
            return self._reported
        return reply_list(self.reply) if self.reply else ""


class ConnectCause(enum.Enum):
    """Why no server took the connection."""

    SERVER = "server"  # each server failed; tcllib's text of the last failure
    NO_SERVER = "no-server"  # there was no server to try
    SITE_POLICY_TLS = "site-policy-tls"  # the site policy's `tls.required` was not met
    STARTTLS_POLICY = "starttls-policy"  # -tlspolicy gave up after STARTTLS was refused


class ConnectFailed(SendFailure):
    """No server took the connection. `reason` is the text a script gets:
    the diagnostic of the last greeting, the last socket error, or the
    bridge's reason (TLS, credentials). When -tlspolicy gave up after
    STARTTLS was refused, `starttls_code` is that reply's code and
    `greeting` the greeting tcllib then reports."""

    def __init__(
        self,
        reason: str,
        cause: ConnectCause = ConnectCause.SERVER,
        *,
        starttls_code: int | None = None,
        greeting: Reply | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.cause = cause
        self.starttls_code = starttls_code
        self.greeting = greeting

    @classmethod
    def starttls_refused(cls, greeting: Reply, code: int) -> ConnectFailed:
        return cls(greeting.diagnostic, ConnectCause.STARTTLS_POLICY, starttls_code=code,
                   greeting=greeting)

    @property
    def tcl_result(self) -> object:
        """tcllib's error: its text, or (-tlspolicy giving up) the greeting's
        whole reply list."""
        if self.greeting is not None:
            return reply_list(self.greeting)
        return self.reason
