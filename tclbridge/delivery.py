"""What a delivery log is told of each transaction a send makes: a plain
record, built by the engine (tclbridge.smtp.session) and written by
tclbridge.delivery_log. Nothing Tcl, no secret, no message content."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple


class Outcome(enum.Enum):
    """How one transaction (or the attempt to open a session for it) ended."""

    SENT = "sent"  # the server took the message (some recipients may be refused)
    REFUSED_RCPT = "refused-rcpt"  # a recipient refused: RSET, nothing sent
    NO_RCPT = "no-rcpt"  # no recipient to send to (a Bcc digest to nobody): RSET
    REFUSED_MAIL = "refused-mail"  # MAIL FROM refused
    REFUSED_DATA = "refused-data"  # DATA refused
    REFUSED_MESSAGE = "refused-message"  # the reply to the final dot, or the connection lost
    UNCONFIRMED = "unconfirmed"  # the message went out, no reply read (-maxsecs 0)
    CONNECT_FAILED = "connect-failed"  # no server took the connection
    REFUSED_POLICY = "refused-policy"  # the site policy refused every recipient: no connection


class DeliveryRecipient(NamedTuple):
    address: str
    code: int | None  # the reply to RCPT (or the policy's code); None: never asked


@dataclass(frozen=True)
class Delivery:
    """One transaction of a send, as a delivery log records it: no secret,
    no message content."""

    transaction: str  # "message", or "bcc" for the Bcc digest
    outcome: Outcome
    sender: str  # the envelope sender
    recipients: tuple[DeliveryRecipient, ...]
    # "host:port" of the server used; with CONNECT_FAILED each server tried.
    servers: tuple[str, ...]
    tls: str | None  # the TLS version ("TLSv1.3"), None for a plain session
    size: int | None  # bytes of the message sent (CRLF line ends, as SIZE counts); None: no DATA
    message_id: str | None
    status: int | None  # the deciding reply's code (250 for sent), if any
    detail: str  # its text, or why the connection failed


# What the engine calls with each `Delivery` (BridgeConfig.delivery_log).
DeliveryObserver = Callable[[Delivery], None]
