"""SASL client mechanisms: RFC vectors, tcllib's base64 rules, and live AUTH exchanges
against tests/support/sasl_server.py (which verifies every mechanism on its side)."""

from __future__ import annotations

import base64
import shutil
import socket
import ssl
import subprocess

import pytest

from tclbridge.smtp.sasl import (
    CramMD5,
    DigestMD5,
    Login,
    Mechanism,
    OAuthBearer,
    Plain,
    SaslError,
    Scram,
    XOAuth2,
    auth_command,
    choose,
    client_mechanisms,
    decode_challenge,
    encode_response,
    saslprep,
)
from tests.support.sasl_server import ALL_MECHANISMS, PASSWORD, TOKEN, USERNAME, SaslServer

# --- SCRAM: RFC 5802 section 5 and RFC 7677 section 3 -------------------------------

SCRAM_VECTORS = {
    "sha1": (
        "fyko+d2lbbFgONRv9qkxdawL",
        b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
        b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
        b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
    ),
    "sha256": (
        "rOprNGfwEbeRWgbNEkqO",
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    ),
}


@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
def test_scram_rfc_vectors(hash_name: str) -> None:
    cnonce, server_first, client_final, server_final = SCRAM_VECTORS[hash_name]
    mech = Scram("user", "pencil", hash_name, cnonce=cnonce)
    assert mech.start() == b"n,,n=user,r=" + cnonce.encode()
    assert mech.step(server_first) == client_final
    assert mech.step(server_final) == b""
    mech.verify_final(b"")


def _scram_after_first(hash_name: str = "sha256") -> Scram:
    cnonce, server_first, _, _ = SCRAM_VECTORS[hash_name]
    mech = Scram("user", "pencil", hash_name, cnonce=cnonce)
    mech.start()
    mech.step(server_first)
    return mech


@pytest.mark.parametrize(
    "server_final",
    [b"v=" + base64.b64encode(bytes(32)), b"e=invalid-proof", b"v=***", b"garbage"],
)
def test_scram_rejects_a_bad_server_final(server_final: bytes) -> None:
    with pytest.raises(SaslError):
        _scram_after_first().step(server_final)


def test_scram_success_without_server_signature_is_an_error() -> None:
    with pytest.raises(SaslError, match="without proving"):
        _scram_after_first().verify_final(b"")


def test_scram_server_final_may_come_with_the_success_reply() -> None:
    _scram_after_first().verify_final(SCRAM_VECTORS["sha256"][3])


@pytest.mark.parametrize(
    "server_first",
    [
        b"r=someoneelse,s=QSXCR+Q6sek8bf92,i=4096",  # nonce does not extend ours
        b"r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",  # nothing added to it
        b"r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=0",
        b"r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=999999999",  # DoS by PBKDF2
        b"m=ext,r=fyko+d2lbbFgONRv9qkxdawLxx,s=QSXCR+Q6sek8bf92,i=4096",
        b"r=fyko+d2lbbFgONRv9qkxdawLxx,i=4096",
    ],
)
def test_scram_rejects_a_bad_server_first(server_first: bytes) -> None:
    mech = Scram("user", "pencil", "sha1", cnonce="fyko+d2lbbFgONRv9qkxdawL")
    mech.start()
    with pytest.raises(SaslError):
        mech.step(server_first)


def test_scram_escapes_the_username() -> None:
    mech = Scram("a,b=c", "x", cnonce="N")
    assert mech.start() == b"n,,n=a=2Cb=3Dc,r=N"


# RFC 4013 section 3 examples.
@pytest.mark.parametrize(
    ("given", "prepared"),
    [("I\u00adX", "IX"), ("user", "user"), ("USER", "USER"), ("\u00aa", "a"), ("\u2168", "IX")],
)
def test_saslprep_examples(given: str, prepared: str) -> None:
    assert saslprep(given) == prepared


@pytest.mark.parametrize("bad", ["\u0007", "\u0627\u0031"])
def test_saslprep_prohibited(bad: str) -> None:
    with pytest.raises(SaslError):
        saslprep(bad)


def test_saslprep_maps_non_ascii_space() -> None:
    assert saslprep("pencil\u00a0word") == "pencil word"


# --- CRAM-MD5 (RFC 2195 section 2) and DIGEST-MD5 (RFC 2831 section 4) --------------


