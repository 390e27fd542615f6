"""The Postfix interop harness, proven with stdlib smtplib as the client.

Postfix (installed by the harness when missing) offers STARTTLS, then SASL AUTH
from Cyrus sasldb, and relays authenticated mail to a recorder. These tests pin
down that setup, so that a failure of the Tcl interop test built on it points at
the bridge, not at the MTA.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import smtplib
import ssl
import uuid
from collections.abc import Iterator

import pytest

from tests.support.postfix_harness import PostfixRelay

pytestmark = pytest.mark.postfix


def connect(relay: PostfixRelay) -> smtplib.SMTP:
    # An explicit local_hostname avoids a DNS lookup of this machine's name.
    client = smtplib.SMTP(relay.host, relay.port, local_hostname="client.test", timeout=10)
    client.ehlo()
    return client


def trusting(relay: PostfixRelay) -> ssl.SSLContext:
    """Verifies the certificate and the host name (127.0.0.1) against the test CA only."""
    return ssl.create_default_context(cafile=str(relay.ca_file))


@pytest.fixture
def secure(postfix_relay: PostfixRelay) -> Iterator[smtplib.SMTP]:
    """A client that has done STARTTLS (verified) and EHLO again."""
    client = connect(postfix_relay)
    client.starttls(context=trusting(postfix_relay))
    client.ehlo()
    yield client
    client.close()


def test_auth_only_after_starttls(postfix_relay: PostfixRelay) -> None:
    client = connect(postfix_relay)
    try:
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")
        code, text = client.docmd("AUTH", "PLAIN")
        assert code == 503, text  # "authentication not enabled": no credentials in clear
    finally:
        client.close()


def test_auth_offered_after_starttls(postfix_relay: PostfixRelay,
                                     secure: smtplib.SMTP) -> None:
    offered = secure.esmtp_features["auth"].upper().split()
    # Exactly smtpd.conf's mech_list: proves Postfix reads the harness's SASL config
    # (left to defaults it offers NTLM and SCRAM-SHA-512 too, and checks /etc/sasldb2).
    assert sorted(offered) == sorted(postfix_relay.mechanisms)
    assert {"PLAIN", "LOGIN", "CRAM-MD5"} <= set(offered)
    assert not secure.has_extn("starttls")  # already on TLS


def test_certificate_is_verified_not_just_accepted(postfix_relay: PostfixRelay) -> None:
    # The system trust store does not know the test CA: proves the CA file is what
    # makes verification pass, i.e. clients really check Postfix's certificate.
    client = connect(postfix_relay)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            client.starttls(context=ssl.create_default_context())
    finally:
        client.close()


MECHANISMS = ["SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"]


def b64(data: str | bytes) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def scram(client: smtplib.SMTP, mechanism: str, user: str, password: str) -> int:
    """A minimal RFC 5802 client (no channel binding); returns the final reply code.

    smtplib has no SCRAM; this shows Postfix's SCRAM works with a sasldb holding only
    the password, so a SCRAM-first client (the bridge) really authenticates with it.
    """
    digest = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}[mechanism]
    nonce = b64(os.urandom(18))
    first_bare = f"n={user.replace('=', '=3D').replace(',', '=2C')},r={nonce}"
    code, reply = client.docmd("AUTH", f"{mechanism} {b64('n,,' + first_bare)}")
    if code != 334:
        return code
    server_first = base64.b64decode(reply).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    assert fields["r"].startswith(nonce)
    salted = hashlib.pbkdf2_hmac(
        digest, password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    final_bare = f"c=biws,r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{final_bare}".encode()
    signature = hmac.new(hashlib.new(digest, client_key).digest(), auth_message, digest).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    code, reply = client.docmd(b64(f"{final_bare},p={b64(proof)}"))
    if code != 334:
        return code
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    expected = b64(hmac.new(server_key, auth_message, digest).digest())
    assert base64.b64decode(reply).decode() == f"v={expected}"  # the server knows it too
    return client.docmd("")[0]


def digest_md5(client: smtplib.SMTP, user: str, password: str) -> int:
    """A minimal RFC 2831 client (qop=auth); returns the final reply code."""
    code, reply = client.docmd("AUTH", "DIGEST-MD5")
    if code != 334:
        return code
    challenge = dict(
        (key, quoted or bare) for key, quoted, bare
        in re.findall(r'(\w+)=(?:"([^"]*)"|([^,]*))', base64.b64decode(reply).decode()))
    realm, nonce = challenge.get("realm", ""), challenge["nonce"]
    cnonce, uri = os.urandom(12).hex(), "smtp/localhost"

    def hex_md5(data: bytes) -> str:
        return hashlib.md5(data).hexdigest()

    a1 = hashlib.md5(f"{user}:{realm}:{password}".encode()).digest() + f":{nonce}:{cnonce}".encode()
    response = hex_md5(f"{hex_md5(a1)}:{nonce}:00000001:{cnonce}:auth:"
                       f"{hex_md5(f'AUTHENTICATE:{uri}'.encode())}".encode())
    code, reply = client.docmd(b64(
        f'charset=utf-8,username="{user}",realm="{realm}",nonce="{nonce}",nc=00000001,'
        f'cnonce="{cnonce}",digest-uri="{uri}",response={response},qop=auth'))
    if code != 334:
        return code
    assert base64.b64decode(reply).startswith(b"rspauth=")
    return client.docmd("")[0]


def authenticate(client: smtplib.SMTP, mechanism: str, user: str, password: str) -> int:
    """AUTH with this mechanism; the final reply code (235 success, 535 refused)."""
    if mechanism.startswith("SCRAM-"):
        return scram(client, mechanism, user, password)
    if mechanism == "DIGEST-MD5":
        return digest_md5(client, user, password)
    client.user, client.password = user, password
    method = {"PLAIN": client.auth_plain, "LOGIN": client.auth_login,
              "CRAM-MD5": client.auth_cram_md5}[mechanism]
    try:
        return client.auth(mechanism, method)[0]
    except smtplib.SMTPAuthenticationError as error:
        return error.smtp_code


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_each_mechanism_accepts_the_password(postfix_relay: PostfixRelay,
                                             secure: smtplib.SMTP, mechanism: str) -> None:
    if mechanism not in postfix_relay.mechanisms:
        pytest.skip(f"the Cyrus SASL plugin for {mechanism} is not installed")
    assert authenticate(secure, mechanism, postfix_relay.username, postfix_relay.password) == 235


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_wrong_password_is_535(postfix_relay: PostfixRelay,
                               secure: smtplib.SMTP, mechanism: str) -> None:
    if mechanism not in postfix_relay.mechanisms:
        pytest.skip(f"the Cyrus SASL plugin for {mechanism} is not installed")
    wrong = postfix_relay.password + "x"
    assert authenticate(secure, mechanism, postfix_relay.username, wrong) == 535


def test_unauthenticated_relay_is_refused(postfix_relay: PostfixRelay,
                                          secure: smtplib.SMTP) -> None:
    seen = len(postfix_relay.messages)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        secure.sendmail("sender@example.org", ["rcpt@example.com"], b"Subject: x\r\n\r\nx\r\n")
    [(code, _)] = refused.value.recipients.values()
    assert code == 554
    assert len(postfix_relay.messages) == seen


def test_authenticated_message_is_relayed(postfix_relay: PostfixRelay,
                                          secure: smtplib.SMTP) -> None:
    seen = len(postfix_relay.messages)
    marker = uuid.uuid4().hex
    secure.login(postfix_relay.username, postfix_relay.password)
    refused = secure.sendmail(
        "sender@example.org", ["one@example.com", "two@example.net"],
        f"From: sender@example.org\r\nTo: one@example.com\r\nSubject: interop {marker}\r\n"
        f"\r\nbody {marker}\r\n.a line with a leading dot\r\n".encode())
    assert refused == {}
    secure.quit()

    [message] = postfix_relay.wait_for_message(since=seen)
    assert message.mail_from == "sender@example.org"
    assert sorted(message.rcpt_tos) == ["one@example.com", "two@example.net"]
    headers, _, body = message.content.partition(b"\r\n\r\n")
    assert f"Subject: interop {marker}".encode() in headers.split(b"\r\n")
    # Postfix's own trace header: received over TLS (S) from an authenticated client (A).
    assert b"with ESMTPSA" in headers
    assert body == f"body {marker}\r\n.a line with a leading dot\r\n".encode()
