"""The sendmessage algorithm with tcllib's semantics, in plain Python.

The MAIL/RCPT/DATA transaction, the Bcc digest and the final QUIT or
RSET+QUIT, on a connection opened by `handshake`. Usable without
Tcl: the Tcl layer only converts the `Outcome`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tclbridge.errors import SMTP_FAILURE, TCL_ERROR
from tclbridge.mime.generator import iter_message, message_size
from tclbridge.mime.model import Part
from tclbridge.policy import Enforcer
from tclbridge.smtp import smtputf8
from tclbridge.smtp.conversation import Conversation, DebugLog
from tclbridge.smtp.envelope import Envelope
from tclbridge.smtp.handshake import (
    COMMAND_WAIT,
    ConnectFailed,
    ConnectSettings,
    Handshake,
    TlsPolicy,
)
from tclbridge.smtp.options import SendOptions
from tclbridge.smtp.protocol import Reply, encode_data
from tclbridge.smtp.transport import WRITE_CHUNK, TransportTimeout

# tcllib's wait, in seconds, for each step.
MAIL_WAIT = 600
RCPT_WAIT = 3600
QUIT_WAIT = 120


class Refused(Exception):
    """MAIL FROM, DATA or the final dot was refused: return code 7 with
    `result` (the reply list, or "" where tcllib never read a reply)."""

    def __init__(self, reply: Reply | None) -> None:
        super().__init__(reply.diagnostic if reply else "")
        self.reply = reply
        self.result: object = reply.as_tcl() if reply else ""


@dataclass
class Outcome:
    """What sendmessage returns: code 0 with refused-recipient lists (one per
    transaction, which tcllib joins by string concatenation), code 7 with a
    reply list, or code 1 with an error message."""

    code: int
    result: object
    transactions: list[list[list[str]]] = field(default_factory=list)
    errorcode: tuple[str, ...] = ("NONE",)


@dataclass(frozen=True)
class FinalWait:
    """How long tcllib waits for the reply to the final dot: `shown` in the
    -debug line, and `seconds`, or None when it does not read the reply."""

    shown: str = "120"
    seconds: float | None = 120.0


@dataclass
class SessionSettings(ConnectSettings):
    # Tcl's system encoding: tcllib builds the message text in it.
    encoding: str = "utf-8"
    final_wait: FinalWait = field(default_factory=FinalWait)


class Session:
    def __init__(
        self,
        opts: SendOptions,
        envelope: Envelope,
        settings: SessionSettings,
        debug: DebugLog | None = None,
        tls_policy: TlsPolicy | None = None,
    ) -> None:
        self.opts = opts
        self.envelope = envelope
        self.settings = settings
        self._debug = debug if opts.debug else None
        self.enforcer = Enforcer(settings.policy, self._debug, settings.journal)
        # Recipients the site policy refuses: never sent to any server.
        self.policy_refused: dict[str, list[str]] = {}
        self.handshake = Handshake(
            opts, settings, multiple=envelope.has_bcc, debug=self._debug, tls_policy=tls_policy,
            enforcer=self.enforcer,
        )

    # -- the transaction --------------------------------------------------

    def _size_option(self, message: Part) -> str:
        if not any(arg.startswith("SIZE") for arg in self.handshake.esmtp):
            return ""
        try:
            size = message_size(message, self.settings.encoding)
        except Exception:  # noqa: BLE001 - tcllib drops SIZE when building fails
            return ""
        return f" SIZE={size}"

    def transaction(
        self, conv: Conversation, message: Part, sender: str, recipients: list[str]
    ) -> list[list[str]]:
        """MAIL, RCPT..., then DATA or RSET. Returns the refused recipients."""
        wire = smtputf8.plan(sender, [r for r in recipients if r not in self.policy_refused],
                             self.handshake.esmtp)
        if isinstance(wire.sender, Reply):
            conv.log(f"    ... MAIL FROM:<{sender}> not sent: {wire.sender.diagnostic} ...")
            raise Refused(wire.sender)
        mail = conv.talk(MAIL_WAIT, f"MAIL FROM:<{wire.sender}>"
                         f"{self._size_option(message)}{wire.mail_parameter}")
        if mail.code != 250:
            raise Refused(mail)
        accepted = 0
        refused: list[list[str]] = []
        for recipient in recipients:
            if recipient in self.policy_refused:
                refused.append(self.policy_refused[recipient])
                continue
            form = wire.recipients[recipient]
            if isinstance(form, Reply):  # refused here: it cannot go to this server
                conv.log(f"    ... RCPT TO:<{recipient}> not sent: {form.diagnostic} ...")
                refused.append([recipient, str(form.code), form.diagnostic])
                continue
            reply = conv.talk(RCPT_WAIT, f"RCPT TO:<{form}>")
            if reply.code in (250, 251):
                accepted += 1
            else:
                refused.append([recipient, str(reply.code), reply.diagnostic])
        if accepted and (not refused or self.opts.atleastone):
            self._data(conv, message)
        else:
            conv.talk(COMMAND_WAIT, "RSET")
        return refused

    def _data(self, conv: Conversation, message: Part) -> None:
        reply = conv.talk(COMMAND_WAIT, "DATA")
        if reply.code != 354:
            raise Refused(reply)
        wait = self.settings.final_wait
        # One window for the body and the reply to the final dot, as tcllib's
        # -maxsecs timer: a slow reader cannot stretch it block by block.
        deadline = conv.deadline_in(wait.seconds or COMMAND_WAIT)
        # LF line ends, so that a CRLF in the script's text is one line break
        # (as CRLF, tcllib's CR CR LF would be two: a folded header value
        # would end the header block).
        body = encode_data(iter_message(message, self.settings.encoding, crlf=False))
        try:
            conv.write_stream(body, WRITE_CHUNK, deadline)
        except TransportTimeout as exc:
            # The server stopped reading: what tcllib reports when the reply
            # to the final dot does not come.
            conv.failure = str(exc)
            conv.close()
            raise Refused(Reply(400, conv.failure)) from exc
        except Exception as exc:  # noqa: BLE001 - reported to the script as tcllib does
            # Unlike tcllib, never end a half-written message with "." (the
            # server would deliver it truncated): drop the connection instead.
            conv.failure = str(exc) or type(exc).__name__
            conv.close()
            raise Refused(Reply(400, conv.failure, plain=True)) from exc
        conv.log(f"--> . (wait upto {wait.shown} seconds)")
        if wait.seconds is None:
            # tcllib does not read the reply then, and returns code 7 with an
            # empty result (it still holds DATA's 354).
            raise Refused(None)
        final = conv.hear_by(deadline)
        if final.code not in (250, 251):
            raise Refused(final)

    # -- the whole call ---------------------------------------------------

    def run(self) -> Outcome:
        env = self.envelope
        everyone = env.recipients + env.bcc_recipients
        self.policy_refused = self.enforcer.screen(everyone)
        if self.policy_refused and all(r in self.policy_refused for r in everyone):
            return self._refused_by_policy()
        try:
            conv = self.handshake.connect()
        except ConnectFailed as exc:
            return Outcome(TCL_ERROR, exc.result, errorcode=exc.errorcode)
        try:
            return self._send(conv)
        finally:
            conv.close()

    def _refused_by_policy(self) -> Outcome:
        """What a server refusing every recipient would give, without one."""
        env = self.envelope
        self.enforcer.nothing_sent(env.sender, self.handshake.script_targets())
        if env.has_bcc:
            # Made and dropped, as tcllib makes it after any first transaction
            # that ends in code 0: it uses up token numbers and uniqueIDs.
            env.bcc_digest()
        groups = [env.recipients] + ([env.bcc_recipients] if env.has_bcc else [])
        transactions = [[self.policy_refused[r] for r in group] for group in groups]
        return Outcome(0, transactions[0], transactions)

    def _send(self, conv: Conversation) -> Outcome:
        env = self.envelope
        sender = self.enforcer.sender(env.sender)
        orderly = True
        try:
            transactions = [self.transaction(conv, env.message, sender, env.recipients)]
            outcome = Outcome(0, transactions[0], transactions)
            if env.has_bcc:
                digest = env.bcc_digest()
                try:
                    transactions.append(
                        self.transaction(conv, digest, sender, env.bcc_recipients)
                    )
                except Refused as exc:
                    # tcllib returns plain success here; the Bcc recipients
                    # are listed as refused instead (docs/COMPAT.md
                    # bcc-failure), and the connection is aborted as tcllib does.
                    failed = exc.reply or Reply(400, "")
                    transactions.append(
                        [[r, str(failed.code), failed.diagnostic] for r in env.bcc_recipients]
                    )
                    orderly = False
        except Refused as exc:
            outcome = Outcome(SMTP_FAILURE, exc.result)
            orderly = False
        if orderly:
            conv.talk(QUIT_WAIT, "QUIT")
        else:
            conv.abort("RSET", "QUIT")
        return outcome