def test_cram_md5_rfc_2195_example() -> None:
    mech = CramMD5("tim", "tanstaaftanstaaf")
    assert mech.start() is None
    answer = mech.step(b"<1896.697170952@postoffice.reston.mci.net>")
    assert answer == b"tim b913a602c7eda7a495b4e6e7334d3890"
    with pytest.raises(SaslError):
        mech.step(b"<again>")


RFC2831_CHALLENGE = (
    b'realm="elwood.innosoft.com",nonce="OA6MG9tEQGm2hh",qop="auth",'
    b"algorithm=md5-sess,charset=utf-8"
)


def _rfc2831_mech() -> DigestMD5:
    return DigestMD5(
        "chris", "secret", "elwood.innosoft.com", service="imap", cnonce="OA6MHXh6VqTrRk"
    )


def test_digest_md5_rfc_2831_example() -> None:
    mech = _rfc2831_mech()
    assert mech.start() is None
    response = mech.step(RFC2831_CHALLENGE)
    assert response == (
        b'charset=utf-8,username="chris",realm="elwood.innosoft.com",'
        b'nonce="OA6MG9tEQGm2hh",nc=00000001,cnonce="OA6MHXh6VqTrRk",'
        b'digest-uri="imap/elwood.innosoft.com",response=d388dad90d4bbd760a152321f2143af7,'
        b"qop=auth"
    )
    assert mech.step(b"rspauth=ea40f60335c427b5527b84dbabcdfffd") == b""
    mech.verify_final(b"")


def test_digest_md5_checks_rspauth() -> None:
    mech = _rfc2831_mech()
    mech.step(RFC2831_CHALLENGE)
    with pytest.raises(SaslError, match="rspauth"):
        mech.step(b"rspauth=00000000000000000000000000000000")


def test_digest_md5_success_without_rspauth_is_an_error() -> None:
    mech = _rfc2831_mech()
    mech.step(RFC2831_CHALLENGE)
    with pytest.raises(SaslError, match="without proving"):
        mech.verify_final(b"")


def test_digest_md5_without_host_uses_the_realm_as_tcllib() -> None:
    mech = DigestMD5("u", "p", service="smtp")
    assert b'digest-uri="smtp/elwood.innosoft.com"' in mech.step(RFC2831_CHALLENGE)


@pytest.mark.parametrize(
    "challenge",
    [
        b'realm="r",qop="auth",algorithm=md5-sess',  # no nonce
        b'nonce="n",qop="auth-conf",algorithm=md5-sess',  # no plain auth offered
        b'nonce="n",qop="auth"',  # no algorithm
        b'nonce="n" junk',
    ],
)
def test_digest_md5_rejects_bad_challenges(challenge: bytes) -> None:
    with pytest.raises(SaslError):
        DigestMD5("u", "p", "h").step(challenge)


def test_digest_md5_quoting_and_charsets() -> None:
    mech = DigestMD5('we"ird\\', "p\u00e9", "h", cnonce="c")
    response = mech.step(b'nonce="a\\"b", realm="r",,qop="auth,auth-int",algorithm=md5-sess')
    assert b'username="we\\"ird\\\\"' in response
    assert b'nonce="a\\"b"' in response
    # Without charset=utf-8 only ISO 8859-1 can be expressed.
    with pytest.raises(SaslError, match="charset"):
        DigestMD5("\u20ac", "p", "h").step(b'nonce="n",algorithm=md5-sess')


# --- LOGIN, PLAIN, XOAUTH2, OAUTHBEARER -----------------------------------------


def test_login_answers_prompts() -> None:
    mech = Login("u", "p")
    assert mech.start() is None
    assert mech.step(b"Username:") == b"u"
    assert mech.step(b"Password:") == b"p"
    with pytest.raises(SaslError):
        mech.step(b"Password:")
    # Unreadable prompts: by order, as tcllib.
    mech = Login("u", "p")
    assert [mech.step(b"\x52\xc7"), mech.step(b"")] == [b"u", b"p"]
    # A prompt it can read wins over the order.
    assert Login("u", "p").step(b"password:") == b"p"


def test_plain() -> None:
    assert Plain("u", "p").start() == b"\0u\0p"
    mech = Plain("u", "p", initial_response=False)
    assert mech.start() is None
    assert mech.step(b"") == b"\0u\0p"
    with pytest.raises(SaslError):
        mech.step(b"")


