"""A recording, scriptable SMTP server on 127.0.0.1, for tests and capture mode.

tclbridge's own small server on asyncio (its bytes: tclbridge/recorder_wire.py),
speaking as aiosmtpd 1.4 did, on whose private members it was once built; it runs
in a background thread with its own event loop::

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
its end and refused with "552 Error: Too much mail data"; an
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
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tclbridge.recorder_wire import Wire

MAX_DELAY = 30.0  # a scripted delay never exceeds this (keeps test runs bounded)
STOP_TIMEOUT = 2.0
TLS_HANDSHAKE_TIMEOUT = 10.0  # a client that stalls its TLS handshake loses the connection
IDLE_TIMEOUT = 300.0  # a client silent this long loses the connection
DEFAULT_SIZE = 33554432
_HIDDEN = "<hidden>"
_NOT_STORED = "451 4.3.0 Could not store the message"
log = logging.getLogger(__name__)
_STAGED_REPLY_VERBS = {"HELO", "MAIL", "RCPT", "RSET", "QUIT", "NOOP"}
_IMPLEMENTED_AUTH = {"PLAIN", "LOGIN", "CRAM-MD5"}
_RCPT_ADDR = re.compile(r"^\s*TO:\s*<?([^<>\s]*)>?", re.IGNORECASE)
_STUFFED_DOT = re.compile(rb"(?:^|(?<=\r\n))\.")
# Paths: "<" address ">" with quoted strings, or an address alone.
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"?')
_BARE_PIECE = re.compile(r'"(?:[^"\\]|\\.)*"?|[^"<>\s]+')
_BRACKETED_PIECE = re.compile(r'"(?:[^"\\]|\\.)*"?|[^">]+')
_SOURCE_ROUTE = re.compile(r"^@[^:]*:")
_SPECIAL = re.compile(r"[<>()\[\],;:\\\s]")
_ATEXT_DOTS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+")
# HELP's list, with each command's syntax (and what ESMTP adds to it).
_HELP = {
    "HELO": ("HELO hostname", ""), "HELP": ("HELP [command]", ""),
    "MAIL": ("MAIL FROM: <address>", " [SP <mail-parameters>]"),
    "NOOP": ("NOOP [ignored]", ""), "QUIT": ("QUIT", ""),
    "RCPT": ("RCPT TO: <address>", " [SP <mail-parameters>]"),
    "RSET": ("RSET", ""), "VRFY": ("VRFY <address>", ""),
}


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


class _Hangup(Exception):
    """The conversation is over: close the connection (QUIT, or the script's drop)."""


class _Envelope:
    def __init__(self) -> None:
        self.mail_from: str | None = None
        self.mail_options: list[str] = []
        self.rcpt_tos: list[str] = []


def _parse_path(arg: str) -> tuple[str | None, str]:
    """(address, the parameters after it) of a MAIL FROM/RCPT TO argument.
    Lenient, as aiosmtpd was, for the forms clients send: "<>" is the null
    path, a missing ">" is forgiven, a source route ("@a,@b:") is dropped.
    None: not an address (aiosmtpd's reading differs only for such ones)."""
    text = arg.lstrip()
    if not text:
        return "", ""
    bracket = text.startswith("<")
    pieces = _BRACKETED_PIECE if bracket else _BARE_PIECE
    pos = 1 if bracket else 0
    while (piece := pieces.match(text, pos)) is not None:
        pos = piece.end()
    inner, rest = text[1 if bracket else 0 : pos], text[pos:]
    if bracket:
        rest = rest[1:]  # the ">", if any
        inner = inner.strip()
        if not inner and text[pos : pos + 1] == ">":
            return "<>", rest.strip()
        inner = _SOURCE_ROUTE.sub("", inner, count=1)
    address = _addr_spec(inner)
    return (address, rest.strip()) if address is not None else (None, "")


def _addr_spec(text: str) -> str | None:
    """`text` as local-part[@domain], or None when it is not one."""
    unquoted = _QUOTED.sub('""', text)
    if not text or unquoted.count("@") > 1:
        return None
    local, at, domain = text.rpartition("@") if "@" in unquoted else (text, "", "")
    if at and (not local or not domain or domain.endswith(".")):
        return None
    literal = domain.startswith("[") and domain.endswith("]")
    if _SPECIAL.search(_QUOTED.sub('""', local).replace(" ", "")) or (
            not literal and _SPECIAL.search(domain)):
        return None
    if local.startswith('"') and local.endswith('"') and len(local) > 1:
        inner = local[1:-1]
        if inner and _ATEXT_DOTS.fullmatch(inner):
            local = inner  # quotes that say nothing are dropped
    elif " " in local:
        local = f'"{local}"'
    return f"{local}{at}{domain}"


def _parse_params(words: list[str]) -> dict[str, str | bool] | None:
    """ESMTP parameters ("SIZE=10", "SMTPUTF8"), or None when one is malformed."""
    params: dict[str, str | bool] = {}
    for word in words:
        name, equals, value = word.partition("=")
        if not name.isalnum() or (equals and not value):
            return None
        params[name] = value if equals else True
    return params


def _check_credentials(script: ServerScript, heard: set[str], mechanism: str,
                       data: tuple[bytes, ...]) -> bool:
    """Accept anything, or (with ``script.credentials``) only a matching password.
    Each password a client sends (PLAIN, LOGIN) is added to `heard`."""
    if mechanism != "CRAM-MD5":
        heard.add(data[1].decode("utf-8", "replace"))
    if not script.credentials:
        return True
    login = data[0].decode("utf-8", "replace")
    expected = script.credentials.get(login)
    if expected is None:
        return False
    if mechanism == "CRAM-MD5":  # (login, challenge, hex digest)
        digest = hmac.new(expected.encode("utf-8"), data[1], hashlib.md5).hexdigest()
        return hmac.compare_digest(digest.encode(), data[2])
    return hmac.compare_digest(expected.encode("utf-8"), data[1])


class _Conversation:
    """One client's SMTP session, as the script says, recorded.

    It speaks as aiosmtpd 1.4 did (its reply texts, its lenient reading of
    addresses and parameters), so records read as they did when it was built
    on aiosmtpd. Ours on purpose: every line is recorded exactly as sent,
    the script can delay, drop or override any stage, DATA is kept (or
    streamed to a sink) as on the wire, and CRAM-MD5 and QUED/ONEX exist.
    """

    def __init__(self, owner: RecordingServer, implicit_tls: bool) -> None:
        self.owner = owner
        self.script = owner.script
        auth = self.script.keyword("AUTH")
        self.offered = set(re.split(r"[ =]", auth.upper())[1:]) if auth else set()
        self.mechanisms = self.offered & _IMPLEMENTED_AUTH
        size = self.script.keyword("SIZE")
        self.size_limit = DEFAULT_SIZE if size is None else int(size[5:] or 0) or None
        self.smtputf8 = self.script.keyword("SMTPUTF8") is not None
        self.tls_context = None if implicit_tls else owner.tls_context
        self.implicit_tls = implicit_tls
        self.wire = Wire(self._opened, self._closed, IDLE_TIMEOUT)
        self.record: SessionRecord | None = None
        self.index = -1
        self.hostname = "localhost"
        self._task: asyncio.Task[None] | None = None
        self._override: str | None = None
        self._pending: list[str] = []  # lines of a multi-line reply not yet complete
        self._cram_attempts = 0
        self._commands: dict[str, Callable[[str | None], Awaitable[None]]] = {
            "HELO": self.smtp_HELO, "EHLO": self.smtp_EHLO, "MAIL": self.smtp_MAIL,
            "RCPT": self.smtp_RCPT, "RSET": self.smtp_RSET, "NOOP": self.smtp_NOOP,
            "QUIT": self.smtp_QUIT, "VRFY": self.smtp_VRFY, "HELP": self.smtp_HELP,
            "STARTTLS": self.smtp_STARTTLS, "AUTH": self.smtp_AUTH,
            "QUED": self.smtp_QUED, "ONEX": self.smtp_ONEX,
        }
        self._new_session()

    def _new_session(self) -> None:
        """The state a connection starts with, and has again after STARTTLS."""
        self.host_name: str | None = None
        self.extended = False
        self.authenticated = False
        self.envelope = _Envelope()

    # -- the connection ---------------------------------------------------------------

    def _opened(self, wire: Wire) -> None:
        assert wire.transport is not None
        peer = wire.transport.get_extra_info("peername") or ("?", 0)
        self.record = SessionRecord(peer=f"{peer[0]}:{peer[1]}")
        self.index = len(self.owner.sessions)
        self.owner.sessions.append(self.record)
        self.owner._live.add(self)
        tls = wire.transport.get_extra_info("ssl_object")
        if tls is not None:  # an implicit TLS listener: the handshake is done
            self.record.tls = TlsUse("implicit", tls.version() or "", (tls.cipher() or ("",))[0])
        self._task = asyncio.get_running_loop().create_task(self._serve())

    def _closed(self, wire: Wire) -> None:
        self.owner._live.discard(self)
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    # -- replies ---------------------------------------------------------------

    def _record_reply(self, text: str) -> None:
        assert self.record is not None
        for line in text.split("\r\n"):
            self._pending.append(line)
            if line[3:4] != "-":
                self.record.replies.append("\n".join(self._pending))
                self._pending = []

    async def push(self, text: str) -> None:
        if self._override is not None:
            text, self._override = self._override, None
        self._record_reply(text)
        await self.wire.write(text.encode("utf-8", "surrogateescape") + b"\r\n")

    async def _stage(self, *keys: str) -> str | None:
        """Apply the script's delay and drop for a stage; return its reply override."""
        script = self.script
        delay = next((script.delays[k] for k in keys if k in script.delays), 0.0)
        if delay > 0:
            await asyncio.sleep(min(delay, MAX_DELAY))
        if any(k in script.drop for k in keys):
            raise _Hangup
        return next((script.replies[k] for k in keys if k in script.replies), None)

    # -- the session -------------------------------------------------------------

    async def _serve(self) -> None:
        try:
            await self.push(await self._stage("GREETING") or self.script.greeting)
            while True:
                line, too_long = await self.wire.read_line()
                if too_long:
                    self._record_command(line.rstrip(b"\r\n").decode("utf-8", "surrogateescape"))
                    await self.push("500 Command line too long")
                    continue
                await self._command(line)
        except (_Hangup, asyncio.CancelledError, ConnectionError, EOFError):
            self.wire.close()  # done, client gone or idle too long, or stop()

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
        method = self._commands.get(verb)
        if (verb == "MAIL" and override is None and self.script.auth_required
                and not self.authenticated):
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
        except (asyncio.CancelledError, _Hangup, ConnectionError, EOFError):
            raise
        except Exception as error:  # a bug of ours: the client gets aiosmtpd's words for it
            log.exception("SMTP session exception")
            await self.push(f"500 Error: ({error.__class__.__name__}) {error}")
        finally:
            self._override = None

    async def _helo_needed(self, helo: str = "HELO") -> bool:
        if not self.host_name:
            await self.push(f"503 Error: send {helo} first")
            return True
        return False

    # -- the commands ------------------------------------------------------------------

    async def smtp_HELO(self, hostname: str | None) -> None:
        if not hostname:
            await self.push("501 Syntax: HELO hostname")
            return
        self.envelope = _Envelope()
        self.extended = False
        self.host_name = hostname
        await self.push(f"250 {self.hostname}")

    async def smtp_EHLO(self, hostname: str | None) -> None:
        if not hostname:
            await self.push("501 Syntax: EHLO hostname")
            return
        self.envelope = _Envelope()
        self.extended = True
        lines = self.script.ehlo_lines(self.hostname, encrypted=self.record is not None
                                       and self.record.tls is not None)
        if lines and lines[0].startswith("250"):
            self.host_name = hostname
        await self.push("\r\n".join(lines))

    async def smtp_NOOP(self, arg: str | None) -> None:
        await self.push("250 OK")

    async def smtp_QUIT(self, arg: str | None) -> None:
        if arg:
            await self.push("501 Syntax: QUIT")
            return
        await self.push("221 Bye")
        raise _Hangup

    async def smtp_RSET(self, arg: str | None) -> None:
        if arg:
            await self.push("501 Syntax: RSET")
            return
        self.envelope = _Envelope()
        await self.push("250 OK")

    async def smtp_VRFY(self, arg: str | None) -> None:
        if not arg:
            await self.push("501 Syntax: VRFY <address>")
        elif _parse_path(arg)[0] is None:
            await self.push("502 Could not VRFY " + arg)
        else:
            await self.push("252 Cannot VRFY user, but will accept message and attempt delivery")

    async def smtp_HELP(self, arg: str | None) -> None:
        code = 250
        if arg:
            syntax = _HELP.get(arg.upper())
            if syntax is not None:
                await self.push("250 Syntax: " + syntax[0] + (syntax[1] if self.extended else ""))
                return
            code = 501
        await self.push(f"{code} Supported commands: {' '.join(sorted(_HELP))}")

    def _syntax_error(self, command: str) -> str:
        return f"501 Syntax: {command} <address>" + (
            " [SP <mail-parameters>]" if self.extended else "")

    async def _path(self, keyword: str, arg: str | None,
                    error: str) -> tuple[str, list[str]] | None:
        """The address and upper-cased parameters of MAIL/RCPT, or None (refused)."""
        if arg is None or arg[: len(keyword)].upper() != keyword:
            await self.push(error)
            return None
        address, params = _parse_path(arg[len(keyword):].strip())
        if address is None:
            await self.push("553 5.1.3 Error: malformed address")
            return None
        if not address or (params and not self.extended):
            await self.push(error)
            return None
        return address, params.upper().split()

    async def smtp_MAIL(self, arg: str | None) -> None:
        if await self._helo_needed():
            return
        error = self._syntax_error("MAIL FROM:")
        path = await self._path("FROM:", arg, error)
        if path is None:
            return
        address, options = path
        if self.envelope.mail_from:
            await self.push("503 Error: nested MAIL command")
            return
        params = _parse_params(options)
        if params is None:
            await self.push(error)
            return
        if params.pop("BODY", "7BIT") not in ("7BIT", "8BITMIME"):
            await self.push("501 Error: BODY can only be one of 7BIT, 8BITMIME")
            return
        smtputf8 = params.pop("SMTPUTF8", False)
        if not isinstance(smtputf8, bool):
            await self.push("501 Error: SMTPUTF8 takes no arguments")
            return
        if smtputf8 and not self.smtputf8:
            await self.push("501 Error: SMTPUTF8 disabled")
            return
        size = params.pop("SIZE", None)
        if size:
            if isinstance(size, bool) or not size.isdigit():
                await self.push(error)
                return
            if self.size_limit and int(size) > self.size_limit:
                await self.push("552 Error: message size exceeds fixed maximum message size")
                return
        if params:
            await self.push("555 MAIL FROM parameters not recognized or not implemented")
            return
        self.envelope.mail_from = address
        self.envelope.mail_options.extend(options)
        await self.push("250 OK")

    async def smtp_RCPT(self, arg: str | None) -> None:
        if await self._helo_needed():
            return
        if not self.envelope.mail_from:
            await self.push("503 Error: need MAIL command")
            return
        error = self._syntax_error("RCPT TO:")
        path = await self._path("TO:", arg, error)
        if path is None:
            return
        address, options = path
        params = _parse_params(options)
        if params is None:
            await self.push(error)
            return
        if params:
            await self.push("555 RCPT TO parameters not recognized or not implemented")
            return
        self.envelope.rcpt_tos.append(address)
        await self.push("250 OK")

    async def smtp_QUED(self, arg: str | None) -> None:
        ok = self.script.keyword("XQUE") is not None
        await self.push("250 OK" if ok else '500 Error: command "QUED" not recognized')

    async def smtp_ONEX(self, arg: str | None) -> None:
        ok = self.script.keyword("ONEX") is not None
        await self.push("250 OK" if ok else '500 Error: command "ONEX" not recognized')

    async def smtp_STARTTLS(self, arg: str | None) -> None:
        if arg:
            await self.push("501 Syntax: STARTTLS")
            return
        assert self.record is not None
        if self.tls_context is None or self.record.tls is not None:
            await self.push("454 TLS not available")
            return
        self.wire.pause_reading()  # what the client sends next is the handshake
        await self.push("220 Ready to start TLS")
        try:
            tls = await self.wire.start_tls(self.tls_context, TLS_HANDSHAKE_TIMEOUT)
        except (OSError, EOFError, asyncio.TimeoutError):  # e.g. the client distrusts us
            log.info("STARTTLS handshake failed; closing the connection")
            self.wire.abort()
            self.owner._live.discard(self)
            raise _Hangup from None
        self._new_session()  # the client starts again with EHLO (RFC 3207 4.2)
        self.record.tls = TlsUse("starttls", tls.version() or "", (tls.cipher() or ("",))[0])

    # -- AUTH --------------------------------------------------------------------------

    async def smtp_AUTH(self, arg: str | None) -> None:
        if not self.offered:
            await self.push("502 5.5.1 AUTH not offered")
            return
        if await self._helo_needed("EHLO"):
            return
        if not self.extended:
            await self.push("500 Error: command 'AUTH' not recognized")
            return
        if self.authenticated:
            await self.push("503 Already authenticated")
            return
        if not arg:
            await self.push("501 Not enough value")
            return
        args = arg.split()
        if len(args) > 2:
            await self.push("501 Too many values")
            return
        mechanism = args[0]
        if mechanism not in self.mechanisms:
            await self.push("504 5.5.4 Unrecognized authentication type")
            return
        read = {"PLAIN": self._auth_plain, "LOGIN": self._auth_login,
                "CRAM-MD5": self._auth_cram_md5}[mechanism]
        data = await read(args[1:])
        if data is None:  # refused already, with its reason
            return
        if _check_credentials(self.script, self.owner.passwords, mechanism, data):
            self.authenticated = True
            await self.push("235 2.7.0 Authentication successful")
        else:
            await self.push("535 5.7.8 Authentication credentials invalid")

    def _initial(self, given: list[str]) -> bytes | None:
        try:
            return base64.b64decode(given[0].encode(), validate=True)
        except ValueError:
            return None

    async def _auth_plain(self, given: list[str]) -> tuple[bytes, ...] | None:
        answer = (await self.challenge(b"")) if not given else self._initial(given)
        if answer is None:
            if given:
                await self.push("501 5.5.2 Can't decode base64")
            return None
        parts = answer.split(b"\x00")
        if len(parts) != 3:
            await self.push("501 5.5.2 Can't split auth value")
            return None
        return parts[1], parts[2]  # (the authorization identity is ignored)

    async def _auth_login(self, given: list[str]) -> tuple[bytes, ...] | None:
        login = (await self.challenge(b"User Name\x00")) if not given else self._initial(given)
        if login is None:
            if given:
                await self.push("501 5.5.2 Can't decode base64")
            return None
        password = await self.challenge(b"Password\x00")
        return None if password is None else (login, password)

    async def _auth_cram_md5(self, given: list[str]) -> tuple[bytes, ...] | None:
        if given:
            await self.push("501 5.5.2 CRAM-MD5 takes no initial response")
            return None
        # Deterministic (session and attempt number), so that runs can be compared.
        self._cram_attempts += 1
        challenge = f"<{self.index + 1}.{self._cram_attempts}@{self.hostname}>".encode()
        answer = await self.challenge(challenge)
        if answer is None:
            return None
        login, _, digest = answer.decode("utf-8", "replace").rpartition(" ")
        if not login or not re.fullmatch(r"[0-9a-f]{32}", digest):
            await self.push("501 5.5.2 Malformed CRAM-MD5 response")
            return None
        return login.encode("utf-8"), challenge, digest.encode()

    async def challenge(self, challenge: bytes) -> bytes | None:
        """Send a 334 challenge; the client's decoded answer, or None (refused)."""
        await self.push("334 " + base64.b64encode(challenge).decode("ascii"))
        line, _ = await self.wire.read_line()
        answer = line.rstrip(b"\r\n")
        self._record_command(
            _HIDDEN if self.owner.auth_hide else answer.decode("utf-8", "surrogateescape"))
        if answer.strip() == b"*":
            await self.push("501 5.7.0 Auth aborted")
            return None
        try:
            return base64.b64decode(answer.strip(), validate=True)
        except ValueError:
            await self.push("501 5.5.2 Can't decode base64")
            return None

    # -- DATA --------------------------------------------------------------------------

    async def smtp_DATA(self, arg: str | None) -> None:
        override = await self._stage("DATA")
        if override is not None and not override.startswith("3"):
            await self.push(override)
            return
        if await self._helo_needed():
            return
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
        envelope, self.envelope = self.envelope, _Envelope()
        if status is not None:
            reply = status
        if not reply.startswith("2"):
            await self.push(reply)
            return
        assert self.record is not None
        delivery = Delivery(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            mail_options=list(envelope.mail_options),
            session=self.index,
            tls=self.record.tls,
        )
        # Recorded before the client can see the reply, and before the sink
        # stores the message, so that a transcript saved with it ends with it.
        self._record_reply(reply)
        try:
            sink.finish(delivery)
        except Exception:  # e.g. capture's disk is full: the client must not get a 250
            log.exception("storing the message failed")
            self.record.replies.pop()
            await self.push(_NOT_STORED)
            return
        await self.wire.write(reply.encode("utf-8", "surrogateescape") + b"\r\n")

    async def _read_data(self, sink: DataSink) -> str | None:
        """Read DATA up to CRLF.CRLF into `sink`, raw (no unstuffing). None when
        it is all there, else the reply that refuses it (the rest is read and dropped)."""
        limit = self.size_limit
        size = 0
        status: str | None = None
        async for data in self.wire.data_pieces():
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
        self._live: set[_Conversation] = set()
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
            for conversation in list(self._live):
                conversation.wire.abort()
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
            lambda: _Conversation(self, implicit).wire, self.host, port, ssl=tls,
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
