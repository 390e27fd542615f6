"""Opening a session as tcllib does: servers in turn, greeting, EHLO/HELO,
ONEX/QUED, STARTTLS with -tlspolicy, AUTH — plus what tcllib lacks: the
server's certificate is verified, and credentials never cross the network
in plain text.

When no server takes the connection, the script gets tcllib's error text:
the diagnostic of the last greeting (or the last socket error), whatever
went wrong after it; `ConnectFailed` (tclbridge.smtp.results) carries it.
"""

from __future__ import annotations

import socket
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tclbridge.host_port import format_host_port
from tclbridge.site_policy import Enforcer, SitePolicy
from tclbridge.smtp.auth import authenticate, mechanisms_for, offered_mechanisms
from tclbridge.smtp.conversation import Command, Conversation, debug_log
from tclbridge.smtp.options import SendOptions, TlsPolicy
from tclbridge.smtp.protocol import Reply
from tclbridge.smtp.results import ConnectCause, ConnectFailed
from tclbridge.smtp.rules import TCLLIB, TcllibRules
from tclbridge.smtp.states import Event
from tclbridge.smtp.tls import client_context, verification_failure
from tclbridge.smtp.transport import (
    PlaintextBeforeTls,
    SocketTransport,
    Transport,
    TransportError,
)

if TYPE_CHECKING:
    from tclbridge.delivery import DeliveryObserver
    from tclbridge.journal import JournalWriter

# The code -tlspolicy is called with when the certificate fails verification
# (tcllib only ever passes the STARTTLS reply's code).
CERT_POLICY_CODE = 554
PLAINTEXT_AUTH_ENV = "TCLBRIDGE_ALLOW_PLAINTEXT_AUTH"
NO_VERIFY_HINT = "--tls-no-verify or TCLBRIDGE_TLS_VERIFY=0"

Connector = Callable[[str, int, float], Transport]


def warn_on_stderr(text: str) -> None:
    sys.stderr.write(f"tclbridge: warning: {text}\n")
    sys.stderr.flush()


@dataclass
class ConnectSettings:
    timeout_scale: float = 1.0
    server_override: tuple[str, int] | None = None
    implicit_tls_override: tuple[str, int] | None = None  # for -tlsimport 1; see BridgeConfig
    connect: Connector = SocketTransport.connect
    # What Tcl's `info hostname` says (the default EHLO name).
    hostname: str = field(default_factory=socket.gethostname)
    tls_verify: bool = True
    cafiles: tuple[str, ...] = ()
    allow_plaintext_auth: bool = False
    policy: SitePolicy | None = None
    # Under capture: where each connection says which servers the script
    # asked for and what the policy decided (tclbridge.journal).
    journal: JournalWriter | None = None
    # Told how each transaction ended (tclbridge.delivery_log writes it).
    delivery_log: DeliveryObserver | None = None
    # Where the user is told what they should know but the script is not.
    warn: Callable[[str], None] = warn_on_stderr
    # tcllib's wait times and abort rules.
    rules: TcllibRules = TCLLIB


class _NextServer(ConnectFailed):
    """This server failed; try the next. Its text is the error if it was
    the last."""


class _CertificateRejected(Exception):
    def __init__(self, host: str, error: ssl.SSLCertVerificationError) -> None:
        super().__init__(verification_failure(host, error))
        self.reason = error.verify_message or str(error)


def _port_number(port: str) -> int:
    try:
        return int(port)
    except ValueError:
        try:
            return socket.getservbyname(port, "tcp")
        except (OSError, UnicodeError):  # a lone surrogate has no service name
            raise TransportError(f'expected integer but got "{port}"') from None


