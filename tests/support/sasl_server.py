"""An aiosmtpd test server whose AUTH mechanisms really check the credentials.

Usage (a context manager; it listens on 127.0.0.1, a free port)::

    with SaslServer(mechanisms=["SCRAM-SHA-256", "PLAIN"], tls="starttls") as srv:
        connect(srv.host, srv.port, ssl_context=srv.client_context())
        ...
        assert srv.succeeded == ["SCRAM-SHA-256"]
        assert srv.messages[0].content.startswith(b"Subject:")

``SaslServer(mechanisms=ALL_MECHANISMS, *, username=USERNAME, password=PASSWORD,
token=TOKEN, tls=None | "starttls" | "implicit", ca=None, server_name="localhost",
realm="localhost", iterations=4096, auth_require_tls=False, misbehave=(),
cert_not_after=None)``

- Each mechanism is verified server-side, independently of the client code in
  tclbridge.smtp.sasl: SCRAM-SHA-256/SCRAM-SHA-1 (salt, iteration count,
  client proof checked against StoredKey, server signature sent back), DIGEST-MD5
  (expected response computed, digest-uri must be "smtp/<server_name>", rspauth
  sent), CRAM-MD5 (HMAC of the challenge), LOGIN, PLAIN, XOAUTH2 and OAUTHBEARER
  (bearer token compared; on failure the JSON error challenge, then 535).
  Wrong credentials get "535 5.7.8"; a client "*" gets 501.
- ``tls="starttls"`` advertises STARTTLS (not required); ``tls="implicit"`` wraps
  the listening socket (port 465 style). Certificates come from ``trustme``: pass
  ``ca`` or one is made; ``client_context()`` returns an ``ssl.SSLContext`` that
  trusts it, ``server_name`` is the name on the certificate.
- ``auth_require_tls`` is off by default so tests can authenticate on plain
  127.0.0.1.
- ``misbehave`` makes the server cheat, to test that clients notice:
  "bad-server-signature" (SCRAM v= is wrong), "skip-server-final" (SCRAM and
  DIGEST-MD5 say 235 without sending their proof), "bad-rspauth" (DIGEST-MD5).
- Records: ``attempts`` (list of ``(mechanism, success)``), ``succeeded`` (the
  mechanisms that authenticated), ``messages`` (``Received`` with mail_from,
  rcpt_tos, content bytes and the mechanism of the session).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import os
import re
import socket
import ssl
import threading
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, Session, auth_mechanism

USERNAME = "alice@example.org"
PASSWORD = "pencil wörd"  # non-ASCII on purpose: SASLprep and charsets get exercised
TOKEN = "ya29.test-bearer-token"

ALL_MECHANISMS = (
    "SCRAM-SHA-256",
    "SCRAM-SHA-1",
    "DIGEST-MD5",
    "CRAM-MD5",
    "LOGIN",
    "PLAIN",
    "XOAUTH2",
    "OAUTHBEARER",
)

CODE_INVALID = "535 5.7.8 Authentication credentials invalid"

TlsMode = Literal["starttls", "implicit"] | None


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    mechanism: str | None


class _Failed(Exception):
    """Credentials or protocol wrong: the session gets 535."""


class _Aborted(Exception):
    """The client cancelled with "*" (aiosmtpd has already replied 501)."""


async def _ask(server: SMTP, challenge: bytes) -> bytes:
    answer = await server.challenge_auth(challenge)
    if answer is MISSING:
        raise _Aborted
    assert isinstance(answer, bytes)
    return answer


async def _first(server: SMTP, args: list[str]) -> bytes:
    """The client's first message: the initial response, or the answer to an empty 334."""
    if len(args) < 2:
        return await _ask(server, b"")
    if args[1] == "=":
        return b""
    try:
        return base64.b64decode(args[1], validate=True)
    except binascii.Error:
        raise _Failed from None


def _h(name: str, data: bytes) -> bytes:
    return hashlib.new(name, data).digest()


def _hmac(name: str, key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, name).digest()


def _md5hex(data: bytes) -> bytes:
    return hashlib.md5(data).hexdigest().encode()