def test_xoauth2_and_its_error_challenge() -> None:
    mech = XOAuth2("me@example.com", lambda: "tok\n")
    assert mech.start() == b"user=me@example.com\x01auth=Bearer tok\x01\x01"
    assert mech.step(b'{"status":"401","schemes":"bearer"}') == b""
    assert mech.error == {"status": "401", "schemes": "bearer"}


def test_oauthbearer_rfc_7628_example() -> None:
    token = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
    mech = OAuthBearer("user@example.com", lambda: token, "server.example.com", 143)
    assert mech.start() == (
        b"n,a=user@example.com,\x01host=server.example.com\x01port=143\x01"
        b"auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
    )
    assert mech.step(b'{"status":"invalid_token"}') == b"\x01"


def test_token_source_is_called_lazily_and_failures_hide_it() -> None:
    calls: list[int] = []

    def broken() -> str:
        calls.append(1)
        raise RuntimeError("secret-token-in-message")

    mechs = client_mechanisms("u", None, broken)
    assert [m.name for m in mechs] == ["XOAUTH2", "OAUTHBEARER"]
    assert not calls
    with pytest.raises(SaslError) as info:
        mechs[0].start()
    assert "secret-token" not in str(info.value)
    with pytest.raises(SaslError, match="empty"):
        XOAuth2("u", lambda: " ").start()


# --- helpers: preference order, choice, base64 rules --------------------------------


def test_preference_order_and_choice() -> None:
    mechs = client_mechanisms("u", "p", lambda: "t", host="h")
    assert [m.name for m in mechs] == list(ALL_MECHANISMS)
    assert [m.name for m in client_mechanisms("u", "p")] == list(ALL_MECHANISMS[:6])
    chosen = choose(["plain", "LOGIN", "CRAM-MD5", "XOAUTH2", "NTLM"], mechs)
    assert [m.name for m in chosen] == ["CRAM-MD5", "LOGIN", "PLAIN", "XOAUTH2"]


def test_auth_command() -> None:
    assert auth_command(Login("u", "p")) == "AUTH LOGIN"
    assert auth_command(Plain("u", "p")) == "AUTH PLAIN AHUAcA=="
    assert auth_command(Plain("", "", initial_response=True)) == "AUTH PLAIN AAA="

    class Empty(Plain):
        def start(self) -> bytes | None:
            return b""

    assert auth_command(Empty("u", "p")) == "AUTH PLAIN ="


# What tcllib 1.21's base64::decode does with each (checked under tclsh below).
DECODE_CASES = {
    "": b"",
    "YWJj": b"abc",
    "YWI=": b"ab",
    "YWI": b"ab",
    "YWJj===": b"abc",
    "YQ==YQ==": b"a\x06\x10",  # padding is dropped before decoding
    "VXNlcm5hbWU6": b"Username:",
    "Username:": bytes.fromhex("52c7ab9da99e"),
    "YR": b"a",
    "\u00e9YWJj": b"abc",
    "Y": b"Y",  # undecodable: passed through raw (NTLM)
    "YWJjZ": b"YWJjZ",
    "TlRMTVNTUAACAAAA": b"NTLMSSP\0\2\0\0\0",
}


@pytest.mark.parametrize(("text", "expected"), DECODE_CASES.items())
def test_decode_challenge_follows_tcllib(text: str, expected: bytes) -> None:
    assert decode_challenge(text) == expected


@pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh not installed")
def test_decode_cases_match_tcllib_itself() -> None:
    script = (
        "package require base64\n"
        "foreach s $argv {\n"
        "  if {[catch {base64::decode $s} r]} {set r $s}\n"
        "  binary scan [encoding convertto utf-8 $r] H* a; binary scan $r H* b\n"
        "  puts [expr {[catch {base64::decode $s}] ? $a : $b}]\n"
        "}\n"
    )
    cases = [c for c in DECODE_CASES if c]
    run = subprocess.run(
        ["tclsh", "/dev/stdin", *cases], input=script, capture_output=True, text=True, timeout=10
    )
    if "can't find package base64" in run.stderr:
        pytest.skip("tcllib not installed")
    assert run.returncode == 0, run.stderr
    assert [bytes.fromhex(h) for h in run.stdout.split()] == [DECODE_CASES[c] for c in cases]


def test_encode_response_is_unwrapped() -> None:
    assert encode_response(b"x" * 100) == base64.b64encode(b"x" * 100).decode()
    assert encode_response(b"") == ""


# --- secrets never in repr/str --------------------------------------------------------