class Handshake:
    def __init__(
        self,
        opts: SendOptions,
        settings: ConnectSettings,
        *,
        multiple: bool,
        enforcer: Enforcer | None = None,
    ) -> None:
        self.opts = opts
        self.settings = settings
        self.multiple = multiple  # more than one transaction (Bcc): no ONEX
        self.log = debug_log(opts.debug)
        self._tls_policy: TlsPolicy | None = opts.tlspolicy
        self.enforcer = enforcer or Enforcer(settings.policy, opts.debug, settings.journal)
        self.esmtp: tuple[str, ...] = ()
        # "host:port" of each server tried, in order: the last is the one
        # connect() returned (for the delivery log).
        self.tried: list[str] = []
        # Why this connection's certificate failed, when -tlspolicy said to
        # carry on anyway: no credentials go over it.
        self._unverified: str | None = None

    def script_targets(self) -> list[tuple[str, str]]:
        """(server, port) pairs as tcllib walks them: in tandem, a missing
        port is 25, an empty server is skipped."""
        servers, ports = self.opts.servers, self.opts.ports
        count = max(len(servers), len(ports))
        servers = servers + [""] * (count - len(servers))
        ports = ports + [""] * (count - len(ports))
        return [(s, p or "25") for s, p in zip(servers, ports, strict=True) if s != ""]

    def targets(self) -> list[tuple[str, str]]:
        """Where to connect: the script's targets, unless --server (or, for
        -tlsimport 1, its implicit-TLS counterpart) or the policy's relay
        replace them."""
        override = self.settings.server_override
        if override is not None and self.opts.tlsimport:
            override = self.settings.implicit_tls_override or override
        return self.enforcer.targets(self.script_targets(), override)

    def client_name(self) -> str:
        if self.opts.client:
            return self.opts.client
        if self.opts.servers_named_localhost():
            return "localhost"
        return self.settings.hostname

    def connect(self) -> Conversation:
        failure: _NextServer | None = None
        required = self.enforcer.require_tls
        if required:
            self.enforcer.note("tls", "required: every session must be TLS with a verified "
                               "certificate (-usetls 0, -tlspolicy and --tls-no-verify do not "
                               "apply)")
        for host, port in self.targets():
            try:
                return self._open(host, port, verify=self.settings.tls_verify or required)
            except _NextServer as exc:
                failure = exc
            except _CertificateRejected as exc:
                failure = _NextServer(str(exc))
                if required:
                    failure = _NextServer(
                        f"site policy requires verified TLS, but the certificate of {host} "
                        f"could not be verified ({exc.reason}); trust its CA with --cafile "
                        "FILE or TCLBRIDGE_CAFILE=FILE", ConnectCause.SITE_POLICY_TLS)
                elif self._ask_policy(CERT_POLICY_CODE, f"certificate verify failed: {exc.reason}"):
                    self.settings.warn(
                        f"-tlspolicy accepted the certificate of {host}, which could not be "
                        f"verified ({exc.reason}); no credentials are sent over this connection"
                    )
                    try:
                        return self._open(host, port, verify=False, unverified=exc.reason)
                    except _NextServer as again:
                        failure = again
        if failure is None:
            # No server to try: tcllib then reads a variable it never set.
            raise ConnectFailed('can\'t read "code": no such variable', ConnectCause.NO_SERVER)
        raise ConnectFailed(failure.reason, failure.cause, starttls_code=failure.starttls_code,
                            greeting=failure.greeting)

    def _ask_policy(self, code: int, diagnostic: str) -> bool:
        """True when -tlspolicy says "insecure" (tcllib's default without a
        policy is insecure for a refused STARTTLS; for a certificate that
        fails verification the bridge's default is to give up)."""
        if self._tls_policy is None:
            return False
        return self._tls_policy(code, diagnostic) == "insecure"

    def _open(
        self, host: str, port: str, verify: bool, unverified: str | None = None
    ) -> Conversation:
        self.log(f"Trying {host}...")
        name = format_host_port((host, port))
        if not self.tried or self.tried[-1] != name:  # not twice for a -tlspolicy retry
            self.tried.append(name)
        self._unverified = unverified
        scale = self.settings.timeout_scale
        # Connecting (every address of the name), implicit TLS and the
        # greeting share one window.
        window = self.settings.rules.wait(Event.GREETING) * scale
        deadline = time.monotonic() + window
        try:
            transport = self.settings.connect(host, _port_number(port), window)
        except TransportError as exc:
            raise _NextServer(str(exc)) from None
        self.enforcer.connected(transport.local_address())
        conv = Conversation(transport, self.log, scale, self.settings.rules)
        try:
            if self.opts.tlsimport:
                self._upgrade(conv, host, verify, failure="", deadline=deadline)
            greeting = conv.greeting(deadline)
            if greeting.code != 220:
                raise _NextServer(greeting.diagnostic)
            if not self._hello(conv, host, verify, greeting):
                raise _NextServer(greeting.diagnostic)
            return conv
        except BaseException:
            conv.close()
            raise

    def _upgrade(
        self, conv: Conversation, host: str, verify: bool, failure: str,
        deadline: float | None = None,
    ) -> None:
        context = client_context(verify, self.settings.cafiles)
        if deadline is None:
            deadline = conv.deadline_in(self.settings.rules.wait(Event.TLS))
        try:
            conv.start_tls(context, host, deadline)
        except PlaintextBeforeTls as exc:
            # Never the greeting's text here: the script must learn why.
            conv.fail(f"{host}: {exc}")
            raise _NextServer(f"{host}: {exc}") from None
        except ssl.SSLCertVerificationError as exc:
            self.log(f"    ... {verification_failure(host, exc)} ...")
            raise _CertificateRejected(host, exc) from None
        except (ssl.SSLError, OSError, TransportError) as exc:
            reason = f"TLS handshake with {host} failed: {exc}"
            conv.fail(reason)
            if self.enforcer.require_tls:
                raise _NextServer(
                    f"site policy requires TLS, but the {reason}", ConnectCause.SITE_POLICY_TLS
                ) from None
            raise _NextServer(failure or reason) from None

    def _hello(self, conv: Conversation, host: str, verify: bool, greeting: Reply) -> bool:
        client = self.client_name()
        reply = conv.talk(Command(Event.EHLO, f"EHLO {client}"))
        if 500 <= reply.code <= 599:
            reply = conv.talk(Command(Event.HELO, f"HELO {client}"))
        if reply.code != 250:
            return False
        self.esmtp = reply.args
        if not self.multiple and "ONEX" in reply.args:
            conv.talk(Command.plain(Event.ONEX))
        if self.opts.queue and "XQUE" in reply.args:
            conv.talk(Command.plain(Event.QUED))
        required = self.enforcer.require_tls
        if (
            (self.opts.usetls or required)
            and not conv.transport.is_tls
            and ("STARTTLS" in reply.args or "TLS" in reply.args)
        ):
            if not self.opts.usetls:
                self.enforcer.note("tls", f"STARTTLS with {host} although the script says "
                                   "-usetls 0")
            started = conv.talk(Command.plain(Event.STARTTLS))
            if started.code == 220:
                self._upgrade(conv, host, verify, failure=greeting.diagnostic)
                return self._hello(conv, host, verify, greeting)
            if required:
                raise _NextServer(
                    f"site policy requires TLS, but {host} refused STARTTLS: "
                    f"{started.code} {started.diagnostic}", ConnectCause.SITE_POLICY_TLS)
            if self._tls_policy is not None and not self._ask_policy(
                started.code, started.diagnostic
            ):
                # tcllib then fails with the greeting (and the STARTTLS code).
                raise _NextServer.starttls_refused(greeting, started.code)
        if required:
            if not conv.transport.is_tls:
                raise _NextServer(
                    f"site policy requires TLS, but {host} does not offer STARTTLS",
                    ConnectCause.SITE_POLICY_TLS)
            self.enforcer.note("tls", f"session with {host} is TLS, certificate verified")
        self._authenticate(conv, host)
        return True

    def _authenticate(self, conv: Conversation, host: str) -> None:
        offered = offered_mechanisms(self.esmtp)
        if offered is None:
            return
        creds = self.enforcer.credentials(host, self.opts.username, self.opts.password)
        if not creds.username:
            return
        if not (
            conv.transport.is_tls
            or conv.transport.peer_is_loopback()
            or self.settings.allow_plaintext_auth
        ):
            raise ConnectFailed(
                f"refusing to send the password for {creds.username} to {host} over an "
                "unencrypted connection (the server offered no STARTTLS, or -usetls is off); "
                f"set {PLAINTEXT_AUTH_ENV}=1 to allow it"
            )
        if self._unverified is not None:
            raise ConnectFailed(
                f"refusing to send the password for {creds.username} to {host}: its TLS "
                f"certificate could not be verified ({self._unverified}) and -tlspolicy "
                f"carried on anyway; trust its CA with --cafile FILE or TCLBRIDGE_CAFILE=FILE, "
                f"or allow unverified TLS with {NO_VERIFY_HINT}"
            )
        mechanisms = mechanisms_for(
            creds.username, creds.password, creds.oauth_token_command
        )
        authenticate(conv, offered, mechanisms)
