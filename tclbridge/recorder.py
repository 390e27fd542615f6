"""A recording, scriptable SMTP server on 127.0.0.1, for tests and capture mode.

Built on aiosmtpd; it runs in a background thread with its own event loop::

    script = ServerScript(capabilities=["AUTH PLAIN LOGIN"],
                          replies={"RCPT:bad@example.com": "550 no such user"})
    with RecordingServer(script) as srv:        # __enter__ starts, __exit__ stops
        send_mail_to(srv.host, srv.port)
    srv.sessions[0].commands   # ["EHLO me", "AUTH PLAIN <hidden>", "MAIL FROM:<a@x>", ...]
    srv.sessions[0].replies    # ["220 ...", "250-localhost\\n250-PIPELINING\\n...", ...]
    srv.messages[0].data       # DATA as on the wire: CRLF, dot-stuffed, no ".\\r\\n"
    srv.messages[0].content    # the message as delivered (dot-stuffing removed)

`ServerScript` says how the server behaves; its defaults are a plain ESMTP server
(PIPELINING, SIZE, 8BITMIME; no STARTTLS, no AUTH) that accepts everything.

- ``greeting``: the full greeting reply (e.g. "421 busy" to refuse).
- ``ehlo``: EHLO reply lines to send verbatim (None = the default 250 reply with
  ``capabilities``); a non-250 reply makes clients fall back to HELO.
- ``capabilities``: extra EHLO keywords; one naming a default keyword replaces
  it ("SIZE 1000" also makes MAIL ... SIZE=n above 1000 get a 552). "AUTH ..."
  makes the server offer those mechanisms (PLAIN, LOGIN, CRAM-MD5) and accept
  any credentials, or only those in ``credentials``; "XQUE"/"ONEX" make
  QUED/ONEX succeed; "STARTTLS" is advertised (it fails with 454 unless a
  ``tls_context`` is given), but not once the session is TLS (RFC 3207).
- ``credentials``: user name -> password; when not empty, AUTH checks them
  (PLAIN and LOGIN compare the password, CRAM-MD5 the HMAC of its challenge,
  which is "<session.attempt@localhost>" so that runs can be compared)
  and answers wrong ones with "535 5.7.8 Authentication credentials invalid".
- ``auth_required``: MAIL gets "530 5.7.0 Authentication required" until AUTH
  has succeeded in the session (so a test sees whether a client authenticated).
- ``replies``: reply overrides keyed by verb (HELO, MAIL, RCPT, DATA, RSET, QUIT,
  QUED, NOOP, AUTH, ...), by "DOT" (after the final dot) or by "RCPT:<addr>"
  (with or without the angle brackets). The value is sent verbatim (multi-line
  replies joined by "\\r\\n"). A 2xx override of HELO/MAIL/RCPT/RSET/QUIT/NOOP
  replaces the reply of the real command; any other override is sent instead of
  running the command, so it has no effect on the session state; a DATA
  override runs DATA if it is a 3xx reply.
- ``delays``: seconds to wait before replying, same keys plus "GREETING"
  (each capped at MAX_DELAY; stop() interrupts them).
- ``drop``: keys at which the server closes the connection instead of replying.

``RecordingServer(script=None, host="127.0.0.1", port=0, *, auth_hide=True,
tls_context=None, implicit_tls=False, implicit_tls_listener=False, on_message=None,
data_sink=None)``: ``port=0`` binds a free port (read ``.port`` after start());
``tls_context`` makes an advertised STARTTLS work, or with ``implicit_tls=True``
wraps every connection in TLS from the start (port 465 style; STARTTLS then
gets a 454); ``implicit_tls_listener=True`` keeps ``port`` as it is and adds a
second listener, on ``implicit_tls_port``, that speaks TLS from the start (a
capture server's two doors: STARTTLS and -tlsimport), recording into the same
sessions and messages. A TLS handshake (either kind) that does not finish
within TLS_HANDSHAKE_TIMEOUT seconds costs the client its connection, and
never holds up another; a client that speaks plain text to a TLS port is
dropped. stop() returns within a couple of seconds whatever the clients do;
``open_connections`` counts connections not yet closed.

Records: ``sessions`` (one `SessionRecord` per connection: each client line as
sent without its CRLF (a bare LF ending is kept: "NOOP\\n"), AUTH payloads
replaced by "<hidden>" unless ``auth_hide=False``; each reply with its lines
joined by "\\n"; ``tls``, a `TlsUse` once the session is TLS), ``passwords``
(each password a client sent in AUTH PLAIN or LOGIN, so that a caller can
mask it wherever it shows; never in the JSON record) and ``messages``
(each message that got a 2xx after the final dot). Both are appended from the
server thread before the client sees the corresponding reply, so a client that
has its reply can read them. ``on_message`` is called (in the server thread)
for each accepted message before the client sees the 250; if it raises, the
client gets a 451 instead and the message is not recorded.

Streaming, for capture mode: with ``data_sink`` (a factory, called once per
DATA before the 354) each message's DATA goes to a new `DataSink` piece by
piece as it arrives, as on the wire, and is neither kept in ``messages`` nor
passed to ``on_message``: the sink's ``finish(delivery)`` runs before the 250
(if it raises, the client gets a 451), its ``discard()`` when the message is
not accepted (connection lost, refused, over the size limit). Memory stays
flat whatever the message size. `Unstuffer` removes dot-stuffing from such
pieces. DATA longer than the advertised SIZE limit (on the wire) is read to
its end and refused with aiosmtpd's "552 Error: Too much mail data"; an
advertised "SIZE" without a number sets no limit.

Subprocess mode, for other languages' tests::

    python -m tclbridge.recorder [--script script.json] --ready-file PATH --record PATH

writes "host:port" to the ready file once listening and, on SIGTERM/SIGINT,
the JSON record (sessions; messages with ``data`` as a latin-1 string and
``data_base64``) to the record file. The script file holds ServerScript fields.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import ssl
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aiosmtpd.smtp import (
    MISSING,
    SMTP,
    AuthResult,
    Envelope,
    LoginPassword,
    Session,
    TLSSetupException,
)

MAX_DELAY = 30.0  # a scripted delay never exceeds this (keeps test runs bounded)
STOP_TIMEOUT = 2.0
TLS_HANDSHAKE_TIMEOUT = 10.0  # a client that stalls its TLS handshake loses the connection
MAX_LINE = 65536  # longest command line recorded in full (memory bound)
DEFAULT_SIZE = 33554432
_HIDDEN = "<hidden>"
_NOT_STORED = "451 4.3.0 Could not store the message"
_DATA_END = b"\r\n.\r\n"
log = logging.getLogger(__name__)
_STAGED_REPLY_VERBS = {"HELO", "MAIL", "RCPT", "RSET", "QUIT", "NOOP"}
_IMPLEMENTED_AUTH = {"PLAIN", "LOGIN", "CRAM-MD5"}  # aiosmtpd's two and our CRAM-MD5
_RCPT_ADDR = re.compile(r"^\s*TO:\s*<?([^<>\s]*)>?", re.IGNORECASE)
_STUFFED_DOT = re.compile(rb"(?:^|(?<=\r\n))\.")


def _ehlo_keyword(capability: str) -> str:
    """"AUTH=PLAIN LOGIN" -> "AUTH"."""
    return re.split(r"[ =]", capability, maxsplit=1)[0].upper()


@dataclass
class ServerScript:
    """How the server behaves (see the module docstring)."""

    greeting: str = "220 localhost ESMTP tclbridge recorder"
    ehlo: list[str] | None = None
    capabilities: list[str] = field(default_factory=list)
    replies: dict[str, str] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)
    credentials: dict[str, str] = field(default_factory=dict)
    auth_required: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServerScript:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown ServerScript fields: {sorted(unknown)}")
        data = dict(data)
        if "drop" in data:
            data["drop"] = set(data["drop"])
        return cls(**data)

    def ehlo_lines(self, hostname: str, encrypted: bool = False) -> list[str]:
        if self.ehlo is not None:
            return list(self.ehlo)
        keywords = {"PIPELINING": "PIPELINING", "SIZE": f"SIZE {DEFAULT_SIZE}",
                    "8BITMIME": "8BITMIME"}
        for cap in self.capabilities:  # a capability with a default's keyword replaces it
            keywords[_ehlo_keyword(cap)] = cap
        if encrypted:
            keywords.pop("STARTTLS", None)
        lines = [hostname, *keywords.values()]
        return [f"250-{line}" for line in lines[:-1]] + [f"250 {lines[-1]}"]

    def keyword(self, name: str) -> str | None:
        """The advertised EHLO line (without "250-") with keyword `name`, if any."""
        for line in self.ehlo_lines("")[1:]:
            cap = line[4:]
            if _ehlo_keyword(cap) == name:
                return cap
        return None


@dataclass(frozen=True)
class TlsUse:
    """How a session is encrypted."""

    mode: str  # "starttls" (upgraded after STARTTLS) or "implicit" (TLS from the start)
    version: str  # as OpenSSL names it: "TLSv1.3"
    cipher: str

    def __str__(self) -> str:
        return f"{'STARTTLS' if self.mode == 'starttls' else 'implicit TLS'}, {self.version}"


@dataclass
class SessionRecord:
    commands: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    peer: str = ""
    tls: TlsUse | None = None  # None: plain text (so far)


@dataclass
class Message:
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    data: bytes  # as on the wire: CRLF, dot-stuffed, without the final ".\r\n"
    session: int
    tls: TlsUse | None = None  # the session's TLS when the message came

    @property
    def content(self) -> bytes:
        """The message as delivered: dot-stuffing removed."""
        return _STUFFED_DOT.sub(b"", self.data)


@dataclass
class Delivery:
    """A streamed message's envelope, given to its `DataSink` once the final dot arrived."""

    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    session: int
    tls: TlsUse | None = None  # the session's TLS when the message came


