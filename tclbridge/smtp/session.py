"""The sendmessage algorithm with tcllib's semantics, in plain Python.

The MAIL/RCPT/DATA transaction, the Bcc digest and the final QUIT or
abort, on a connection opened by `handshake`. `run` returns `Sent` or
raises `Refused` or `ConnectFailed` (tclbridge.smtp.results); the Tcl
command and the Python API each turn those into their own terms.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from tclbridge.delivery import Delivery, DeliveryRecipient, Outcome
from tclbridge.mime.generator import iter_message, message_size
from tclbridge.mime.model import Part
from tclbridge.site_policy import Enforcer
from tclbridge.smtp.conversation import Command, Conversation
from tclbridge.smtp.envelope import Envelope
from tclbridge.smtp.handshake import ConnectSettings, Handshake
from tclbridge.smtp.options import SendOptions
from tclbridge.smtp.protocol import Reply, encode_data
from tclbridge.smtp.results import ConnectFailed, Refused, RefusedRecipient, Sent, Step
from tclbridge.smtp.smtputf8 import plan as smtputf8_plan
from tclbridge.smtp.states import Event
from tclbridge.smtp.transport import WRITE_CHUNK, TransportTimeout

Refusals = list[RefusedRecipient]


@dataclass
class SessionSettings(ConnectSettings):
    # Tcl's system encoding: tcllib builds the message text in it.
    encoding: str = "utf-8"


_REFUSED_AT = {Step.MAIL: Outcome.REFUSED_MAIL, Step.DATA: Outcome.REFUSED_DATA,
               Step.END_OF_DATA: Outcome.REFUSED_MESSAGE}


@dataclass
class _Progress:
    """How far one transaction got, for the delivery log."""

    kind: str  # "message" or "bcc"
    message: Part
    sender: str
    recipients: list[str]
    codes: list[int | None] = field(default_factory=list)  # RCPT's reply, by position
    size: int | None = None  # bytes of the message written so far
    final: Reply | None = None  # the reply to the final dot, once it was a success

    def __post_init__(self) -> None:
        self.codes = [None] * len(self.recipients)


def _message_id(message: Part) -> str | None:
    values = message.live_values("message-id")
    return values[0] if values else None


def _counted(chunks: Iterator[bytes], progress: _Progress) -> Iterator[bytes]:
    """`chunks`, adding their size to `progress` as SIZE counts it (LF as CRLF)."""
    progress.size = 0
    for chunk in chunks:
        progress.size += len(chunk) + chunk.count(b"\n")
        yield chunk


class Session:
    def __init__(
        self,
        opts: SendOptions,
        envelope: Envelope,
        settings: SessionSettings,
    ) -> None:
        self.opts = opts
        self.envelope = envelope
        self.settings = settings
        self.rules = settings.rules
        self.enforcer = Enforcer(settings.policy, opts.debug, settings.journal)
        # Recipients the site policy refuses: never sent to any server.
        self.policy_refused: dict[str, RefusedRecipient] = {}
        self.handshake = Handshake(
            opts, settings, multiple=envelope.has_bcc, enforcer=self.enforcer
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
        self, conv: Conversation, message: Part, sender: str, recipients: list[str],
        kind: str = "message",
    ) -> Refusals:
        """MAIL, RCPT..., then DATA or RSET. Returns the refused recipients;
        the delivery log is told how it ended."""
        progress = _Progress(kind, message, sender, recipients)
        try:
            refused = self._transaction(conv, progress)
        except Refused as exc:
            outcome = _REFUSED_AT[exc.step] if exc.reply is not None else Outcome.UNCONFIRMED
            self._report(progress, outcome, exc.reply, conv)
            raise
        if progress.final is not None:
            self._report(progress, Outcome.SENT, progress.final, conv)
        else:
            self._report(progress, Outcome.REFUSED_RCPT if recipients else Outcome.NO_RCPT,
                         None, conv)
        return refused

    def _transaction(self, conv: Conversation, progress: _Progress) -> Refusals:
        message, sender, recipients = progress.message, progress.sender, progress.recipients
        wire = smtputf8_plan(sender, [r for r in recipients if r not in self.policy_refused],
                             self.handshake.esmtp)
        if isinstance(wire.sender, Reply):
            conv.log(f"    ... MAIL FROM:<{sender}> not sent: {wire.sender.diagnostic} ...")
            raise Refused(wire.sender, Step.MAIL, sender=sender)
        mail = conv.talk(Command(Event.MAIL, f"MAIL FROM:<{wire.sender}>"
                                 f"{self._size_option(message)}{wire.mail_parameter}"))
        if mail.code != 250:
            raise Refused(mail, Step.MAIL, sender=sender)
        accepted = 0
        refused: Refusals = []
        for position, recipient in enumerate(recipients):
            if recipient in self.policy_refused:
                refused.append(self.policy_refused[recipient])
                progress.codes[position] = refused[-1].code
                continue
            form = wire.recipients[recipient]
            if isinstance(form, Reply):  # refused here: it cannot go to this server
                conv.log(f"    ... RCPT TO:<{recipient}> not sent: {form.diagnostic} ...")
                refused.append(RefusedRecipient(recipient, form.code, form.diagnostic))
                progress.codes[position] = form.code
                continue
            reply = conv.talk(Command(Event.RCPT, f"RCPT TO:<{form}>"))
            progress.codes[position] = reply.code
            if reply.code in (250, 251):
                accepted += 1
            else:
                refused.append(RefusedRecipient(recipient, reply.code, reply.diagnostic))
        if accepted and (not refused or self.opts.atleastone):
            self._data(conv, progress)
        else:
            conv.talk(Command.plain(Event.RSET))
        return refused

    def _data(self, conv: Conversation, progress: _Progress) -> None:
        reply = conv.talk(Command.plain(Event.DATA))
        if reply.code != 354:
            raise Refused(reply, Step.DATA)
        wait = self.opts.final_wait
        # One window for the body and the reply to the final dot, as tcllib's
        # -maxsecs timer: a slow reader cannot stretch it block by block.
        deadline = conv.deadline_in(self.rules.body_wait(wait))
        # LF line ends, so that a CRLF in the script's text is one line break
        # (as CRLF, tcllib's CR CR LF would be two: a folded header value
        # would end the header block).
        chunks = iter_message(progress.message, self.settings.encoding, crlf=False)
        if self.settings.delivery_log is not None:
            chunks = _counted(chunks, progress)
        body = encode_data(chunks)
        try:
            conv.send_message(body, WRITE_CHUNK, deadline)
        except TransportTimeout as exc:
            # The server stopped reading: what tcllib reports when the reply
            # to the final dot does not come.
            conv.drop(str(exc))
            raise Refused(Reply(self.rules.lost_code, str(exc)), Step.END_OF_DATA) from exc
        except Exception as exc:  # noqa: BLE001 - reported to the script as tcllib does
            # Unlike tcllib, never end a half-written message with "." (the
            # server would deliver it truncated): drop the connection instead.
            reason = str(exc) or type(exc).__name__
            conv.drop(reason)
            raise Refused(
                Reply(self.rules.lost_code, reason, plain=True), Step.END_OF_DATA
            ) from exc
        conv.log(f"--> . (wait upto {wait.shown} seconds)")
        if wait.seconds is None:
            # tcllib does not read the reply then, and returns code 7 with an
            # empty result (it still holds DATA's 354).
            raise Refused(None, Step.END_OF_DATA)
        final = conv.end_reply(deadline)
        if final.code not in (250, 251):
            raise Refused(final, Step.END_OF_DATA)
        progress.final = final

    def _report(self, progress: _Progress, outcome: Outcome, reply: Reply | None,
                conv: Conversation) -> None:
        observe = self.settings.delivery_log
        if observe is None:
            return
        observe(Delivery(
            transaction=progress.kind, outcome=outcome, sender=progress.sender,
            recipients=tuple(DeliveryRecipient(address, code) for address, code
                             in zip(progress.recipients, progress.codes, strict=True)),
            servers=tuple(self.handshake.tried[-1:]), tls=conv.transport.tls_version,
            size=progress.size, message_id=_message_id(progress.message),
            status=reply.code if reply is not None else None,
            detail=reply.diagnostic if reply is not None else ""))

    def _report_unsent(self, outcome: Outcome, detail: str,
                       groups: list[tuple[str, Part, list[str]]]) -> None:
        """Transactions that never reached a server: no connection, or the
        site policy refused every recipient."""
        observe = self.settings.delivery_log
        if observe is None:
            return
        for kind, message, recipients in groups:
            observe(Delivery(
                transaction=kind, outcome=outcome, sender=self.envelope.sender,
                recipients=tuple(DeliveryRecipient(r, self._policy_code(r)) for r in recipients),
                servers=tuple(self.handshake.tried), tls=None, size=None,
                message_id=_message_id(message), status=None, detail=detail))

    def _policy_code(self, recipient: str) -> int | None:
        refusal = self.policy_refused.get(recipient)
        return refusal.code if refusal is not None else None

    # -- the whole call ---------------------------------------------------

    def run(self) -> Sent:
        """Send; raises `Refused` (tcllib's return code 7) or `ConnectFailed`."""
        env = self.envelope
        everyone = env.recipients + env.bcc_recipients
        self.policy_refused = {
            address: RefusedRecipient(address, int(code), text)
            for address, (_, code, text) in self.enforcer.screen(everyone).items()
        }
        if self.policy_refused and all(r in self.policy_refused for r in everyone):
            return self._refused_by_policy()
        try:
            conv = self.handshake.connect()
        except ConnectFailed as exc:
            everyone_group = [("message", self.envelope.message, everyone)]
            self._report_unsent(Outcome.CONNECT_FAILED, exc.reason, everyone_group)
            raise
        try:
            return self._send(conv)
        finally:
            conv.close()

    def _refused_by_policy(self) -> Sent:
        """What a server refusing every recipient would give, without one."""
        env = self.envelope
        self.enforcer.nothing_sent(env.sender, self.handshake.script_targets())
        reported = [("message", env.message, env.recipients)]
        if env.has_bcc:
            # Made and dropped, as tcllib makes it after any first transaction
            # that ends in code 0: it uses up token numbers and uniqueIDs.
            reported.append(("bcc", env.bcc_digest(), env.bcc_recipients))
        self._report_unsent(Outcome.REFUSED_POLICY, "every recipient refused by the site policy",
                            reported)
        groups = [env.recipients] + ([env.bcc_recipients] if env.has_bcc else [])
        return Sent(tuple(tuple(self.policy_refused[r] for r in group) for group in groups))

    def _send(self, conv: Conversation) -> Sent:
        env = self.envelope
        sender = self.enforcer.sender(env.sender)
        try:
            transactions = [self.transaction(conv, env.message, sender, env.recipients)]
        except Refused:
            conv.abort()
            raise
        orderly = True
        if env.has_bcc:
            digest = env.bcc_digest()
            try:
                transactions.append(self.transaction(conv, digest, sender, env.bcc_recipients,
                                                     "bcc"))
            except Refused as exc:
                # tcllib returns plain success here; the Bcc recipients are
                # listed as refused instead (docs/COMPAT.md bcc-failure), and
                # the connection is aborted as tcllib does.
                failed = exc.reply or Reply(self.rules.lost_code, "")
                transactions.append([RefusedRecipient(r, failed.code, failed.diagnostic)
                                     for r in env.bcc_recipients])
                orderly = False
        if orderly:
            conv.talk(Command.plain(Event.QUIT))
        else:
            conv.abort()
        return Sent(tuple(tuple(t) for t in transactions))