def _all_mechs(password: str, token: str) -> list[Mechanism]:
    return client_mechanisms("alice", password, lambda: token, host="h", port=25)


def test_repr_never_shows_secrets() -> None:
    password, token = "hunter2-pw", "tok-ABC123"
    hidden = [password, token, encode_response(password.encode()), encode_response(token.encode())]
    for mech in _all_mechs(password, token):
        mech.start()  # state after use must not leak either
        for text in (repr(mech), str(mech), f"{mech}"):
            assert "alice" in text and mech.name in text
            assert not any(h in text for h in hidden), text


# --- live exchanges against the verifying server -------------------------------------


class MiniClient:
    """The smallest synchronous SMTP client that can drive a Mechanism."""

    def __init__(self, srv: SaslServer) -> None:
        self.ctx = srv.client_context()
        sock = socket.create_connection((srv.host, srv.port), timeout=5)
        if srv.tls == "implicit":
            sock = self.ctx.wrap_socket(sock, server_hostname=srv.server_name)
        self.sock = sock
        self.buf = b""
        assert self.reply()[0] == 220
        code, lines = self.cmd("EHLO client.example")
        if srv.tls == "starttls":
            assert "STARTTLS" in lines
            assert self.cmd("STARTTLS")[0] == 220
            assert not self.buf
            self.sock = self.ctx.wrap_socket(self.sock, server_hostname=srv.server_name)
            code, lines = self.cmd("EHLO client.example")
        assert code == 250
        auth = [ln for ln in lines if ln.upper().startswith("AUTH ")]
        self.offered = auth[0].split()[1:] if auth else []
        self.encrypted = isinstance(self.sock, ssl.SSLSocket)

    def reply(self) -> tuple[int, list[str]]:
        lines: list[str] = []
        while True:
            while b"\r\n" not in self.buf:
                data = self.sock.recv(4096)
                assert data, "server closed the connection"
                self.buf += data
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line[4:].decode())
            if line[3:4] != b"-":
                return int(line[:3]), lines

    def cmd(self, line: str) -> tuple[int, list[str]]:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def authenticate(self, mech: Mechanism) -> tuple[int, SaslError | None]:
        code, lines = self.cmd(auth_command(mech))
        try:
            while code == 334:
                answer = mech.step(decode_challenge(lines[-1]))
                code, lines = self.cmd(encode_response(answer))
            if code == 235:
                mech.verify_final(b"")
        except SaslError as exc:
            if code == 334:
                code, _ = self.cmd("*")  # RFC 4954 cancel
            return code, exc
        return code, None

    def close(self) -> None:
        self.cmd("QUIT")
        self.sock.close()


def _mech(name: str, password: str = PASSWORD, token: str = TOKEN, **kw: object) -> Mechanism:
    mechs = client_mechanisms(USERNAME, password, lambda: token, host="localhost", **kw)
    return next(m for m in mechs if m.name == name)


@pytest.mark.parametrize("name", ALL_MECHANISMS)
def test_live_right_credentials(sasl_server: SaslServer, name: str) -> None:
    client = MiniClient(sasl_server)
    assert client.encrypted == (sasl_server.tls is not None)
    assert sorted(client.offered) == sorted(ALL_MECHANISMS)
    assert client.authenticate(_mech(name)) == (235, None)
    assert sasl_server.attempts[-1] == (name, True)
    client.close()


@pytest.mark.parametrize("name", ALL_MECHANISMS)
@pytest.mark.parametrize("wrong", ["secret", "user"])
def test_live_wrong_credentials(sasl_server: SaslServer, name: str, wrong: str) -> None:
    client = MiniClient(sasl_server)
    if wrong == "secret":
        mech = _mech(name, password="pencil word", token="ya29.stale")
    else:
        mechs = client_mechanisms("bob@example.org", PASSWORD, lambda: TOKEN, host="localhost")
        mech = next(m for m in mechs if m.name == name)
    assert client.authenticate(mech) == (535, None)
    assert sasl_server.attempts[-1] == (name, False)
    client.close()


@pytest.mark.parametrize("name", ["PLAIN", "XOAUTH2", "OAUTHBEARER"])
@pytest.mark.parametrize("right", [True, False])
def test_live_without_initial_response(sasl_server: SaslServer, name: str, right: bool) -> None:
    client = MiniClient(sasl_server)
    token = TOKEN if right else "nope"
    mech = _mech(name, PASSWORD if right else "nope", token, initial_response=False)
    assert client.authenticate(mech) == (235 if right else 535, None)
    client.close()


