"""The sendmessage algorithm with tcllib's semantics, in plain Python.

Server iteration, EHLO/HELO, ONEX/QUED, STARTTLS, the MAIL/RCPT/DATA
transaction, the Bcc digest and the final QUIT or RSET+QUIT. Usable without
Tcl: the Tcl layer only converts the `Outcome`.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from tclbridge.errors import SMTP_FAILURE, TCL_ERROR
from tclbridge.mime.generator import iter_message
from tclbridge.mime.model import Part
from tclbridge.smtp.conversation import Conversation, DebugLog
from tclbridge.smtp.envelope import Envelope
from tclbridge.smtp.options import SendOptions
from tclbridge.smtp.protocol import Reply, encode_data
from tclbridge.smtp.transport import (
    WRITE_CHUNK,
    SocketTransport,
    Transport,
    TransportError,
    TransportTimeout,
)

# tcllib's wait, in seconds, for each step.
GREETING_WAIT = 600
COMMAND_WAIT = 300
MAIL_WAIT = 600
RCPT_WAIT = 3600
QUIT_WAIT = 120
# How long an aborted connection may take to close after RSET and QUIT.
ABORT_LINGER = 2

Connector = Callable[[str, int, float], Transport]
# Called as tcllib calls -tlspolicy: with the STARTTLS reply code and text.
TlsPolicy = Callable[[int, str], str]


class Refused(Exception):
    """MAIL FROM, DATA or the final dot was refused: return code 7 with
    `result` (the reply list, or "" where tcllib never read a reply)."""

    def __init__(self, reply: Reply | None) -> None:
        super().__init__(reply.diagnostic if reply else "")
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
class SessionSettings:
    timeout_scale: float = 1.0
    server_override: tuple[str, int] | None = None
    tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context
    connect: Connector = SocketTransport.connect
    # What Tcl's `info hostname` says (the default EHLO name).
    hostname: str = field(default_factory=socket.gethostname)
    # Tcl's system encoding: tcllib builds the message text in it.
    encoding: str = "utf-8"
    final_wait: FinalWait = field(default_factory=FinalWait)


def _port_number(port: str) -> int:
    try:
        return int(port)
    except ValueError:
        try:
            return socket.getservbyname(port, "tcp")
        except OSError:
            raise TransportError(f'expected integer but got "{port}"') from None


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
        self._tls_policy = tls_policy
        self.esmtp: tuple[str, ...] = ()

    def log(self, line: str) -> None:
        if self._debug is not None:
            self._debug(line)

    # -- connecting -------------------------------------------------------

    def _targets(self) -> list[tuple[str, str]]:
        if self.settings.server_override is not None:
            host, port = self.settings.server_override
            return [(host, str(port))]
        servers, ports = self.opts.servers, self.opts.ports
        count = max(len(servers), len(ports))
        servers = servers + [""] * (count - len(servers))
        ports = ports + [""] * (count - len(ports))
        return [(s, p or "25") for s, p in zip(servers, ports, strict=True) if s != ""]

    def client_name(self) -> str:
        if self.opts.client:
            return self.opts.client
        if self.opts.servers_text == "localhost":
            return "localhost"
        return self.settings.hostname

    def connect(self) -> Conversation:
        """Try each server in turn; raise TclFailure-worthy text when none
        takes us. tcllib reports the last greeting's text (or the last socket
        error), whatever went wrong after it."""
        last_error: str | list | None = None
        errorcode = ("NONE",)
        for host, port in self._targets():
            errorcode = ("NONE",)
            self.log(f"Trying {host}...")
            try:
                transport = self.settings.connect(
                    host, _port_number(port), GREETING_WAIT * self.settings.timeout_scale
                )
            except TransportError as exc:
                last_error = str(exc)
                continue
            conv = Conversation(transport, self._debug, self.settings.timeout_scale)
            if self.opts.tlsimport and not self._upgrade(conv, host):
                last_error = conv.failure or "TLS handshake failed"
                conv.close()
                continue
            greeting = conv.hear(GREETING_WAIT)
            last_error = greeting.diagnostic
            if greeting.code != 220:
                conv.close()
                continue
            try:
                if self._hello(conv, host):
                    return conv
            except TlsRefusedByPolicy as exc:
                # tcllib then fails with the greeting's whole reply list as
                # the message and the STARTTLS code as errorCode.
                last_error = greeting.as_tcl()
                errorcode = (str(exc.reply.code),)
            conv.close()
        if last_error is None:
            raise ConnectFailed('can\'t read "code": no such variable')
        raise ConnectFailed(last_error, errorcode)

    def _hello(self, conv: Conversation, host: str, tls_tried: bool = False) -> bool:
        client = self.client_name()
        reply = conv.talk(COMMAND_WAIT, f"EHLO {client}")
        assert reply is not None
        if 500 <= reply.code <= 599:
            reply = conv.talk(COMMAND_WAIT, f"HELO {client}")
            assert reply is not None
        if reply.code != 250:
            return False
        self.esmtp = reply.args
        if not self.envelope.has_bcc and "ONEX" in reply.args:
            conv.talk(COMMAND_WAIT, "ONEX")
        if self.opts.queue and "XQUE" in reply.args:
            conv.talk(COMMAND_WAIT, "QUED")
        if (
            self.opts.usetls
            and not tls_tried
            and ("STARTTLS" in reply.args or "TLS" in reply.args)
        ):
            started = conv.talk(COMMAND_WAIT, "STARTTLS")
            assert started is not None
            if started.code == 220:
                if not self._upgrade(conv, host):
                    return False
                return self._hello(conv, host, tls_tried=True)
            policy = "insecure"
            if self._tls_policy is not None:
                policy = self._tls_policy(started.code, started.diagnostic)
            if policy != "insecure":
                raise TlsRefusedByPolicy(started)
        return True

    def _upgrade(self, conv: Conversation, host: str) -> bool:
        try:
            conv.transport.start_tls(
                self.settings.tls_context(), host, COMMAND_WAIT * self.settings.timeout_scale
            )
        except (ssl.SSLError, OSError) as exc:
            conv.failure = f"TLS handshake with {host} failed: {exc}"
            self.log(f"    ... {conv.failure} ...")
            return False
        return True

    # -- the transaction --------------------------------------------------

    def _size_option(self, message: Part) -> str:
        if not any(arg.startswith("SIZE") for arg in self.esmtp):
            return ""
        try:
            size = sum(len(chunk) for chunk in iter_message(message, self.settings.encoding))
        except Exception:  # noqa: BLE001 - tcllib drops SIZE when building fails
            return ""
        return f" SIZE={size}"

    def transaction(
        self, conv: Conversation, message: Part, sender: str, recipients: list[str]
    ) -> list[list[str]]:
        """MAIL, RCPT..., then DATA or RSET. Returns the refused recipients."""
        mail = conv.talk(MAIL_WAIT, f"MAIL FROM:<{sender}>{self._size_option(message)}")
        assert mail is not None
        if mail.code != 250:
            raise Refused(mail)
        accepted = 0
        refused: list[list[str]] = []
        for recipient in recipients:
            reply = conv.talk(RCPT_WAIT, f"RCPT TO:<{recipient}>")
            assert reply is not None
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
        assert reply is not None
        if reply.code != 354:
            raise Refused(reply)
        wait = self.settings.final_wait
        body = encode_data(iter_message(message, self.settings.encoding))
        try:
            conv.write_stream(body, WRITE_CHUNK, wait.seconds or COMMAND_WAIT)
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
        final = conv.hear(wait.seconds)
        if final.code not in (250, 251):
            raise Refused(final)

    # -- the whole call ---------------------------------------------------

    def run(self) -> Outcome:
        try:
            conv = self.connect()
        except ConnectFailed as exc:
            return Outcome(TCL_ERROR, exc.result, errorcode=exc.errorcode)
        try:
            return self._send(conv)
        finally:
            conv.close()

    def _send(self, conv: Conversation) -> Outcome:
        env = self.envelope
        orderly = True
        try:
            transactions = [self.transaction(conv, env.message, env.sender, env.recipients)]
            outcome = Outcome(0, transactions[0], transactions)
            if env.has_bcc:
                digest = env.bcc_digest()
                try:
                    transactions.append(
                        self.transaction(conv, digest, env.sender, env.bcc_recipients)
                    )
                except Refused:
                    # tcllib returns the first result as success here and only
                    # aborts the connection.
                    orderly = False
        except Refused as exc:
            outcome = Outcome(SMTP_FAILURE, exc.result)
            orderly = False
        if orderly:
            conv.talk(QUIT_WAIT, "QUIT")
        else:
            # tcllib writes both without waiting for replies.
            conv.talk(0, "RSET")
            conv.talk(0, "QUIT")
            conv.transport.linger_close(ABORT_LINGER * self.settings.timeout_scale)
        return outcome


class ConnectFailed(Exception):
    """No server took the connection; `result` is tcllib's error text."""

    def __init__(self, result: str | list, errorcode: tuple[str, ...] = ("NONE",)) -> None:
        super().__init__(result)
        self.result = result
        self.errorcode = errorcode


class TlsRefusedByPolicy(Exception):
    """STARTTLS failed and -tlspolicy did not answer "insecure"."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.diagnostic)
        self.reply = reply