class DataSink(Protocol):
    """Where one message's DATA goes as it arrives (see ``data_sink``)."""

    def write(self, data: bytes) -> None:
        """The next piece of DATA as on the wire (CRLF, dot-stuffed)."""

    def finish(self, delivery: Delivery) -> None:
        """All of DATA arrived and is accepted; store it (raise: the client gets a 451)."""

    def discard(self) -> None:
        """The message is not accepted: forget what was written (a no-op after finish)."""


class Unstuffer:
    """Removes dot-stuffing from DATA given in pieces: a "." that begins a line
    (at the start, or after CRLF) is dropped, as `Message.content` does."""

    def __init__(self) -> None:
        self._tail = b"\r\n"  # the last two bytes fed; DATA starts at a line start

    def feed(self, wire: bytes) -> bytes:
        joined = self._tail + wire
        self._tail = joined[-2:]
        # Each removed dot lies past the two bytes fed before, so those stay.
        return joined.replace(b"\r\n.", b"\r\n")[2:]


class _MemorySink:
    """The default sink: the message kept in `RecordingServer.messages`."""

    def __init__(self, owner: RecordingServer) -> None:
        self._owner = owner
        self._data = bytearray()

    def write(self, data: bytes) -> None:
        self._data += data

    def discard(self) -> None:
        self._data = bytearray()

    def finish(self, delivery: Delivery) -> None:
        message = Message(delivery.mail_from, delivery.rcpt_tos, delivery.mail_options,
                          bytes(self._data), delivery.session, delivery.tls)
        # Recorded before on_message, so that a transcript it saves ends with it.
        self._owner.messages.append(message)
        try:
            if self._owner.on_message is not None:
                self._owner.on_message(message)
        except Exception:
            self._owner.messages.remove(message)
            raise