def test_live_send_after_auth_is_recorded() -> None:
    with SaslServer(["CRAM-MD5", "PLAIN"], tls="starttls") as srv:
        client = MiniClient(srv)
        mechs = choose(client.offered, client_mechanisms(USERNAME, PASSWORD))
        assert [m.name for m in mechs] == ["CRAM-MD5", "PLAIN"]
        assert client.authenticate(mechs[0]) == (235, None)
        assert client.cmd("MAIL FROM:<a@example.org>")[0] == 250
        assert client.cmd("RCPT TO:<b@example.org>")[0] == 250
        assert client.cmd("DATA")[0] == 354
        assert client.cmd("Subject: hi\r\n\r\nbody\r\n.")[0] == 250
        client.close()
    assert srv.succeeded == ["CRAM-MD5"]
    [msg] = srv.messages
    assert (msg.mail_from, msg.rcpt_tos, msg.mechanism) == (
        "a@example.org",
        ["b@example.org"],
        "CRAM-MD5",
    )
    assert msg.content.startswith(b"Subject: hi")


def test_live_server_offers_only_what_it_is_told() -> None:
    with SaslServer(["SCRAM-SHA-1", "LOGIN"]) as srv:
        client = MiniClient(srv)
        assert sorted(client.offered) == ["LOGIN", "SCRAM-SHA-1"]
        code, _ = client.cmd("AUTH PLAIN AGEAYg==")
        assert code == 504
        client.close()


@pytest.mark.parametrize(
    ("name", "misbehave", "expect"),
    [
        ("SCRAM-SHA-256", "bad-server-signature", "server signature"),
        ("SCRAM-SHA-1", "bad-server-signature", "server signature"),
        ("SCRAM-SHA-256", "skip-server-final", "without proving"),
        ("DIGEST-MD5", "bad-rspauth", "rspauth"),
        ("DIGEST-MD5", "skip-server-final", "without proving"),
    ],
)
def test_live_client_catches_an_impostor(name: str, misbehave: str, expect: str) -> None:
    with SaslServer([name], misbehave=[misbehave]) as srv:
        client = MiniClient(srv)
        code, error = client.authenticate(_mech(name))
        assert error is not None and expect in str(error)
        # Cancelled mid-exchange → 501; a 235 we no longer trust stays 235 on the wire.
        assert code == (235 if misbehave == "skip-server-final" else 501)
        client.close()


def test_live_digest_md5_checks_the_digest_uri() -> None:
    with SaslServer(["DIGEST-MD5"]) as srv:
        client = MiniClient(srv)
        mech = DigestMD5(USERNAME, PASSWORD, "mail.elsewhere.example")
        assert client.authenticate(mech) == (535, None)
        client.close()


def test_live_tls_certificate_is_verified() -> None:
    # The trustme CA is really in use: a context that does not trust it fails.
    with SaslServer(["PLAIN"], tls="implicit") as srv:
        sock = socket.create_connection((srv.host, srv.port), timeout=5)
        with pytest.raises(ssl.SSLCertVerificationError):
            ssl.create_default_context().wrap_socket(sock, server_hostname="localhost")
        sock.close()


TCLLIB_SEND = """
package require smtp
package require mime
lassign $argv port user pass
set tok [mime::initialize -canonical text/plain -string hello]
smtp::sendmessage $tok -servers 127.0.0.1 -ports $port -usetls 0 \\
    -username $user -password $pass -originator a@example.org -recipients b@example.org
"""


@pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh not installed")
@pytest.mark.parametrize("name", ["DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"])
def test_tcllib_itself_authenticates_against_the_server(name: str) -> None:
    """An independent client (tcllib's SASL package) agrees with the server's checks.

    ASCII password: tcllib sends the low byte of each character (ISO 8859-1)."""
    for password, ok in [("secret pw", True), ("wrong pw", False)]:
        with SaslServer([name], password="secret pw") as srv:
            run = subprocess.run(
                ["tclsh", "/dev/stdin", str(srv.port), USERNAME, password],
                input=TCLLIB_SEND,
                capture_output=True,
                text=True,
                timeout=20,
            )
            if "can't find package" in run.stderr:
                pytest.skip("tcllib not installed")
            assert run.returncode == 0, run.stderr
        assert srv.attempts == [(name, ok)]
        assert len(srv.messages) == 1  # tcllib carries on unauthenticated when AUTH fails
