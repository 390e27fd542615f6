"""TLS and AUTH through the bridge, against a real aiosmtpd server with
trustme certificates and mechanisms that really check the credentials."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import pytest

from tclbridge import Interp
from tclbridge.config import BridgeConfig
from tclbridge.smtp.transport import SocketTransport
from tests.support.sasl_server import PASSWORD, TOKEN, USERNAME, SaslServer


def bridge(tmp_path: Path | None = None, server: SaslServer | None = None, **config) -> Interp:
    if server is not None and server.ca is not None and tmp_path is not None:
        cafile = tmp_path / "ca.pem"
        server.ca.cert_pem.write_to_path(str(cafile))
        config.setdefault("cafiles", [str(cafile)])
    tcl = Interp(BridgeConfig.from_env(timeout_scale=0.05, **config))
    tcl.eval("package require smtp")
    tcl.call("set", "user", USERNAME)
    tcl.call("set", "pass", PASSWORD)
    tcl.eval("proc policy {answer args} {lappend ::policy_calls $args; return $answer}")
    return tcl


def send(tcl: Interp, host: str, port: int, options: str = "") -> tuple[int, str]:
    tcl.eval("set tok [mime::initialize -canonical text/plain -string {secret plans}]")
    code = tcl.eval(
        f"catch {{smtp::sendmessage $tok -servers {host} -ports {port}"
        f" -header {{To a@x.y}} -header {{From b@x.y}} {options}}} res"
    )
    return int(code), tcl.eval("set res")


def test_starttls_verified_with_cafile(tmp_path: Path, starttls_server: SaslServer) -> None:
    tcl = bridge(tmp_path, starttls_server)
    assert send(tcl, "localhost", starttls_server.port, "-username $user -password $pass") == (
        0, ""
    )
    assert starttls_server.succeeded == ["PLAIN"]
    assert len(starttls_server.messages) == 1


def test_usetls_0_never_upgrades(tmp_path: Path, starttls_server: SaslServer) -> None:
    tcl = bridge(tmp_path, starttls_server)
    assert send(tcl, "localhost", starttls_server.port, "-usetls 0")[0] == 0
    # Plain connection on loopback: AUTH is allowed there, and was not asked for.
    assert starttls_server.succeeded == []


@pytest.mark.parametrize(
    ("host", "server_options", "reason"),
    [
        ("localhost", {}, "unable to get local issuer certificate"),  # untrusted CA
        ("127.0.0.1", {"trust": True}, "IP address mismatch"),  # wrong host
        ("localhost", {"trust": True, "expired": True}, "certificate has expired"),
    ],
)
def test_certificate_failures(
    tmp_path: Path, host: str, server_options: dict, reason: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    expiry = datetime.datetime(2020, 1, 1) if server_options.get("expired") else None
    with SaslServer(["PLAIN"], tls="starttls", cert_not_after=expiry) as srv:
        trusting = bridge(tmp_path, srv) if server_options.get("trust") else bridge()
        # No policy: the server is given up and the script is told how to trust it.
        code, result = send(trusting, host, srv.port, "-username $user -password $pass")
        assert code == 1
        assert f"TLS certificate of {host} could not be verified" in result
        assert reason in result and "--cafile" in result and "TCLBRIDGE_TLS_VERIFY=0" in result
        assert srv.messages == [] and srv.succeeded == []
        # A policy that says "secure" gives up too; "insecure" goes on
        # unverified, with a warning, but never with the password.
        assert send(trusting, host, srv.port, "-tlspolicy {policy secure}")[0] == 1
        capfd.readouterr()
        code, result = send(
            trusting, host, srv.port, "-tlspolicy {policy insecure} -username $user -password $pass"
        )
        assert code == 1 and srv.messages == [] and srv.attempts == []
        assert result.startswith(f"refusing to send the password for {USERNAME} to {host}: ")
        assert reason in result and "TCLBRIDGE_TLS_VERIFY=0" in result
        warning = capfd.readouterr().err
        assert f"-tlspolicy accepted the certificate of {host}" in warning and reason in warning
        assert PASSWORD not in warning
        # Without credentials the legacy policy keeps working.
        assert send(trusting, host, srv.port, "-tlspolicy {policy insecure}")[0] == 0
        assert len(srv.messages) == 1 and srv.succeeded == []
        calls = trusting.eval("set ::policy_calls")
        assert calls.startswith("{554 {certificate verify failed: ") and reason in calls
        # The documented opt-out is what allows the password to such a server.
        opted_out = bridge(tls_verify=False)
        code, _ = send(opted_out, host, srv.port, "-username $user -password $pass")
        assert code == 0 and srv.succeeded == ["PLAIN"]


def test_tls_no_verify_restores_tcllib_behaviour(tmp_path: Path, starttls_server) -> None:
    tcl = bridge(tls_verify=False)
    assert send(tcl, "127.0.0.1", starttls_server.port)[0] == 0
    assert len(starttls_server.messages) == 1


def test_starttls_refused_454_calls_policy() -> None:
    # The recorder advertises STARTTLS but answers 454 without a context.
    from tests.support.recording import scripted_server

    with scripted_server(capabilities=["STARTTLS"]) as srv:
        tcl = bridge()
        assert send(tcl, "127.0.0.1", srv.port, "-tlspolicy {policy insecure}")[0] == 0
        code, result = send(tcl, "127.0.0.1", srv.port, "-tlspolicy {policy secure}")
        assert code == 1 and result.endswith("code 220")
        assert tcl.eval("set errorCode") == "454"
        calls = "{454 {TLS not available}} {454 {TLS not available}}"
        assert tcl.eval("set ::policy_calls") == calls


def test_implicit_tls_with_tlsimport(tmp_path: Path) -> None:
    with SaslServer(["LOGIN"], tls="implicit") as srv:
        tcl = bridge(tmp_path, srv)
        code, _ = send(tcl, "localhost", srv.port, "-tlsimport 1 -username $user -password $pass")
        assert code == 0
        assert srv.succeeded == ["LOGIN"]


@pytest.mark.parametrize(
    "mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5", "LOGIN", "PLAIN"]
)
def test_each_mechanism(mechanism: str) -> None:
    with SaslServer([mechanism]) as srv:
        tcl = bridge()
        assert send(tcl, "127.0.0.1", srv.port, "-username $user -password $pass")[0] == 0
        assert srv.succeeded == [mechanism]
        assert srv.messages[0].mechanism == mechanism


def test_strongest_offered_first_and_fall_through() -> None:
    with SaslServer() as srv:
        tcl = bridge()
        send(tcl, "127.0.0.1", srv.port, "-username $user -password $pass")
        assert srv.attempts == [("SCRAM-SHA-256", True)]
    with SaslServer(misbehave=["bad-server-signature"]) as srv:
        tcl = bridge()
        send(tcl, "127.0.0.1", srv.port, "-username $user -password $pass")
        # Both SCRAMs see a server that cannot prove itself; DIGEST-MD5 works.
        assert [m for m, _ in srv.attempts][-1] == "DIGEST-MD5"
        assert srv.succeeded[-1] == "DIGEST-MD5"


def test_wrong_password_tries_all_then_sends_unauthenticated() -> None:
    mechanisms = ["SCRAM-SHA-256", "CRAM-MD5", "LOGIN", "PLAIN"]
    with SaslServer(mechanisms) as srv:
        tcl = bridge()
        code, _ = send(tcl, "127.0.0.1", srv.port, "-username $user -password wrong")
        assert srv.attempts == [(m, False) for m in mechanisms]
        assert code == 0 and srv.messages[0].mechanism is None


def test_empty_username_never_authenticates() -> None:
    with SaslServer(["PLAIN"]) as srv:
        tcl = bridge()
        send(tcl, "127.0.0.1", srv.port, "-username {} -password $pass")
        assert srv.attempts == []


def test_oauth2_token_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TCLBRIDGE_OAUTH2_TOKEN_CMD", f"echo {TOKEN}")
    for mechanism in ("XOAUTH2", "OAUTHBEARER"):
        with SaslServer([mechanism]) as srv:
            tcl = bridge()
            assert send(tcl, "127.0.0.1", srv.port, "-username $user -password {}")[0] == 0
            assert srv.succeeded == [mechanism]


class RemoteLookingTransport(SocketTransport):
    """The same real connection, but its peer counts as a remote host: the
    tests may only reach 127.0.0.1."""

    def peer_is_loopback(self) -> bool:
        return False


def test_no_plaintext_credentials_to_remote_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    with SaslServer(["PLAIN"]) as srv:
        tcl = bridge()
        tcl.smtp.connector = RemoteLookingTransport.connect
        code, result = send(tcl, "127.0.0.1", srv.port, "-username $user -password $pass")
        assert code == 1
        assert "127.0.0.1" in result and "TCLBRIDGE_ALLOW_PLAINTEXT_AUTH=1" in result
        assert srv.attempts == [] and srv.messages == []
        monkeypatch.setenv("TCLBRIDGE_ALLOW_PLAINTEXT_AUTH", "1")
        allowed = bridge()
        allowed.smtp.connector = RemoteLookingTransport.connect
        assert send(allowed, "127.0.0.1", srv.port, "-username $user -password $pass")[0] == 0
        assert srv.succeeded == ["PLAIN"]


def test_secrets_never_in_debug_output(capfd: pytest.CaptureFixture[str]) -> None:
    secrets = [PASSWORD, TOKEN]
    for secret in list(secrets):
        raw = secret.encode()
        secrets += [
            base64.b64encode(raw).decode(),
            base64.b64encode(b"\0" + USERNAME.encode() + b"\0" + raw).decode(),
            base64.b64encode(raw.decode().encode("latin-1", "replace")).decode(),
        ]
    with SaslServer(["PLAIN", "LOGIN"]) as srv:
        tcl = bridge()
        for mech_options in ("-password $pass", "-password wrong"):
            send(tcl, "127.0.0.1", srv.port, f"-debug 1 -username $user {mech_options}")
        assert srv.succeeded == ["LOGIN"]
    out = capfd.readouterr()
    text = out.out + out.err
    assert "--> <hidden> (wait upto 300 seconds)" in text
    assert "AUTH LOGIN failed: diagnostic" in text
    for secret in secrets:
        assert secret not in text