class _Drop(Exception):
    """The script says: close the connection instead of replying."""


class _QuietSession(Session):
    # aiosmtpd's Session logs a deprecation warning whenever AUTH sets login_data.
    @property
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


def _authenticator(script: ServerScript, heard: set[str]) -> Callable[..., AuthResult]:
    """Accept anything, or (with ``script.credentials``) only a matching password.
    Each password a client sends (PLAIN, LOGIN) is added to `heard`."""

    def check(_server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str,
              data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            heard.add(data.password.decode("utf-8", "replace"))
        if not script.credentials:
            return AuthResult(success=True)
        if isinstance(data, LoginPassword):
            login = data.login.decode("utf-8", "replace")
            expected = script.credentials.get(login)
            ok = expected is not None and hmac.compare_digest(
                expected.encode("utf-8"), data.password)
        else:  # CRAM-MD5: (login, challenge, hex digest)
            login, challenge, digest = data
            expected = script.credentials.get(login)
            ok = expected is not None and hmac.compare_digest(
                hmac.new(expected.encode("utf-8"), challenge, hashlib.md5).hexdigest(), digest)
        if ok:
            return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)  # aiosmtpd then answers 535

    return check


class _RecordingSMTP(SMTP):
    """aiosmtpd's SMTP with our own command loop and DATA reader.

    The command loop is ours so that every line is recorded exactly as sent and
    the script can delay, drop or override any stage. DATA is ours because
    aiosmtpd removes the dot-stuffing and keeps no raw copy, and we need the
    wire bytes to check a client's stuffing and line endings; and because it
    holds each message in memory whole (its handler hook, ``handle_DATA``,
    only sees the finished envelope), where capture mode streams it to disk.
    Overriding ``smtp_DATA`` (already ours) was enough for that: no other
    aiosmtpd member is replaced, and its ``data_size_limit`` still sets the
    SIZE limit at MAIL and, here, for DATA.
    """

    def __init__(self, owner: RecordingServer, loop: asyncio.AbstractEventLoop,
                 implicit_tls: bool) -> None:
        self.owner = owner
        self.script = owner.script
        auth = self.script.keyword("AUTH")
        offered = set(re.split(r"[ =]", auth.upper())[1:]) if auth else set()
        size = self.script.keyword("SIZE")
        size_limit = DEFAULT_SIZE if size is None else int(size[5:] or 0) or None
        super().__init__(
            object(),
            hostname="localhost",
            loop=loop,
            data_size_limit=size_limit,
            enable_SMTPUTF8=self.script.keyword("SMTPUTF8") is not None,
            tls_context=None if implicit_tls else owner.tls_context,
            auth_require_tls=False,
            authenticator=_authenticator(self.script, owner.passwords),
            auth_exclude_mechanism=_IMPLEMENTED_AUTH - offered,
            timeout=300,
        )
        self.auth_offered = bool(offered)
        self.implicit_tls = implicit_tls
        self.record: SessionRecord | None = None
        self.index = -1
        self._override: str | None = None
        self._pending: list[str] = []  # lines of a multi-line reply not yet complete
        self._cram_attempts = 0

    def _create_session(self) -> Session:
        return _QuietSession(self.loop)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.record is None:  # not again after STARTTLS
            peer = transport.get_extra_info("peername") or ("?", 0)
            self.record = SessionRecord(peer=f"{peer[0]}:{peer[1]}")
            self.index = len(self.owner.sessions)
            self.owner.sessions.append(self.record)
            self.owner._live.add(self)
        tls = transport.get_extra_info("ssl_object")
        if tls is not None:  # the handshake is done: implicit, or after STARTTLS
            mode = "implicit" if self.implicit_tls else "starttls"
            self.record.tls = TlsUse(mode, tls.version() or "", (tls.cipher() or ("",))[0])

    def connection_lost(self, error: Exception | None) -> None:
        self.owner._live.discard(self)
        super().connection_lost(error)

    # -- replies ---------------------------------------------------------------

    def _record_reply(self, text: str) -> None:
        assert self.record is not None
        for line in text.split("\r\n"):
            self._pending.append(line)
            if line[3:4] != "-":
                self.record.replies.append("\n".join(self._pending))
                self._pending = []

    def _write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8", "surrogateescape") + b"\r\n")

    async def push(self, status: str | bytes) -> None:
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        if self._override is not None:
            text, self._override = self._override, None
        self._record_reply(text)
        self._write(text)
        await self._writer.drain()

    async def _stage(self, *keys: str) -> str | None:
        """Apply the script's delay and drop for a stage; return its reply override."""
        script = self.script
        delay = next((script.delays[k] for k in keys if k in script.delays), 0.0)
        if delay > 0:
            await asyncio.sleep(min(delay, MAX_DELAY))
        if any(k in script.drop for k in keys):
            raise _Drop
        return next((script.replies[k] for k in keys if k in script.replies), None)

    # -- the session -------------------------------------------------------------

    async def _handle_client(self) -> None:
        try:
            await self.push(await self._stage("GREETING") or self.script.greeting)
            while self.transport is not None:
                try:
                    line = await self._reader.readuntil(b"\n")
                except asyncio.LimitOverrunError as error:
                    line = await self._read_long_line(error.consumed)
                    self._record_command(line.rstrip(b"\r\n").decode("utf-8", "surrogateescape"))
                    await self.push("500 Command line too long")
                    continue
                except asyncio.IncompleteReadError:
                    return
                await self._command(line)
        except _Drop:
            if self.transport is not None:
                self.transport.close()
        except (asyncio.CancelledError, ConnectionError, EOFError):  # client gone, or stop()
            if self.transport is not None:
                self.transport.close()

    async def _read_long_line(self, consumed: int) -> bytes:
        """Read a line longer than the reader's limit, keeping at most MAX_LINE bytes."""
        line = b""
        while True:
            chunk = await self._reader.read(consumed)
            line = (line + chunk)[:MAX_LINE]
            if chunk.endswith(b"\n"):
                return line
            try:
                return (line + await self._reader.readuntil(b"\n"))[:MAX_LINE]
            except asyncio.LimitOverrunError as error:
                consumed = error.consumed

    def _record_command(self, text: str) -> None:
        assert self.record is not None
        self.record.commands.append(text)

    async def _command(self, raw: bytes) -> None:
        line = raw[:-2] if raw.endswith(b"\r\n") else raw  # keep a bare LF visible
        text = line.decode("utf-8", "surrogateescape")
        verb, _, arg = text.strip("\r\n").partition(" ")
        verb = verb.upper()
        shown = text
        if verb == "AUTH" and self.owner.auth_hide and len(arg.split()) > 1:
            shown = f"{text.split()[0]} {arg.split()[0]} {_HIDDEN}"
        self._record_command(shown)
        self._reset_timeout()
        if not verb:
            await self.push("500 Error: bad syntax")
            return
        keys = [verb]
        if verb == "RCPT" and (match := _RCPT_ADDR.match(arg)):
            keys.insert(0, f"RCPT:{match.group(1)}")
            keys.insert(0, f"RCPT:<{match.group(1)}>")
        if verb == "DATA":
            await self.smtp_DATA(arg.strip() or None)  # DATA handles its own stages
            return
        override = await self._stage(*keys)
        method = self._smtp_methods.get(verb)
        if (verb == "MAIL" and override is None and self.script.auth_required
                and self.session is not None and not self.session.authenticated):
            await self.push("530 5.7.0 Authentication required")
            return
        if override is not None:
            if not (override.startswith("2") and verb in _STAGED_REPLY_VERBS):
                await self.push(override)
                return
            self._override = override
        if method is None:
            await self.push(f'500 Error: command "{verb}" not recognized')
            return
        try:
            await method(arg.strip() or None)
        except (asyncio.CancelledError, _Drop, ConnectionError, EOFError):
            raise
        except TLSSetupException:  # the client gave up the handshake (say, an untrusted CA)
            # asyncio never tells us the connection is lost (the TLS layer had not
            # reached us yet), so close the socket and stop counting it ourselves.
            log.info("STARTTLS handshake failed; closing the connection")
            if self._original_transport is not None:
                self._original_transport.abort()
            self.owner._live.discard(self)
            raise _Drop from None
        except Exception as error:
            await self.push(await self.handle_exception(error))
        finally:
            self._override = None

    # -- commands aiosmtpd lacks or that we do differently ------------------------------

    async def smtp_EHLO(self, hostname: str | None) -> None:
        if not hostname:
            await self.push("501 Syntax: EHLO hostname")
            return
        self._set_rset_state()
        assert self.session is not None
        self.session.extended_smtp = True
        lines = self.script.ehlo_lines(self.hostname, encrypted=self.record is not None
                                       and self.record.tls is not None)
        if lines and lines[0].startswith("250"):
            self.session.host_name = hostname
        await self.push("\r\n".join(lines))

    async def smtp_STARTTLS(self, arg: str) -> None:
        # asyncio's own bound on the handshake is a minute; ours is shorter.
        try:
            await asyncio.wait_for(super().smtp_STARTTLS(arg), TLS_HANDSHAKE_TIMEOUT)
        except asyncio.TimeoutError:
            raise TLSSetupException("TLS handshake timed out") from None

    async def smtp_AUTH(self, arg: str) -> None:
        if not self.auth_offered:
            await self.push("502 5.5.1 AUTH not offered")
            return
        await super().smtp_AUTH(arg)

    async def smtp_QUED(self, arg: str | None) -> None:
        ok = self.script.keyword("XQUE") is not None
        await self.push("250 OK" if ok else '500 Error: command "QUED" not recognized')

    async def smtp_ONEX(self, arg: str | None) -> None:
        ok = self.script.keyword("ONEX") is not None
        await self.push("250 OK" if ok else '500 Error: command "ONEX" not recognized')

    async def auth_CRAM__MD5(self, _: Any, args: list[str]) -> AuthResult:
        if len(args) > 1:
            await self.push("501 5.5.2 CRAM-MD5 takes no initial response")
            return AuthResult(success=False, handled=True)
        # Deterministic (session and attempt number), so that runs can be compared.
        self._cram_attempts += 1
        challenge = f"<{self.index + 1}.{self._cram_attempts}@{self.hostname}>".encode()
        answer = await self.challenge_auth(challenge)
        if answer is MISSING:
            return AuthResult(success=False, handled=True)
        login, _, digest = bytes(answer).decode("utf-8", "replace").rpartition(" ")
        if not login or not re.fullmatch(r"[0-9a-f]{32}", digest):
            await self.push("501 5.5.2 Malformed CRAM-MD5 response")
            return AuthResult(success=False, handled=True)
        return self._authenticate("CRAM-MD5", (login, challenge, digest))

    async def challenge_auth(
        self, challenge: str | bytes, encode_to_b64: bool = True, log_client_response: bool = False
    ) -> Any:
        # Ours only to record the client's answer (hidden), which aiosmtpd reads itself.
        raw = challenge.encode() if isinstance(challenge, str) else challenge
        await self.push(b"334 " + (base64.b64encode(raw) if encode_to_b64 else raw))
        line = await self._reader.readline()
        if not line:
            raise EOFError("connection closed during AUTH")
        answer = line.rstrip(b"\r\n")
        self._record_command(
            _HIDDEN if self.owner.auth_hide else answer.decode("utf-8", "surrogateescape"))
        if answer.strip() == b"*":
            await self.push("501 5.7.0 Auth aborted")
            return MISSING
        try:
            return base64.b64decode(answer.strip(), validate=True)
        except ValueError:
            await self.push("501 5.5.2 Can't decode base64")
            return MISSING

    async def smtp_DATA(self, arg: str | None) -> None:
        override = await self._stage("DATA")
        if override is not None and not override.startswith("3"):
            await self.push(override)
            return
        if await self.check_helo_needed():
            return
        assert self.envelope is not None and self.session is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        try:
            sink = self.owner.new_sink()
        except Exception:  # e.g. capture's directory is gone
            log.exception("cannot store a message")
            await self.push(_NOT_STORED)
            return
        try:
            await self._deliver(sink, override)
        finally:
            sink.discard()  # a no-op once the sink has finished

    async def _deliver(self, sink: DataSink, override: str | None) -> None:
        await self.push(override or "354 End data with <CR><LF>.<CR><LF>")
        status = await self._read_data(sink)
        reply = await self._stage("DOT") or "250 OK"
        envelope = self.envelope
        assert envelope is not None
        self._set_post_data_state()
        if status is not None:
            reply = status
        if not reply.startswith("2"):
            await self.push(reply)
            return
        delivery = Delivery(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            mail_options=list(envelope.mail_options),
            session=self.index,
            tls=None if self.record is None else self.record.tls,
        )
        # Recorded before the client can see the reply, and before the sink
        # stores the message, so that a transcript saved with it ends with it.
        self._record_reply(reply)
        try:
            sink.finish(delivery)
        except Exception:  # e.g. capture's disk is full: the client must not get a 250
            log.exception("storing the message failed")
            assert self.record is not None
            self.record.replies.pop()
            await self.push(_NOT_STORED)
            return
        self._write(reply)
        await self._writer.drain()

    async def _read_data(self, sink: DataSink) -> str | None:
        """Read DATA up to CRLF.CRLF into `sink`, raw (no unstuffing). None when
        it is all there, else the reply that refuses it (the rest is read and dropped)."""
        limit = self.data_size_limit
        size = 0
        status: str | None = None
        next_reset = 0.0
        pieces = self._data_pieces()
        async for data in pieces:
            now = self.loop.time()
            if now >= next_reset:  # the idle timer, restarted at most once a second
                self._reset_timeout()
                next_reset = now + 1.0
            size += len(data)
            if status is None and limit and size > limit:
                status = "552 Error: Too much mail data"  # aiosmtpd's words
                sink.discard()
            if status is None:
                try:
                    sink.write(data)
                except Exception:  # e.g. capture's disk is full: read on, then refuse
                    log.exception("storing the message failed")
                    status = _NOT_STORED
                    sink.discard()
        return status

    async def _data_pieces(self) -> AsyncIterator[bytes]:
        """DATA as it arrives, in pieces, without its final ".\\r\\n" and
        without taking a byte past it (a pipelining client may have sent its
        next command behind it).

        Under way, each read takes up to CRLF.CRLF, or when none is near all
        the stream holds but the 4 bytes a split CRLF.CRLF could begin with,
        so no end can span two reads. Only at the start, where a line start
        comes for free, is that settled byte by byte until it is past.
        """
        tail = b"\r\n"  # the last bytes read: DATA starts at a line start
        matched = 2  # how much of CRLF.CRLF the bytes read end with
        while matched:
            byte = await self._reader.readexactly(1)
            held = _DATA_END[2:matched]  # a "." or ".\r" that may be the end's
            tail = (tail + byte)[-len(_DATA_END):]
            matched = _end_matched(tail)
            if matched == len(_DATA_END):
                return
            out = held + byte
            yield out[: len(out) - max(0, matched - 2)]
        while True:
            try:
                piece = await self._reader.readuntil(_DATA_END)
            except asyncio.LimitOverrunError as error:
                yield await self._reader.read(error.consumed)
                continue
            yield piece[:-3]  # its CRLF is the last line's
            return


