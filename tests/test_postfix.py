"""The Postfix interop harness, proven with stdlib smtplib as the client.

Postfix (installed by the harness when missing) offers STARTTLS, then SASL AUTH
from Cyrus sasldb, and relays authenticated mail to a recorder. These tests pin
down that setup, so that a failure of the Tcl interop test built on it points at
the bridge, not at the MTA.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
import warnings
from collections.abc import Iterator

import pytest

from tests.postfix_harness import PostfixRelay, postfix_relay  # noqa: F401  (fixture)

# Until "postfix" is registered in pyproject's pytest markers, keep the unknown-mark
# warning out of every run's summary; `-m postfix` / `-m "not postfix"` work either way.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
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
def secure(postfix_relay: PostfixRelay) -> Iterator[smtplib.SMTP]:  # noqa: F811
    """A client that has done STARTTLS (verified) and EHLO again."""
    client = connect(postfix_relay)
    client.starttls(context=trusting(postfix_relay))
    client.ehlo()
    yield client
    client.close()


def test_auth_only_after_starttls(postfix_relay: PostfixRelay) -> None:  # noqa: F811
    client = connect(postfix_relay)
    try:
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")
        code, text = client.docmd("AUTH", "PLAIN")
        assert code == 503, text  # "authentication not enabled": no credentials in clear
    finally:
        client.close()


def test_auth_offered_after_starttls(postfix_relay: PostfixRelay,  # noqa: F811
                                     secure: smtplib.SMTP) -> None:
    offered = secure.esmtp_features["auth"].upper().split()
    assert set(postfix_relay.mechanisms) <= set(offered)
    assert {"PLAIN", "LOGIN", "CRAM-MD5"} <= set(offered)
    assert not secure.has_extn("starttls")  # already on TLS


def test_certificate_is_verified_not_just_accepted(postfix_relay: PostfixRelay) -> None:  # noqa: F811
    # The system trust store does not know the test CA: proves the CA file is what
    # makes verification pass, i.e. clients really check Postfix's certificate.
    client = connect(postfix_relay)
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            client.starttls(context=ssl.create_default_context())
    finally:
        client.close()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_each_mechanism_accepts_the_password(postfix_relay: PostfixRelay,  # noqa: F811
                                             secure: smtplib.SMTP, mechanism: str) -> None:
    secure.user, secure.password = postfix_relay.username, postfix_relay.password
    method = {"PLAIN": secure.auth_plain, "LOGIN": secure.auth_login,
              "CRAM-MD5": secure.auth_cram_md5}[mechanism]
    code, _ = secure.auth(mechanism, method)
    assert code == 235


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_wrong_password_is_535(postfix_relay: PostfixRelay,  # noqa: F811
                               secure: smtplib.SMTP, mechanism: str) -> None:
    secure.user, secure.password = postfix_relay.username, postfix_relay.password + "x"
    method = {"PLAIN": secure.auth_plain, "LOGIN": secure.auth_login,
              "CRAM-MD5": secure.auth_cram_md5}[mechanism]
    with pytest.raises(smtplib.SMTPAuthenticationError) as failed:
        secure.auth(mechanism, method)
    assert failed.value.smtp_code == 535


def test_unauthenticated_relay_is_refused(postfix_relay: PostfixRelay,  # noqa: F811
                                          secure: smtplib.SMTP) -> None:
    seen = len(postfix_relay.messages)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        secure.sendmail("sender@example.org", ["rcpt@example.com"], b"Subject: x\r\n\r\nx\r\n")
    [(code, _)] = refused.value.recipients.values()
    assert code == 554
    assert len(postfix_relay.messages) == seen


def test_authenticated_message_is_relayed(postfix_relay: PostfixRelay,  # noqa: F811
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