class SaslHandler:
    """aiosmtpd handler: one ``auth_*`` method per mechanism (aiosmtpd 1.4 hooks)."""

    def __init__(self, owner: SaslServer) -> None:
        self.o = owner

    # --- bookkeeping -----------------------------------------------------------------

    async def _run(self, name: str, check: Awaitable[None]) -> AuthResult:
        try:
            await check
        except _Aborted:
            self.o._record(name, False)
            return AuthResult(success=False, handled=True)
        except _Failed:
            self.o._record(name, False)
            return AuthResult(success=False, handled=False, message=CODE_INVALID)
        self.o._record(name, True)
        return AuthResult(success=True, auth_data=name)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        mech = session.auth_data if isinstance(session.auth_data, str) else None
        with self.o._lock:
            self.o.messages.append(
                Received(envelope.mail_from or "", list(envelope.rcpt_tos), content, mech)
            )
        return "250 2.0.0 OK"

    # --- the simple ones --------------------------------------------------------------

    @auth_mechanism("PLAIN")
    async def auth_PLAIN(self, server: SMTP, args: list[str]) -> AuthResult:
        async def check() -> None:
            parts = (await _first(server, args)).split(b"\0")
            if len(parts) != 3 or parts[1:] != [self.o.user_b, self.o.pass_b]:
                raise _Failed

        return await self._run("PLAIN", check())

    @auth_mechanism("LOGIN")
    async def auth_LOGIN(self, server: SMTP, args: list[str]) -> AuthResult:
        async def check() -> None:
            if len(args) > 1:
                user = await _first(server, args)
            else:
                user = await _ask(server, b"Username:")
            password = await _ask(server, b"Password:")
            if (user, password) != (self.o.user_b, self.o.pass_b):
                raise _Failed

        return await self._run("LOGIN", check())

    @auth_mechanism("CRAM-MD5")
    async def auth_CRAM_MD5(self, server: SMTP, args: list[str]) -> AuthResult:
        async def check() -> None:
            challenge = f"<{os.getpid()}.{os.urandom(4).hex()}@{self.o.server_name}>".encode()
            user, _, digest = (await _ask(server, challenge)).rpartition(b" ")
            expected = hmac.new(self.o.pass_b, challenge, "md5").hexdigest().encode()
            if user != self.o.user_b or not hmac.compare_digest(digest.lower(), expected):
                raise _Failed

        return await self._run("CRAM-MD5", check())

    # --- DIGEST-MD5 (RFC 2831) ------------------------------------------------------

    @auth_mechanism("DIGEST-MD5")
    async def auth_DIGEST_MD5(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._run("DIGEST-MD5", self._digest(server))

    async def _digest(self, server: SMTP) -> None:
        o = self.o
        nonce = base64.b64encode(os.urandom(12))
        realm = o.realm.encode()
        challenge = (
            b'realm="' + realm + b'",nonce="' + nonce + b'",qop="auth",charset=utf-8,'
            b"algorithm=md5-sess"
        )
        p = _digest_params(await _ask(server, challenge))
        uri = f"smtp/{o.server_name}".encode()
        want = {"username": o.user_b, "nonce": nonce, "nc": b"00000001", "digest-uri": uri}
        if any(p.get(k) != v for k, v in want.items()) or p.get("qop", b"auth") != b"auth":
            raise _Failed
        if p.get("realm", b"") not in (realm, b""):
            raise _Failed
        # charset=utf-8 was offered: 8859-1-representable strings are hashed in 8859-1.
        user, pw = (_latin1_if_possible(s) for s in (o.username, o.password))
        a1 = _h("md5", user + b":" + p.get("realm", b"") + b":" + pw)
        a1 += b":" + nonce + b":" + p.get("cnonce", b"")

        def kd(a2: bytes) -> bytes:
            parts = [_md5hex(a1), nonce, b"00000001", p.get("cnonce", b""), b"auth", _md5hex(a2)]
            return _md5hex(b":".join(parts))

        if not hmac.compare_digest(p.get("response", b""), kd(b"AUTHENTICATE:" + uri)):
            raise _Failed
        if "skip-server-final" in o.misbehave:
            return
        rspauth = kd(b":" + uri) if "bad-rspauth" not in o.misbehave else b"0" * 32
        if await _ask(server, b"rspauth=" + rspauth) != b"":
            raise _Failed

    # --- SCRAM (RFC 5802, RFC 7677) ---------------------------------------------------

    @auth_mechanism("SCRAM-SHA-256")
    async def auth_SCRAM_SHA_256(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._run("SCRAM-SHA-256", self._scram(server, args, "sha256"))

    @auth_mechanism("SCRAM-SHA-1")
    async def auth_SCRAM_SHA_1(self, server: SMTP, args: list[str]) -> AuthResult:
        return await self._run("SCRAM-SHA-1", self._scram(server, args, "sha1"))

    async def _scram(self, server: SMTP, args: list[str], hname: str) -> None:
        o = self.o
        client_first = await _first(server, args)
        m = re.fullmatch(rb"n,,(n=([^,]*),r=([^,]+))", client_first)
        if not m:
            raise _Failed  # channel binding or an authzid: not what a client here sends
        client_first_bare, user, cnonce = m.groups()
        user = user.replace(b"=2C", b",").replace(b"=3D", b"=")
        # Stored credentials, as a server keeps them (never the password itself).
        salt = hashlib.sha256(b"salt:" + o.username.encode()).digest()[:16]
        salted = hashlib.pbkdf2_hmac(hname, o.pass_b, salt, o.iterations)
        stored_key = _h(hname, _hmac(hname, salted, b"Client Key"))
        server_key = _hmac(hname, salted, b"Server Key")

        nonce = cnonce + base64.b64encode(os.urandom(18))
        server_first = b"r=%s,s=%s,i=%d" % (nonce, base64.b64encode(salt), o.iterations)
        client_final = await _ask(server, server_first)
        m = re.fullmatch(rb"(c=([^,]*),r=([^,]*)),p=([^,]*)", client_final)
        if not m or m[2] != b"biws" or m[3] != nonce:
            raise _Failed
        auth_message = client_first_bare + b"," + server_first + b"," + m[1]
        try:
            proof = base64.b64decode(m[4], validate=True)
        except binascii.Error:
            raise _Failed from None
        signature = _hmac(hname, stored_key, auth_message)
        if len(proof) != len(signature) or user != o.user_b:
            raise _Failed
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(_h(hname, client_key), stored_key):
            raise _Failed
        if "skip-server-final" in o.misbehave:
            return
        server_signature = _hmac(hname, server_key, auth_message)
        if "bad-server-signature" in o.misbehave:
            server_signature = bytes(len(server_signature))
        if await _ask(server, b"v=" + base64.b64encode(server_signature)) != b"":
            raise _Failed

    # --- bearer tokens ----------------------------------------------------------------

    @auth_mechanism("XOAUTH2")
    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        async def check() -> None:
            message = await _first(server, args)
            expected = b"user=%s\x01auth=Bearer %s\x01\x01" % (self.o.user_b, self.o.token.encode())
            if not hmac.compare_digest(message, expected):
                error = {"status": "401", "schemes": "bearer", "scope": "https://mail/"}
                await _ask(server, json.dumps(error).encode())  # client answers empty
                raise _Failed

        return await self._run("XOAUTH2", check())

    @auth_mechanism("OAUTHBEARER")
    async def auth_OAUTHBEARER(self, server: SMTP, args: list[str]) -> AuthResult:
        async def check() -> None:
            message = await _first(server, args)
            gs2, _, rest = message.partition(b"\x01")
            fields = dict(f.partition(b"=")[::2] for f in rest.split(b"\x01") if f)
            authzid = gs2.removeprefix(b"n,a=").removesuffix(b",")
            authzid = authzid.replace(b"=2C", b",").replace(b"=3D", b"=")
            good = (
                gs2.startswith(b"n,a=")
                and message.endswith(b"\x01\x01")
                and authzid == self.o.user_b
                and hmac.compare_digest(
                    fields.get(b"auth", b""), b"Bearer " + self.o.token.encode()
                )
            )
            if not good:
                error = {"status": "invalid_token", "scope": "mail", "schemes": "bearer"}
                await _ask(server, json.dumps(error).encode())  # client answers "\x01"
                raise _Failed

        return await self._run("OAUTHBEARER", check())


def _latin1_if_possible(text: str) -> bytes:
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _digest_params(data: bytes) -> dict[str, bytes]:
    """key=value / key="quoted" pairs; a repeated key keeps its first value."""
    params: dict[str, bytes] = {}
    pair = re.compile(rb'\s*([\w-]+)=(?:"((?:\\.|[^"\\])*)"|([^,]*))\s*(?:,|$)')
    for m in pair.finditer(data):
        value = re.sub(rb"\\(.)", rb"\1", m[2]) if m[2] is not None else m[3]
        params.setdefault(m[1].decode().lower(), value)
    return params


def _reserve_port(host: str) -> socket.socket:
    """A socket bound, not listening, to a free port of `host`, with SO_REUSEADDR.

    aiosmtpd 1.4's Controller connects to its port once started, so it cannot be
    given port 0: it is given this port. While the socket stays open the kernel
    gives the port to no other bind(port 0), and a listener with SO_REUSEADDR
    (asyncio's default on POSIX) may still take it; close it once listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


class SaslServer:
    def __init__(
        self,
        mechanisms: Iterable[str] = ALL_MECHANISMS,
        *,
        username: str = USERNAME,
        password: str = PASSWORD,
        token: str = TOKEN,
        tls: TlsMode = None,
        ca: trustme.CA | None = None,
        server_name: str = "localhost",
        realm: str = "localhost",
        iterations: int = 4096,
        auth_require_tls: bool = False,
        misbehave: Iterable[str] = (),
        cert_not_after: datetime.datetime | None = None,
    ) -> None:
        self.mechanisms = [m.upper() for m in mechanisms]
        unknown = set(self.mechanisms) - set(ALL_MECHANISMS)
        if unknown:
            raise ValueError(f"no server side for {sorted(unknown)}")
        self.username, self.password, self.token = username, password, token
        self.server_name, self.realm, self.iterations = server_name, realm, iterations
        self.misbehave = frozenset(misbehave)
        self.tls = tls
        self.ca = ca or (trustme.CA() if tls else None)
        self.host = "127.0.0.1"
        self.attempts: list[tuple[str, bool]] = []
        self.messages: list[Received] = []
        self._lock = threading.Lock()

        kwargs: dict[str, Any] = {
            "auth_require_tls": auth_require_tls,
            # The builtin PLAIN/LOGIN are replaced by the handler's; drop what is not asked for.
            "auth_exclude_mechanism": [m for m in ALL_MECHANISMS if m not in self.mechanisms],
        }
        if tls is not None:
            assert self.ca is not None
            server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            # cert_not_after in the past makes an expired certificate.
            not_before = (
                None if cert_not_after is None else cert_not_after - datetime.timedelta(days=30)
            )
            self.ca.issue_cert(
                server_name, not_before=not_before, not_after=cert_not_after
            ).configure_cert(server_ctx)
            if tls == "starttls":
                kwargs.update(tls_context=server_ctx, require_starttls=False)
            else:
                kwargs["ssl_context"] = server_ctx
        self._reservation = _reserve_port(self.host)
        self.port = self._reservation.getsockname()[1]
        self._controller = Controller(
            SaslHandler(self), hostname=self.host, port=self.port,
            server_hostname=server_name, **kwargs,
        )

    @property
    def user_b(self) -> bytes:
        return self.username.encode()

    @property
    def pass_b(self) -> bytes:
        return self.password.encode()

    def _record(self, mechanism: str, success: bool) -> None:
        with self._lock:
            self.attempts.append((mechanism, success))

    @property
    def succeeded(self) -> list[str]:
        with self._lock:
            return [m for m, ok in self.attempts if ok]

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this server's CA (and nothing else:
        loading the system store would cost ~30 ms per connection)."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies chain and host name
        if self.ca is not None:
            self.ca.configure_trust(ctx)
        return ctx

    def start(self) -> SaslServer:
        try:
            self._controller.start()
        finally:
            self._reservation.close()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SaslServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
