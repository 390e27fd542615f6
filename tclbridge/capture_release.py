"""Release: send a captured message on to a real relay, through the bridge's
own smtp engine (tclbridge.smtp.sendmessage) with its TLS verification and
the trusted CA files of the environment's settings, as `tclbridge run`
would. The envelope is the capture's (MAIL FROM and RCPT TO as captured).
The engine sends a part, as tcllib's sendmessage does, so the captured
bytes are parsed and written again: a message the bridge wrote goes out
byte for byte; another may gain what tcllib's sendmessage adds
(MIME-Version, Content-ID, Content-Type, and a Sender header when MAIL
FROM is not the From address)."""

from __future__ import annotations

from dataclasses import dataclass

from tclbridge.capture_store import CapturedMessage
from tclbridge.config import BridgeConfig
from tclbridge.host_port import format_host_port
from tclbridge.smtp import sendmessage
from tclbridge.smtp.exceptions import SMTPConnectError, SMTPError, SMTPUsageError


@dataclass(frozen=True)
class ReleaseOutcome:
    status: str  # "sent", "refused", "connection failed" or "not sent"
    relay: str  # HOST:PORT
    details: tuple[str, ...]  # the relay's replies, or why nothing was sent

    @property
    def sent(self) -> bool:
        return self.status == "sent"


def release(message: CapturedMessage, relay: tuple[str, int],
            config: BridgeConfig) -> ReleaseOutcome:
    """Send `message` to `relay`; what happened (never raises an SMTPError)."""
    entry = message.entry
    where = format_host_port(relay)
    if not entry.rcpt_tos:
        return ReleaseOutcome("not sent", where, ("the capture has no recipient",))
    try:
        refused = sendmessage(message.raw, servers=[relay[0]], ports=[relay[1]],
                              originator=entry.mail_from, recipients=list(entry.rcpt_tos),
                              config=config)
    except SMTPConnectError as exc:
        return ReleaseOutcome("connection failed", where, (exc.diagnostic,))
    except SMTPUsageError as exc:
        return ReleaseOutcome("not sent", where, (exc.diagnostic,))
    except SMTPError as exc:
        reply = f"{exc.code} {exc.diagnostic}" if exc.code is not None else exc.diagnostic
        return ReleaseOutcome("refused", where, (reply,))
    if refused:
        # Without -atleastone the engine sends to nobody when one is refused.
        return ReleaseOutcome("refused", where, tuple(
            f"<{r.address}>: {r.code} {r.diagnostic}" for r in refused))
    return ReleaseOutcome("sent", where, ())
