"""What a send ends in, in the engine's own terms.

`Session.run` returns `Sent` or raises `Refused` or `ConnectFailed`; option,
address and header errors are `UsageError` (tclbridge.engine_errors), raised
before any connection. Each holds plain data (the reply, the step, the
reason, the cause) and none knows what a caller sees: `tclbridge.tcl.boundary`
makes each a Tcl result, return code and errorCode, and `tclbridge.smtp.api`
makes each a Python exception.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

from tclbridge.engine_errors import UsageError, UsageKind
from tclbridge.smtp.protocol import Reply

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


class Refused(SendFailure):
    """MAIL FROM, DATA or the end of the data (`step`) was refused, or the
    connection was lost there (a reply with code 400, as tcllib makes one).
    `reply` is None where tcllib reads no reply (-maxsecs 0); `sender` is
    the envelope sender."""

    def __init__(self, reply: Reply | None, step: Step, *, sender: str = "") -> None:
        super().__init__(reply.diagnostic if reply else "")
        self.reply = reply
        self.step = step
        self.sender = sender


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

