"""The recording SMTP server, driven by smtplib and raw sockets on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tclbridge import recorder
from tclbridge.recorder import Message, RecordingServer, ServerScript
from tests.support.smtp_wire import SMTPLIB_MAIL, SMTPLIB_RCPT
from tests.support.tls_contexts import tls_pair
from tests.support.waiting import wait_until

MSG = b"Subject: hi\r\n\r\n.leading dot\r\n..two dots\r\nplain\r\n"


@pytest.fixture
def serve() -> Iterator:
    """serve(script, **kw) starts a RecordingServer that is stopped after the test."""
    servers: list[RecordingServer] = []

    def start(script: ServerScript | None = None, **kw: object) -> RecordingServer:
        servers.append(RecordingServer(script, **kw).start())
        return servers[-1]

    yield start
    for srv in servers:
        srv.stop()


def client(srv: RecordingServer) -> smtplib.SMTP:
    # An explicit local_hostname avoids a DNS lookup and makes commands predictable.
    return smtplib.SMTP(srv.host, srv.port, local_hostname="client.test", timeout=5)


class Raw:
    """A byte-exact client: send what we say, read one reply at a time."""

    def __init__(self, srv: RecordingServer) -> None:
        self.sock = socket.create_connection((srv.host, srv.port), timeout=5)
        self.file = self.sock.makefile("rb")

    def reply(self) -> str:
        lines = []
        while True:
            line = self.file.readline().decode()
            lines.append(line.rstrip("\r\n"))
            if line[3:4] != "-":
                return "\n".join(lines)

    def send(self, data: bytes) -> str:
        self.sock.sendall(data)
        return self.reply()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def test_records_commands_replies_and_message(serve) -> None:
    srv = serve()
    with client(srv) as c:
        c.sendmail("a@x.test", ["b@y.test", "c@z.test"], MSG)
    assert srv.port != 0
    (session,) = srv.sessions
    assert session.peer.startswith("127.0.0.1:")
    assert session.commands == [
        "ehlo client.test",
        f"{SMTPLIB_MAIL}<a@x.test> size={len(MSG)}",
        f"{SMTPLIB_RCPT}<b@y.test>",
        f"{SMTPLIB_RCPT}<c@z.test>",
        "data",
        "QUIT",
    ]
    assert session.replies == [
        ServerScript().greeting,
        f"250-localhost\n250-PIPELINING\n250-SIZE {recorder.DEFAULT_SIZE}\n250 8BITMIME",
        "250 OK", "250 OK", "250 OK",
        "354 End data with <CR><LF>.<CR><LF>",
        "250 OK",
        "221 Bye",
    ]
    assert srv.messages == [
        Message("a@x.test", ["b@y.test", "c@z.test"], [f"SIZE={len(MSG)}"],
                MSG.replace(b"\r\n.", b"\r\n.."), 0)
    ]
    assert srv.messages[0].content == MSG


def test_commands_recorded_exactly_as_sent(serve) -> None:
    srv = serve()
    raw = Raw(srv)
    raw.reply()
    assert raw.send(b"HeLo  spaced.test \r\n").startswith("250")
    assert raw.send(b"NOOP\n").startswith("250")  # bare LF is kept visible
    assert raw.send(b"\r\n").startswith("500")
    assert raw.send(b"FROB x\r\n").startswith("500")
    assert raw.send(b"X" * 2000 + b"\r\n").startswith("500")
    raw.close()
    assert srv.sessions[0].commands == [
        "HeLo  spaced.test ", "NOOP\n", "", "FROB x", "X" * 2000]


def test_raw_data_keeps_stuffing_and_line_endings(serve) -> None:
    srv = serve()
    raw = Raw(srv)
    raw.reply()
    raw.send(b"EHLO c\r\nMAIL FROM:<a@x>\r\n"), raw.reply()
    raw.send(b"RCPT TO:<b@y>\r\n")
    assert raw.send(b"DATA\r\n").startswith("354")
    long_line = b"L" * 3000
    body = b"..stuffed\r\nbare\nlf\r\n.\nnot the end\r\n" + long_line + b"\r\nlast"
    assert raw.send(body + b"\r\n.\r\n") == "250 OK"
    raw.close()
    (message,) = srv.messages
    assert message.data == body + b"\r\n"
    assert message.content.startswith(b".stuffed\r\n")


def test_dot_line_only_ends_data_at_line_start(serve) -> None:
    srv = serve()
    raw = Raw(srv)
    raw.reply()
    for cmd in (b"HELO c\r\n", b"MAIL FROM:<a@x>\r\n", b"RCPT TO:<b@y>\r\n", b"DATA\r\n"):
        raw.send(cmd)
    # A line longer than the server's read limit, sent so that its last piece is ".\r\n".
    raw.sock.sendall(b"L" * 3000 + b".")
    time.sleep(0.1)
    assert raw.send(b"\r\nend\r\n.\r\n") == "250 OK"
    raw.close()
    assert srv.messages[0].data == b"L" * 3000 + b".\r\nend\r\n"


def test_client_vanishing_mid_command_is_harmless(serve, caplog) -> None:
    srv = serve(ServerScript(capabilities=["AUTH PLAIN"]))
    payloads = [b"HELO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\npartial\r\nmo",
                b"EHLO c\r\nAUTH PLAIN\r\n", b"X" * 5000]
    # What the server has read of each by the time the client vanishes.
    read = [lambda: len(srv.sessions) == 1 and "DATA" in srv.sessions[0].commands,
            lambda: len(srv.sessions) == 2 and srv.sessions[1].commands == ["EHLO c",
                                                                            "AUTH PLAIN"],
            lambda: len(srv.sessions) == 3]
    for payload, has_read in zip(payloads, read, strict=True):
        with socket.create_connection((srv.host, srv.port)) as sock:
            sock.sendall(payload)
            assert wait_until(has_read)
    with client(srv) as c:
        c.sendmail("a@x", ["b@y"], b"ok\r\n")
    assert [m.session for m in srv.messages] == [3]
    assert srv.sessions[1].commands == ["EHLO c", "AUTH PLAIN"]
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


def test_empty_data(serve) -> None:
    srv = serve()
    raw = Raw(srv)
    raw.reply()
    for cmd in (b"HELO c\r\n", b"MAIL FROM:<a@x>\r\n", b"RCPT TO:<b@y>\r\n", b"DATA\r\n"):
        raw.send(cmd)
    assert raw.send(b".\r\n") == "250 OK"
    raw.close()
    assert srv.messages[0].data == b""


def test_greeting_refused(serve) -> None:
    srv = serve(ServerScript(greeting="421 busy, come back later"))
    with pytest.raises(smtplib.SMTPConnectError) as err:
        client(srv)
    assert err.value.smtp_code == 421
    assert srv.sessions[0].replies == ["421 busy, come back later"]


def test_ehlo_refused_falls_back_to_helo(serve) -> None:
    srv = serve(ServerScript(ehlo=["502 no ESMTP here"]))
    with client(srv) as c:
        c.sendmail("a@x", ["b@y"], b"x\r\n")
    assert srv.sessions[0].commands[:3] == [
        "ehlo client.test", "helo client.test", f"{SMTPLIB_MAIL}<a@x>"]
    assert srv.sessions[0].replies[1:3] == ["502 no ESMTP here", "250 localhost"]
    assert len(srv.messages) == 1


def test_custom_ehlo_lines_and_capabilities(serve) -> None:
    srv = serve(ServerScript(ehlo=["250-mx.test hello", "250 XQUE"]))
    with client(srv) as c:
        assert c.ehlo() == (250, b"mx.test hello\nXQUE")
        assert c.docmd("QUED") == (250, b"OK")
    srv = serve(ServerScript(capabilities=["SIZE 1000", "ONEX"]))
    with client(srv) as c:
        c.ehlo()
        assert c.esmtp_features["size"] == "1000" and "onex" in c.esmtp_features
        assert c.docmd("ONEX")[0] == 250
        assert c.docmd("QUED")[0] == 500  # no XQUE advertised
        assert c.mail("a@x", ["SIZE=2000"])[0] == 552


def test_recipient_refused_by_address(serve) -> None:
    script = ServerScript(replies={"RCPT:bad@y": "550 5.1.1 no such user",
                                   "RCPT:<worse@y>": "551 moved"})
    srv = serve(script)
    with client(srv) as c:
        refused = c.sendmail("a@x", ["bad@y", "good@y", "worse@y"], b"x\r\n")
    assert refused == {"bad@y": (550, b"5.1.1 no such user"), "worse@y": (551, b"moved")}
    assert srv.messages[0].rcpt_tos == ["good@y"]


def test_all_recipients_refused_means_no_data(serve) -> None:
    srv = serve(ServerScript(replies={"RCPT": "450 try later"}))
    with client(srv) as c, pytest.raises(smtplib.SMTPRecipientsRefused):
        c.sendmail("a@x", ["b@y"], b"x\r\n")
    # Refusal is an override: the server state stays as if RCPT never happened.
    raw = Raw(srv)
    raw.reply()
    raw.send(b"HELO c\r\n"), raw.send(b"MAIL FROM:<a@x>\r\n"), raw.send(b"RCPT TO:<b@y>\r\n")
    assert raw.send(b"DATA\r\n").startswith("503")
    raw.close()


def test_data_refused(serve) -> None:
    srv = serve(ServerScript(replies={"DATA": "554 5.7.1 not from you"}))
    with client(srv) as c, pytest.raises(smtplib.SMTPDataError) as err:
        c.sendmail("a@x", ["b@y"], b"x\r\n")
    assert err.value.smtp_code == 554
    assert srv.messages == []


def test_dot_refused(serve) -> None:
    srv = serve(ServerScript(replies={"DOT": "552 5.3.4 too big"}))
    with client(srv) as c, pytest.raises(smtplib.SMTPDataError) as err:
        c.sendmail("a@x", ["b@y"], b"x\r\n")
    assert err.value.smtp_code == 552
    assert srv.messages == []
    assert "552 5.3.4 too big" in srv.sessions[0].replies


def test_overrides_multiline_and_positive(serve) -> None:
    srv = serve(ServerScript(replies={"MAIL": "250-first\r\n250 second", "DATA": "354 go",
                                      "DOT": "250 queued as 42", "QUIT": "221 bye now"}))
    with client(srv) as c:
        c.ehlo()
        assert c.mail("a@x") == (250, b"first\nsecond")
        c.rcpt("b@y")
        assert c.data(b"x\r\n") == (250, b"queued as 42")
    # A 2xx override keeps the real effect: the message was accepted normally.
    assert srv.messages[0].mail_from == "a@x"
    assert srv.sessions[0].replies[2] == "250-first\n250 second"
    assert srv.sessions[0].replies[-3:] == ["354 go", "250 queued as 42", "221 bye now"]


def test_negative_override_skips_command(serve) -> None:
    srv = serve(ServerScript(replies={"HELO": "550 go away", "RSET": "421 closing"}))
    raw = Raw(srv)
    raw.reply()
    assert raw.send(b"HELO c\r\n") == "550 go away"
    assert raw.send(b"MAIL FROM:<a@x>\r\n").startswith("503")  # HELO had no effect
    assert raw.send(b"RSET\r\n") == "421 closing"
    raw.close()


def test_delay(serve) -> None:
    srv = serve(ServerScript(delays={"MAIL": 1.0, "GREETING": 1.0}))
    t0 = time.monotonic()
    with client(srv) as c:
        t1 = time.monotonic()
        c.ehlo()
        t2 = time.monotonic()
        c.mail("a@x")
        t3 = time.monotonic()
    # EHLO has no delay: well under the others, with room for a loaded machine.
    assert t1 - t0 >= 1.0 and t2 - t1 < 0.8 and t3 - t2 >= 1.0


def test_delay_is_capped(serve, monkeypatch) -> None:
    monkeypatch.setattr(recorder, "MAX_DELAY", 0.1)
    srv = serve(ServerScript(delays={"GREETING": 1000}))
    t0 = time.monotonic()
    client(srv).close()
    assert time.monotonic() - t0 < 2


@pytest.mark.parametrize("stage", ["GREETING", "EHLO", "RCPT", "RCPT:b@y", "DATA", "DOT"])
def test_drop(serve, stage: str) -> None:
    srv = serve(ServerScript(drop={stage}))
    with pytest.raises(smtplib.SMTPServerDisconnected):
        with client(srv) as c:
            c.sendmail("a@x", ["b@y"], b"x\r\n")
    assert srv.messages == []
    replies = {"GREETING": 0, "EHLO": 1, "RCPT": 3, "RCPT:b@y": 3, "DATA": 4, "DOT": 5}
    assert len(srv.sessions[0].replies) == replies[stage]


def test_stop_is_bounded_with_stuck_clients(serve) -> None:
    srv = serve(ServerScript(delays={"MAIL": 1000}))
    half_line = Raw(srv)
    half_line.reply()
    half_line.sock.sendall(b"EHLO half-a-comm")
    in_data = Raw(srv)
    in_data.reply()
    for cmd in (b"HELO c\r\n", b"RCPT TO:<b@y>\r\n"):
        in_data.send(cmd)
    in_delay = Raw(srv)
    in_delay.reply()
    in_delay.send(b"HELO c\r\n")
    in_delay.sock.sendall(b"MAIL FROM:<a@x>\r\n")  # the server now sleeps (capped at 30 s)
    silent = socket.create_connection((srv.host, srv.port))  # never reads its greeting
    time.sleep(0.1)
    t0 = time.monotonic()
    srv.stop()
    assert time.monotonic() - t0 < 2
    assert half_line.file.read() == b""  # the server closed the connection
    with pytest.raises(OSError):
        socket.create_connection((srv.host, srv.port), timeout=1)
    for c in (half_line, in_data, in_delay):
        c.close()
    silent.close()
    srv.stop()  # idempotent


def test_sessions_in_order(serve) -> None:
    srv = serve()
    for n in range(3):
        with client(srv) as c:
            c.sendmail(f"a{n}@x", ["b@y"], b"x\r\n")
    assert [m.session for m in srv.messages] == [0, 1, 2]
    assert [s.commands[1] for s in srv.sessions] == [
        f"{SMTPLIB_MAIL}<a{n}@x> size=3" for n in range(3)]
    open_one = socket.create_connection((srv.host, srv.port))
    deadline = time.monotonic() + 2
    while srv.open_connections != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.open_connections == 1
    open_one.close()
    while srv.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.open_connections == 0


def _secrets(user: str, password: str) -> list[str]:
    return [password, base64.b64encode(password.encode()).decode(),
            base64.b64encode(f"\0{user}\0{password}".encode()).decode()]


@pytest.mark.parametrize("how", ["plain-initial", "plain-challenge", "login"])
def test_auth_accepted_and_hidden(serve, how: str) -> None:
    srv = serve(ServerScript(capabilities=["AUTH PLAIN LOGIN"]))
    with client(srv) as c:
        c.user, c.password = "joe", "s3cret-pw"
        c.ehlo()
        assert c.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        if how == "login":
            code, _ = c.auth("LOGIN", c.auth_login)
        else:
            code, _ = c.auth("PLAIN", c.auth_plain,
                             initial_response_ok=how == "plain-initial")
        assert code == 235
        c.sendmail("a@x", ["b@y"], b"x\r\n")
    record = json.dumps(srv.to_json())
    for secret in _secrets("joe", "s3cret-pw"):
        assert secret not in record
    commands = srv.sessions[0].commands
    expected = {"plain-initial": ["AUTH PLAIN <hidden>"],
                "plain-challenge": ["AUTH PLAIN", "<hidden>"],
                "login": ["AUTH LOGIN <hidden>", "<hidden>"]}[how]
    assert commands[1:1 + len(expected)] == expected


def test_auth_shown_when_asked(serve) -> None:
    srv = serve(ServerScript(capabilities=["AUTH PLAIN LOGIN"]), auth_hide=False)
    with client(srv) as c:
        c.login("joe", "pw")
    assert srv.sessions[0].commands[1] == "AUTH PLAIN " + _secrets("joe", "pw")[2]


def test_auth_only_when_offered(serve) -> None:
    srv = serve(ServerScript(capabilities=["AUTH LOGIN"]))
    with client(srv) as c:
        c.ehlo()
        assert c.docmd("AUTH PLAIN AGpvZQBwdw==")[0] == 504
    srv = serve()
    with client(srv) as c:
        c.ehlo()
        assert c.docmd("AUTH PLAIN AGpvZQBwdw==")[0] == 502


def test_starttls(serve, tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    srv = serve(ServerScript(capabilities=["STARTTLS"]), tls_context=server_ctx)
    with smtplib.SMTP("localhost", srv.port, local_hostname="c", timeout=5) as c:
        c.starttls(context=client_ctx)
        c.sendmail("a@x", ["b@y"], MSG)
    (session,) = srv.sessions
    assert session.commands[:3] == ["ehlo c", "STARTTLS", "ehlo c"]
    assert srv.messages[0].data == MSG.replace(b"\r\n.", b"\r\n..")
    # Advertised without a TLS context, STARTTLS fails (for TLS-policy tests).
    srv = serve(ServerScript(capabilities=["STARTTLS"]))
    with client(srv) as c, pytest.raises(smtplib.SMTPResponseException) as err:
        c.starttls()
    assert err.value.smtp_code == 454


def test_implicit_tls(serve) -> None:
    server_ctx, client_ctx = tls_pair()
    srv = serve(ServerScript(capabilities=["STARTTLS"]), tls_context=server_ctx,
                implicit_tls=True)
    with smtplib.SMTP_SSL("localhost", srv.port, local_hostname="c", timeout=5,
                          context=client_ctx) as c:
        assert c.sock.version() is not None  # TLS from the first byte
        c.ehlo()
        assert not c.has_extn("starttls")  # already TLS (RFC 3207 4.2)
        assert c.docmd("STARTTLS")[0] == 454  # and no second layer when asked anyway
        c.sendmail("a@x", ["b@y"], MSG)
    assert srv.messages[0].data == MSG.replace(b"\r\n.", b"\r\n..")
    with pytest.raises(ValueError, match="tls_context"):
        RecordingServer(implicit_tls=True)


def test_implicit_tls_listener_beside_starttls(serve) -> None:
    """Two doors into one server: STARTTLS on `port`, TLS from the first byte
    on `implicit_tls_port`; each session and message records how it came,
    and STARTTLS is no longer offered once a session is TLS (RFC 3207 4.2)."""
    server_ctx, client_ctx = tls_pair()
    srv = serve(ServerScript(capabilities=["STARTTLS"]), tls_context=server_ctx,
                implicit_tls_listener=True)
    assert srv.implicit_tls_port not in (None, srv.port)
    with smtplib.SMTP("localhost", srv.port, local_hostname="c", timeout=5) as c:
        c.sendmail("a@x", ["b@y"], MSG)  # before STARTTLS: plain text
        c.starttls(context=client_ctx)
        c.ehlo()
        assert not c.has_extn("starttls")
        c.sendmail("a@x", ["b@y"], MSG)
    with smtplib.SMTP_SSL("localhost", srv.implicit_tls_port, local_hostname="c", timeout=5,
                          context=client_ctx) as c:
        c.ehlo()
        assert not c.has_extn("starttls")
        c.sendmail("a@x", ["b@y"], MSG)
    modes = [(m.session, m.tls and m.tls.mode) for m in srv.messages]
    assert modes == [(0, None), (0, "starttls"), (1, "implicit")]
    assert [str(s.tls).split(",")[0] for s in srv.sessions] == ["STARTTLS", "implicit TLS"]
    assert all(s.tls and s.tls.version.startswith("TLSv1.") for s in srv.sessions)
    with pytest.raises(ValueError, match="tls_context"):
        RecordingServer(implicit_tls_listener=True)


def test_failed_starttls_handshake_closes_the_connection(serve) -> None:
    server_ctx, _ = tls_pair()
    srv = serve(ServerScript(capabilities=["STARTTLS"]), tls_context=server_ctx)
    untrusting = ssl.create_default_context()  # does not know the CA
    with client(srv) as c, pytest.raises(ssl.SSLCertVerificationError):
        c.starttls(context=untrusting)
    deadline = time.monotonic() + 2
    while srv.open_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.open_connections == 0
    assert srv.sessions[0].commands[-1] == "STARTTLS"


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5"])
def test_credentials_are_checked(serve, mechanism: str) -> None:
    srv = serve(ServerScript(capabilities=["AUTH PLAIN LOGIN CRAM-MD5"],
                             credentials={"joe": "s3cret pw"}))
    method = {"PLAIN": "auth_plain", "LOGIN": "auth_login", "CRAM-MD5": "auth_cram_md5"}
    for password, expected in (("wrong", 535), ("s3cret pw", 235)):
        with client(srv) as c:
            c.user, c.password = "joe", password
            c.ehlo()
            assert c.esmtp_features["auth"].split() == ["PLAIN", "LOGIN", "CRAM-MD5"]
            try:
                code = c.auth(mechanism, getattr(c, method[mechanism]))[0]
            except smtplib.SMTPAuthenticationError as error:
                code = error.smtp_code
            assert code == expected
    assert "535 5.7.8 Authentication credentials invalid" in srv.sessions[0].replies
    assert "s3cret" not in json.dumps(srv.to_json())


def test_cram_md5_challenge_is_deterministic(serve) -> None:
    srv = serve(ServerScript(capabilities=["AUTH CRAM-MD5"]))  # any credentials accepted
    for _ in range(2):
        with client(srv) as c:
            c.login("joe", "pw")
    challenges = [s.replies[2] for s in srv.sessions]
    assert challenges == ["334 " + base64.b64encode(f"<{n}.1@localhost>".encode()).decode()
                          for n in (1, 2)]


def test_auth_required(serve) -> None:
    srv = serve(ServerScript(capabilities=["AUTH PLAIN"], credentials={"joe": "pw"},
                             auth_required=True))
    with client(srv) as c:
        c.ehlo()
        assert c.mail("a@x")[0] == 530
        c.login("joe", "pw")
        assert c.mail("a@x")[0] == 250


def test_on_message_failure_is_a_451(serve) -> None:
    def fail(message: Message) -> None:
        raise OSError("disk full")

    srv = serve(on_message=fail)
    with client(srv) as c, pytest.raises(smtplib.SMTPDataError) as err:
        c.sendmail("a@x", ["b@y"], b"x\r\n")
    assert err.value.smtp_code == 451
    assert srv.messages == []
    assert srv.sessions[0].replies[4:6] == [
        "354 End data with <CR><LF>.<CR><LF>", "451 4.3.0 Could not store the message"]


def test_script_from_dict() -> None:
    script = ServerScript.from_dict({"drop": ["DOT"], "replies": {"MAIL": "451 x"}})
    assert script.drop == {"DOT"} and script.replies == {"MAIL": "451 x"}
    with pytest.raises(ValueError, match="bogus"):
        ServerScript.from_dict({"bogus": 1})


def test_bad_port_fails_to_start() -> None:
    with RecordingServer() as srv, pytest.raises(RuntimeError, match="failed to start"):
        RecordingServer(port=srv.port).start()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_subprocess_mode(tmp_path: Path, signum: int) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"capabilities": ["AUTH PLAIN"],
                                  "replies": {"RCPT:bad@y": "550 no"}}))
    ready, record = tmp_path / "ready", tmp_path / "record.json"
    proc = subprocess.Popen([sys.executable, "-m", "tclbridge.recorder", "--script", str(script),
                             "--ready-file", str(ready), "--record", str(record)])
    try:
        deadline = time.monotonic() + 10
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        host, port = ready.read_text().strip().rsplit(":", 1)
        with smtplib.SMTP(host, int(port), local_hostname="c", timeout=5) as c:
            c.login("joe", "pw")
            c.sendmail("a@x", ["bad@y", "b@y"], b"\xe9t\xe9\r\n.x\r\n")
        proc.send_signal(signum)
        assert proc.wait(5) == 0
    finally:
        proc.kill()
    data = json.loads(record.read_text())
    (message,) = data["messages"]
    assert message["rcpt_tos"] == ["b@y"] and message["session"] == 0
    assert message["data"].encode("latin-1") == b"\xe9t\xe9\r\n..x\r\n"
    assert base64.b64decode(message["data_base64"]) == b"\xe9t\xe9\r\n..x\r\n"
    assert data["sessions"][0]["commands"][1] == "AUTH PLAIN <hidden>"
    assert "550 no" in data["sessions"][0]["replies"]
