"""SASL client mechanisms for SMTP AUTH, without I/O.

Each mechanism is a small single-use object; the SMTP session drives it::

    mech = ...                                # from choose(offered, client_mechanisms(...))
    send(auth_command(mech))                  # "AUTH NAME" or "AUTH NAME <initial response>"
    while reply.code == 334:
        try:
            answer = mech.step(decode_challenge(reply.text))
        except SaslError:
            send("*")                         # RFC 4954: cancel; the server replies 501
            break
        send(encode_response(answer))
    if reply.code == 235:
        mech.verify_final(b"")               # raises if the server never proved itself

``SaslError`` means "this mechanism failed"; the session falls through to the
next one, as tcllib does.  No message, repr or str here ever contains a
password, a token, or anything derived from them.

Preference order (strongest first) follows tcllib for the four mechanisms it
has (DIGEST-MD5, CRAM-MD5, LOGIN, PLAIN) and puts SCRAM ahead of them; the
OAuth mechanisms are only offered when a token source is configured.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import stringprep
import unicodedata
from collections.abc import Callable, Sequence
from typing import Protocol

from tclbridge.mime.transfer_encodings import Base64Error, base64_decode

__all__ = [
    "CramMD5",
    "DigestMD5",
    "Login",
    "Mechanism",
    "OAuthBearer",
    "Plain",
    "SaslError",
    "Scram",
    "XOAuth2",
    "auth_command",
    "choose",
    "client_mechanisms",
    "decode_challenge",
    "encode_response",
    "saslprep",
]

TokenSource = Callable[[], str]


class SaslError(Exception):
    """The mechanism cannot go on: bad challenge, failed server proof, bad input.

    Messages never include secrets."""


class Mechanism(Protocol):
    name: str

    def start(self) -> bytes | None:
        """Initial response, or None to send plain "AUTH NAME" and wait for a 334."""

    def step(self, challenge: bytes) -> bytes:
        """Answer one decoded 334 challenge."""

    def verify_final(self, data: bytes) -> None:
        """Called on 235 (with any success data); raises SaslError if the server
        did not prove itself where the mechanism requires it."""


# --- base64 on the wire, with tcllib's rules ------------------------------------------


def encode_response(data: bytes) -> str:
    """Base64 of a response, unwrapped (tcllib: ``base64::encode -maxlen 0``)."""
    return base64.b64encode(data).decode("ascii")


def decode_challenge(text: str) -> bytes:
    """Decode the text of a 334 reply as tcllib does.

    tcllib drops every character outside the base64 alphabet (padding included)
    and decodes the rest; when that fails (a length of 4n+1) it hands the raw
    text to the mechanism, which is how NTLM's unencoded challenge gets through.
    """
    try:
        return base64_decode(text)
    except Base64Error:
        return text.encode("utf-8", "surrogateescape")


def auth_command(mech: Mechanism) -> str:
    """The AUTH command line (without CRLF) that starts ``mech``.

    An empty initial response is sent as "=" (RFC 4954 section 4)."""
    initial = mech.start()
    if initial is None:
        return f"AUTH {mech.name}"
    return f"AUTH {mech.name} {encode_response(initial) or '='}"


# --- SASLprep (RFC 4013) ---------------------------------------------------------------

_PROHIBITED = (
    stringprep.in_table_c12,
    stringprep.in_table_c21,
    stringprep.in_table_c22,
    stringprep.in_table_c3,
    stringprep.in_table_c4,
    stringprep.in_table_c5,
    stringprep.in_table_c6,
    stringprep.in_table_c7,
    stringprep.in_table_c8,
    stringprep.in_table_c9,
)


def saslprep(text: str) -> str:
    """RFC 4013 profile of stringprep, as a "query" (unassigned code points allowed)."""
    if text.isascii() and text.isprintable():
        return text  # the common case: nothing maps, nothing is prohibited
    # Map: non-ASCII spaces to SPACE, "commonly mapped to nothing" removed.
    mapped = "".join(
        " " if stringprep.in_table_c12(c) else c for c in text if not stringprep.in_table_b1(c)
    )
    text = unicodedata.normalize("NFKC", mapped)
    for c in text:
        if any(check(c) for check in _PROHIBITED):
            raise SaslError("credentials contain a character SASLprep prohibits")
    # Bidirectional rule (RFC 3454 section 6).
    if any(stringprep.in_table_d1(c) for c in text):
        if any(stringprep.in_table_d2(c) for c in text):
            raise SaslError("credentials mix left-to-right and right-to-left text")
        if not (stringprep.in_table_d1(text[0]) and stringprep.in_table_d1(text[-1])):
            raise SaslError("right-to-left credentials must start and end with RTL text")
    return text


# --- mechanisms ---------------------------------------------------------------------


class _Base:
    """Shared state and a repr that shows the mechanism and user, never the secret."""

    name = ""

    def __init__(
        self, username: str, password: str = "", *, initial_response: bool = False
    ) -> None:
        self.username = username
        self._password = password
        self._initial = initial_response
        self._steps = 0

    def start(self) -> bytes | None:
        """The initial response, if the mechanism sends one; None: send
        "AUTH NAME" and wait for a challenge."""
        if not self._initial:
            return None
        self._steps = 1
        return self._message()

    def _message(self) -> bytes:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} user={self.username!r}>"

    __str__ = __repr__

    def verify_final(self, data: bytes) -> None:
        if data:
            raise SaslError(f"{self.name}: unexpected data with the success reply")

    def _next_step(self, limit: int) -> int:
        self._steps += 1
        if self._steps > limit:
            raise SaslError(f"{self.name}: unexpected challenge (step {self._steps})")
        return self._steps


class Plain(_Base):
    """RFC 4616: authzid NUL authcid NUL passwd, authzid empty as tcllib sends it."""

    name = "PLAIN"

    def __init__(self, username: str, password: str, *, initial_response: bool = True) -> None:
        super().__init__(username, password, initial_response=initial_response)

    def _message(self) -> bytes:
        return b"\0" + self.username.encode() + b"\0" + self._password.encode()

    def step(self, challenge: bytes) -> bytes:
        self._next_step(1)  # only the empty 334 after a bare "AUTH PLAIN"
        return self._message()


class Login(_Base):
    """The unregistered LOGIN mechanism: username, then password, each on request."""

    name = "LOGIN"

    def step(self, challenge: bytes) -> bytes:
        n = self._next_step(2)
        # Servers prompt "Username:" then "Password:"; go by the prompt when it is
        # readable, else by order, as tcllib always does.
        prompt = challenge.strip().lower()
        if prompt.startswith(b"password"):
            return self._password.encode()
        if prompt.startswith((b"username", b"user name")):
            return self.username.encode()
        return self.username.encode() if n == 1 else self._password.encode()


class CramMD5(_Base):
    """RFC 2195: "user SP hex(HMAC-MD5(password, challenge))"."""

    name = "CRAM-MD5"

    def step(self, challenge: bytes) -> bytes:
        self._next_step(1)
        if not challenge:
            raise SaslError("CRAM-MD5: empty challenge")
        digest = hmac.new(self._password.encode(), challenge, hashlib.md5).hexdigest()
        return self.username.encode() + b" " + digest.encode("ascii")


# DIGEST-MD5 directives: token=token or token="quoted \" string", comma separated.
_DIGEST_PAIR = re.compile(
    rb'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:\\.|[^"\\])*)"|([^,\s]*))\s*(?:,|$)', re.S
)


def _parse_digest(challenge: bytes) -> dict[str, list[bytes]]:
    params: dict[str, list[bytes]] = {}
    pos = 0
    text = challenge.strip()
    while pos < len(text):
        if text[pos : pos + 1] in b", \t":
            pos += 1  # empty list elements are allowed (RFC 2831 "#rule")
            continue
        m = _DIGEST_PAIR.match(text, pos)
        if not m:
            raise SaslError("DIGEST-MD5: malformed challenge")
        value = re.sub(rb"\\(.)", rb"\1", m[2]) if m[2] is not None else m[3]
        params.setdefault(m[1].decode("ascii").lower(), []).append(value)
        pos = m.end()
    return params


def _quote(value: bytes) -> bytes:
    return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


class DigestMD5(_Base):
    """RFC 2831 with qop=auth only (no integrity or privacy layer), checking rspauth.

    ``host`` gives digest-uri "<service>/<host>" as the RFC asks; without it the
    realm is used, which is what tcllib sends.
    """

    name = "DIGEST-MD5"

    def __init__(
        self,
        username: str,
        password: str,
        host: str | None = None,
        *,
        service: str = "smtp",
        cnonce: str | None = None,
    ) -> None:
        super().__init__(username, password)
        self._host = host
        self._service = service
        self._cnonce = cnonce or secrets.token_hex(16)
        self._expected_rspauth: bytes | None = None
        self._verified = False

    def start(self) -> bytes | None:
        return None

    def step(self, challenge: bytes) -> bytes:
        if self._next_step(2) == 1:
            return self._response(_parse_digest(challenge))
        self._check_rspauth(challenge)
        return b""

    def verify_final(self, data: bytes) -> None:
        if data:
            self._check_rspauth(data)
        if not self._verified:
            raise SaslError("DIGEST-MD5: server accepted without proving it knows the password")

    def _check_rspauth(self, data: bytes) -> None:
        got = _parse_digest(data).get("rspauth", [b""])[0]
        if self._expected_rspauth is None or not hmac.compare_digest(
            got.lower(), self._expected_rspauth
        ):
            raise SaslError("DIGEST-MD5: wrong rspauth from server")
        self._verified = True

    def _response(self, params: dict[str, list[bytes]]) -> bytes:
        if "nonce" not in params:
            raise SaslError("DIGEST-MD5: challenge without nonce")
        qops = b",".join(params.get("qop", [b"auth"])).split(b",")
        if b"auth" not in [q.strip() for q in qops]:
            raise SaslError("DIGEST-MD5: server does not offer qop=auth")
        algorithm = params.get("algorithm", [b""])[0]
        if algorithm.lower() != b"md5-sess":
            raise SaslError("DIGEST-MD5: algorithm is not md5-sess")
        utf8 = params.get("charset", [b""])[0].lower() == b"utf-8"
        nonce = params["nonce"][0]
        realm = params["realm"][0] if "realm" in params else None
        uri_host = self._host if self._host is not None else (realm or b"").decode("latin-1")
        uri = f"{self._service}/{uri_host}".encode()
        cnonce = self._cnonce.encode()
        nc = b"00000001"  # each object does exactly one authentication

        user = self._encode(self.username, utf8)
        a1 = b":".join(
            [
                _md5(b":".join([user, realm or b"", self._encode(self._password, utf8)])),
                nonce,
                cnonce,
            ]
        )

        def kd(a2: bytes) -> bytes:
            ha1 = hashlib.md5(a1).hexdigest().encode()
            ha2 = hashlib.md5(a2).hexdigest().encode()
            kd_data = b":".join([ha1, nonce, nc, cnonce, b"auth", ha2])
            return hashlib.md5(kd_data).hexdigest().encode()

        self._expected_rspauth = kd(b":" + uri)
        parts = [b"charset=utf-8"] if utf8 else []
        parts.append(b"username=" + _quote(self.username.encode() if utf8 else user))
        if realm is not None:
            parts.append(b"realm=" + _quote(realm))
        parts += [
            b"nonce=" + _quote(nonce),
            b"nc=" + nc,
            b"cnonce=" + _quote(cnonce),
            b"digest-uri=" + _quote(uri),
            b"response=" + kd(b"AUTHENTICATE:" + uri),
            b"qop=auth",
        ]
        return b",".join(parts)

    @staticmethod
    def _encode(text: str, utf8: bool) -> bytes:
        # RFC 2831 2.1.2.1: with charset=utf-8, strings that fit ISO 8859-1 are
        # hashed in ISO 8859-1 all the same; without it, 8859-1 is the only choice.
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            if utf8:
                return text.encode("utf-8")
            raise SaslError("DIGEST-MD5: credentials need charset=utf-8") from None


def _saslname(name: str) -> str:
    # RFC 5802 / RFC 5801: "," and "=" are escaped inside a saslname.
    return name.replace("=", "=3D").replace(",", "=2C")


# A malicious server could ask for a huge PBKDF2 iteration count to hang the client.
MAX_SCRAM_ITERATIONS = 10_000_000


class Scram(_Base):
    """RFC 5802 (SCRAM-SHA-1) and RFC 7677 (SCRAM-SHA-256) without channel binding."""

    def __init__(
        self, username: str, password: str, hash_name: str = "sha256", *, cnonce: str | None = None
    ) -> None:
        super().__init__(username, password)
        self.name = {"sha1": "SCRAM-SHA-1", "sha256": "SCRAM-SHA-256"}[hash_name]
        self._hash = hash_name
        self._cnonce = cnonce or secrets.token_urlsafe(18)
        self._client_first_bare = b""
        self._server_signature: bytes | None = None
        self._verified = False

    def start(self) -> bytes | None:
        self._steps = 1
        user = _saslname(saslprep(self.username))
        self._client_first_bare = f"n={user},r={self._cnonce}".encode()
        return b"n,," + self._client_first_bare

    def step(self, challenge: bytes) -> bytes:
        n = self._next_step(3)
        if n == 2:
            return self._client_final(challenge)
        self._check_server_final(challenge)
        return b""

    def verify_final(self, data: bytes) -> None:
        if data:
            self._check_server_final(data)
        if not self._verified:
            raise SaslError(f"{self.name}: server accepted without proving it knows the password")

    def _hmac(self, key: bytes, msg: bytes) -> bytes:
        return hmac.new(key, msg, self._hash).digest()

    def _client_final(self, server_first: bytes) -> bytes:
        attrs = _scram_attrs(server_first, self.name)
        if "m" in attrs:
            raise SaslError(f"{self.name}: server requires an unsupported extension")
        try:
            nonce, salt, iterations = attrs["r"], base64.b64decode(attrs["s"]), int(attrs["i"])
        except (KeyError, ValueError, binascii.Error):
            raise SaslError(f"{self.name}: malformed server-first message") from None
        if not nonce.startswith(self._cnonce) or len(nonce) == len(self._cnonce):
            raise SaslError(f"{self.name}: server nonce does not extend ours")
        if not 1 <= iterations <= MAX_SCRAM_ITERATIONS:
            raise SaslError(f"{self.name}: unreasonable iteration count {iterations}")
        password = saslprep(self._password).encode()
        salted = hashlib.pbkdf2_hmac(self._hash, password, salt, iterations)
        without_proof = b"c=biws,r=" + nonce.encode()  # biws = base64("n,,")
        auth_message = b",".join([self._client_first_bare, server_first, without_proof])
        client_key = self._hmac(salted, b"Client Key")
        stored_key = hashlib.new(self._hash, client_key).digest()
        signature = self._hmac(stored_key, auth_message)
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        self._server_signature = self._hmac(self._hmac(salted, b"Server Key"), auth_message)
        return without_proof + b",p=" + base64.b64encode(proof)

    def _check_server_final(self, data: bytes) -> None:
        attrs = _scram_attrs(data, self.name)
        if "e" in attrs:
            raise SaslError(f"{self.name}: server error {attrs['e']!r}")
        try:
            got = base64.b64decode(attrs["v"], validate=True)
        except (KeyError, binascii.Error):
            raise SaslError(f"{self.name}: malformed server-final message") from None
        if self._server_signature is None or not hmac.compare_digest(got, self._server_signature):
            raise SaslError(f"{self.name}: wrong server signature")
        self._verified = True


def _scram_attrs(message: bytes, name: str) -> dict[str, str]:
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise SaslError(f"{name}: server message is not UTF-8") from None
    attrs: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or len(key) != 1:
            raise SaslError(f"{name}: malformed server message")
        attrs.setdefault(key, value)
    return attrs


class _OAuth(_Base):
    """Common part of the bearer-token mechanisms: the token is fetched lazily."""

    def __init__(self, username: str, token: TokenSource, *, initial_response: bool = True) -> None:
        super().__init__(username, initial_response=initial_response)
        self._token_source = token
        self.error: dict[str, object] | None = None  # the server's JSON error, if any

    def _token(self) -> str:
        try:
            token = self._token_source()
        except Exception as exc:
            failure = type(exc).__name__  # not str(exc): it might echo the token
            raise SaslError(f"{self.name}: the token command failed ({failure})") from exc
        token = token.strip()
        if not token:
            raise SaslError(f"{self.name}: the token command gave an empty token")
        return token

    def _error_reply(self) -> bytes:
        raise NotImplementedError

    def step(self, challenge: bytes) -> bytes:
        if self._next_step(2) == 1:
            return self._message()  # the empty 334 after a bare "AUTH NAME"
        # Any further challenge is a JSON error; the server wants a dummy reply
        # before it sends the final 535.
        try:
            error = json.loads(challenge)
        except ValueError:
            error = None
        self.error = error if isinstance(error, dict) else {"raw": challenge.decode("latin-1")}
        return self._error_reply()


class XOAuth2(_OAuth):
    """Google/Microsoft XOAUTH2: "user=U^Aauth=Bearer T^A^A"; errors answered empty."""

    name = "XOAUTH2"

    def _message(self) -> bytes:
        return f"user={self.username}\x01auth=Bearer {self._token()}\x01\x01".encode()

    def _error_reply(self) -> bytes:
        return b""


class OAuthBearer(_OAuth):
    """RFC 7628: GS2 header with the authzid, host/port hints, "auth=Bearer T"."""

    name = "OAUTHBEARER"

    def __init__(
        self,
        username: str,
        token: TokenSource,
        host: str | None = None,
        port: int | None = None,
        *,
        initial_response: bool = True,
    ) -> None:
        super().__init__(username, token, initial_response=initial_response)
        self._host = host
        self._port = port

    def _message(self) -> bytes:
        fields = [f"n,a={_saslname(self.username)},"]
        if self._host:
            fields.append(f"host={self._host}")
        if self._port:
            fields.append(f"port={self._port}")
        fields.append(f"auth=Bearer {self._token()}")
        return ("\x01".join(fields) + "\x01\x01").encode()

    def _error_reply(self) -> bytes:
        return b"\x01"  # RFC 7628 section 3.2.3


# --- selection ------------------------------------------------------------------------


def client_mechanisms(
    username: str,
    password: str | None,
    oauth_token: TokenSource | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    initial_response: bool = True,
) -> list[Mechanism]:
    """Fresh mechanism objects in preference order, strongest first.

    ``host`` is the server name used by DIGEST-MD5's digest-uri and OAUTHBEARER.
    ``initial_response=False`` makes PLAIN and the OAuth mechanisms wait for an
    empty 334 first, which is what tcllib does on the wire.
    """
    mechs: list[Mechanism] = []
    if password is not None:
        mechs += [
            Scram(username, password, "sha256"),
            Scram(username, password, "sha1"),
            DigestMD5(username, password, host),
            CramMD5(username, password),
            Login(username, password),
            Plain(username, password, initial_response=initial_response),
        ]
    if oauth_token is not None:
        mechs += [
            XOAuth2(username, oauth_token, initial_response=initial_response),
            OAuthBearer(username, oauth_token, host, port, initial_response=initial_response),
        ]
    return mechs


def choose(offered: Sequence[str], available: list[Mechanism]) -> list[Mechanism]:
    """The available mechanisms the server offers, keeping our (strongest-first) order."""
    names = {name.upper() for name in offered}
    return [mech for mech in available if mech.name in names]