def _end_matched(tail: bytes) -> int:
    """The length of the longest start of CRLF.CRLF that `tail` ends with."""
    return max(n for n in range(len(_DATA_END) + 1) if tail.endswith(_DATA_END[:n]))


class RecordingServer:
    """The SMTP server; see the module docstring."""

    def __init__(
        self,
        script: ServerScript | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        auth_hide: bool = True,
        tls_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        implicit_tls_listener: bool = False,
        on_message: Callable[[Message], None] | None = None,
        data_sink: Callable[[], DataSink] | None = None,
    ) -> None:
        self.script = script or ServerScript()
        self.host = host
        self.port = port
        self.auth_hide = auth_hide
        if (implicit_tls or implicit_tls_listener) and tls_context is None:
            raise ValueError("implicit TLS needs a tls_context")
        if implicit_tls and implicit_tls_listener:
            raise ValueError("implicit_tls already makes the one listener implicit TLS")
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.implicit_tls_listener = implicit_tls_listener
        self.implicit_tls_port: int | None = None  # the second listener's, once started
        self.on_message = on_message
        if data_sink is not None and on_message is not None:
            raise ValueError("on_message is for kept messages; a data_sink stores its own")
        self._data_sink = data_sink
        self.sessions: list[SessionRecord] = []
        self.messages: list[Message] = []
        self.passwords: set[str] = set()  # heard in AUTH: what output must never show
        self._live: set[_RecordingSMTP] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def start(self) -> RecordingServer:
        if self._thread is not None:
            raise RuntimeError("RecordingServer already started")
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="tclbridge-recorder", daemon=True)
        self._thread.start()
        if not ready.wait(10) or self._error is not None:
            self.stop()
            raise RuntimeError(f"SMTP recorder failed to start: {self._error!r}")
        return self

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        listeners: list[asyncio.Server] = []
        try:
            doors = [(self.port, self.implicit_tls)]
            if self.implicit_tls_listener:
                doors.append((0, True))
            for port, implicit in doors:
                listeners.append(loop.run_until_complete(self._listen(loop, port, implicit)))
        except BaseException as error:
            self._error = error
            ready.set()
            for listener in listeners:
                listener.close()
            loop.close()
            return
        self.port = listeners[0].sockets[0].getsockname()[1]
        if self.implicit_tls_listener:
            self.implicit_tls_port = listeners[1].sockets[0].getsockname()[1]
        ready.set()
        try:
            loop.run_forever()
        finally:
            # Close the listeners, abort live connections (close() would wait to
            # flush to a client that does not read), cancel the session tasks.
            for listener in listeners:
                listener.close()
            for proto in list(self._live):
                if proto._original_transport is not None:
                    proto._original_transport.abort()
                if proto.transport is not None:
                    proto.transport.abort()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=STOP_TIMEOUT / 2))
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    def _listen(self, loop: asyncio.AbstractEventLoop, port: int,
                implicit: bool) -> Awaitable[asyncio.Server]:
        tls = self.tls_context if implicit else None
        return loop.create_server(
            lambda: _RecordingSMTP(self, loop, implicit), self.host, port, ssl=tls,
            ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT if tls else None)

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if not loop.is_closed():
            try:
                loop.call_soon_threadsafe(loop.stop)
            except RuntimeError:  # closed in between
                pass
        thread.join(STOP_TIMEOUT)
        self._thread = None

    def new_sink(self) -> DataSink:
        """Where the next message's DATA goes."""
        return _MemorySink(self) if self._data_sink is None else self._data_sink()

    @property
    def open_connections(self) -> int:
        """Connections not yet closed (e.g. to wait for a client's last RSET/QUIT)."""
        return len(self._live)

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready data (message data as latin-1 text and base64)."""
        return {
            "sessions": [asdict(s) for s in self.sessions],
            "messages": [
                {
                    "mail_from": m.mail_from,
                    "rcpt_tos": m.rcpt_tos,
                    "mail_options": m.mail_options,
                    "data": m.data.decode("latin-1"),
                    "data_base64": base64.b64encode(m.data).decode("ascii"),
                    "session": m.session,
                }
                for m in self.messages
            ],
        }


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tclbridge.recorder", description="Run a recording SMTP server.")
    parser.add_argument("--script", type=Path, help="JSON file with ServerScript fields")
    parser.add_argument("--ready-file", type=Path, required=True,
                        help="written with host:port once listening")
    parser.add_argument("--record", type=Path, required=True,
                        help="JSON record written on SIGTERM/SIGINT")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--show-auth", action="store_true", help="do not hide AUTH payloads")
    args = parser.parse_args(argv)

    script = ServerScript()
    if args.script:
        script = ServerScript.from_dict(json.loads(args.script.read_text(encoding="utf-8")))
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    server = RecordingServer(script, args.host, args.port, auth_hide=not args.show_auth)
    server.start()
    try:
        _write_atomically(args.ready_file, f"{server.host}:{server.port}\n")
        while not stopping.wait(0.2):
            pass
    finally:
        server.stop()
        _write_atomically(args.record, json.dumps(server.to_json(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
